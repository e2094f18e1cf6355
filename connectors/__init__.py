"""Connectors: transport only (SFTP, email, Ariba, HTTP). Filled from issue 8 on."""
