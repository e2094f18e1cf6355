"""Signing and verifying documents: XAdES on XML (UBL, CII, cXML), PAdES on PDF.

``keys.py`` loads a signing identity (private key, certificate, chain) from PKCS#12 or PEM
and checks it is fit to sign; the other modules sign and verify with it. Key material is
never logged and never part of an error message.
"""
