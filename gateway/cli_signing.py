"""``gateway keys``, ``gateway sign`` and ``gateway verify``: signing e-invoices.

Exit codes: 0 done / every signature valid; 1 the document or key is not fit (a signature
invalid or missing, a document already signed, a certificate expired, a wrong password);
2 usage error or unreadable input (no such file, neither XML, PDF nor ASiC-E, an unknown key, no
or a malformed ``GATEWAY_MASTER_KEY``, an unreadable trust store).

Passwords are read from an environment variable named by ``--password-env`` or from an
interactive prompt, never from the command line (where ``ps`` and shell history see them).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from formats.errors import GatewayError, InvoiceInputError, SigningError

# The signing stack (signxml, pyHanko, the certificate path validator: ~0.2 s) is imported by
# the commands that use it, not by every `gateway` start.
if TYPE_CHECKING:
    from formats.signature import SignatureResult, VerificationReport

EXIT_OK, EXIT_INVALID, EXIT_INPUT = 0, 1, 2

__all__ = ["register"]


class VerifyFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def register(app: typer.Typer, out: Console, err: Console) -> None:
    """Add the ``keys`` group, ``sign`` and ``verify`` to the main CLI."""
    keys = typer.Typer(
        help="The key vault: signing identities per tenant, encrypted with GATEWAY_MASTER_KEY.",
        no_args_is_help=True,
    )
    app.add_typer(keys, name="keys")

    def fail(message: str, code: int = EXIT_INPUT) -> typer.Exit:
        err.print(f"[red]error:[/] {escape(message)}")
        return typer.Exit(code)

    def read(path: Path, what: str) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise fail(f"cannot read {what} {path}: {exc.strerror or exc}") from None

    @keys.command("add")
    def keys_add(
        tenant: Annotated[str, typer.Option("--tenant", help="Tenant the key belongs to.")],
        name: Annotated[str, typer.Option("--name", help="Name of the key within the tenant.")],
        p12: Annotated[Path | None, typer.Option("--p12", help="A PKCS#12 (.p12/.pfx) file.")] = None,
        key: Annotated[Path | None, typer.Option("--key", help="A PEM private key (with --cert).")] = None,
        cert: Annotated[
            Path | None, typer.Option("--cert", help="The PEM certificate, its chain may follow.")
        ] = None,
        password_env: Annotated[
            str | None,
            typer.Option(
                "--password-env",
                metavar="VAR",
                help="Read the password from this environment variable (default: prompt if interactive).",
            ),
        ] = None,
        replace: Annotated[bool, typer.Option("--replace", help="Replace a key of the same name.")] = False,
    ) -> None:
        """Store a signing identity after checking it loads and may sign now."""
        pem_given = key is not None and cert is not None
        if (p12 is not None and (key is not None or cert is not None)) or (p12 is None and not pem_given):
            raise fail("give either --p12 FILE, or --key PEM together with --cert PEM")
        if password_env is not None:
            if password_env not in os.environ:
                raise fail(f"the environment variable {password_env} (from --password-env) is not set")
            password: str | None = os.environ[password_env] or None
        elif sys.stdin.isatty():
            password = getpass.getpass("Password (empty for none): ") or None
        else:
            password = None
        from gateway.keystore import KeyVault

        vault = KeyVault()
        try:
            if p12 is not None:
                info = vault.add(
                    tenant, name, p12=read(p12, "PKCS#12 file"), password=password, replace=replace
                )
            else:
                assert key is not None
                assert cert is not None
                info = vault.add(
                    tenant,
                    name,
                    key_pem=read(key, "private key"),
                    cert_pem=read(cert, "certificate"),
                    password=password,
                    replace=replace,
                )
        except SigningError as exc:
            hint = "" if password_env or password else " (no password was given: use --password-env VAR)"
            raise fail(f"{exc}{hint}; nothing was stored", EXIT_INVALID) from None
        except GatewayError as exc:
            raise fail(str(exc)) from None
        out.print(
            f"stored {escape(info.tenant)}/{escape(info.name)}: {escape(info.subject)} "
            f"({info.algorithm}, serial {info.serial}, valid until {info.not_after})"
        )

    @keys.command("list")
    def keys_list(
        tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's keys.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """List stored identities: certificate details only, never key material."""
        try:
            from gateway.keystore import KeyVault

            found = KeyVault().list(tenant)
        except GatewayError as exc:
            raise fail(str(exc)) from None
        if as_json:
            sys.stdout.write(json.dumps([k.to_dict() for k in found], indent=2) + "\n")
            return
        if not found:
            out.print("no keys stored")
            return
        for k in found:  # one line per key: never truncated, easy to grep
            out.print(
                f"{escape(k.tenant)}/{escape(k.name)}: {escape(k.subject)} — {k.algorithm}, "
                f"valid {k.not_before[:10]} to {k.not_after[:10]}, serial {k.serial}, "
                f"sha-256 {k.fingerprint_sha256}"
            )

    @keys.command("remove")
    def keys_remove(
        tenant: Annotated[str, typer.Option("--tenant", help="Tenant the key belongs to.")],
        name: Annotated[str, typer.Option("--name", help="Name of the key.")],
    ) -> None:
        """Delete a stored identity."""
        try:
            from gateway.keystore import KeyVault

            KeyVault().remove(tenant, name)
        except GatewayError as exc:
            raise fail(str(exc)) from None
        out.print(f"removed {escape(tenant)}/{escape(name)}")

    @keys.command("master-key")
    def keys_master_key() -> None:
        """Print a new random master key for GATEWAY_MASTER_KEY (keep it in a secret manager)."""
        from gateway.secretbox import generate_master_key

        sys.stdout.write(generate_master_key() + "\n")

    @app.command("sign")
    def sign_command(
        file: Annotated[Path, typer.Argument(help="UBL, CII or cXML invoice, or a (Factur-X) PDF.")],
        tenant: Annotated[str, typer.Option("--tenant", help="Tenant whose key signs.")],
        key_name: Annotated[str, typer.Option("--key", help="Name of the key in the tenant's vault.")],
        tsa: Annotated[
            str | None, typer.Option("--tsa", metavar="URL", help="RFC 3161 timestamp authority (-T level).")
        ] = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                "-o",
                help="Where to write (default next to FILE: NAME.asice for CII, else NAME.signed.EXT).",
            ),
        ] = None,
    ) -> None:
        """Sign a document: XAdES for UBL/cXML, ASiC-E (detached XAdES) for CII, PAdES for PDF."""
        data = read(file, "document")
        if output is not None and output.exists() and _same_file(file, output):
            raise fail(f"refusing to overwrite the input {file}: choose another --output")
        from formats.signature import sign
        from gateway.keystore import KeyVault

        try:
            identity = KeyVault().get(tenant, key_name)
            timestamper = None
            if tsa is not None:
                from formats.signature.timestamp import Timestamper

                timestamper = Timestamper(tsa)
            from formats.signature.asic import valid_name

            # A CII invoice keeps its own file name inside the container when that name is safe.
            inner = file.name if valid_name(file.name) else None
            signed = sign(data, identity, timestamper=timestamper, name=inner)
        except SigningError as exc:
            raise fail(f"{file}: {exc}; nothing was written", EXIT_INVALID) from None
        except (InvoiceInputError, GatewayError) as exc:
            raise fail(f"{file}: {exc}; nothing was written") from None
        if output is not None:
            target = output
        elif signed.startswith(b"PK\x03\x04"):  # an ASiC-E container (a CII invoice)
            target = file.with_name(f"{file.stem}.asice")
        else:
            target = file.with_name(f"{file.stem}.signed{file.suffix}")
        if target.exists() and _same_file(file, target):
            raise fail(f"refusing to overwrite the input {file}: choose another --output")
        try:
            _write_atomically(target, signed)
        except OSError as exc:
            raise fail(f"cannot write {target}: {exc.strerror or exc}") from None
        out.print(f"signed {escape(str(file))} → {escape(str(target))} with {escape(identity.subject)}")

    @app.command("verify")
    def verify_command(
        file: Annotated[Path, typer.Argument(help="A signed XML invoice, PDF or ASiC-E container (.asice).")],
        trust: Annotated[
            list[Path] | None,
            typer.Option(
                "--trust",
                metavar="PEM_OR_DIR",
                help="Trusted root certificates (repeatable; default: $GATEWAY_TRUST_STORE).",
            ),
        ] = None,
        output_format: Annotated[
            VerifyFormat, typer.Option("--format", help="Report format.")
        ] = VerifyFormat.TEXT,
    ) -> None:
        """Check every signature: intact, covering the whole document, trusted, valid when signed."""
        from formats.signature import verify
        from gateway.truststore import load_trust_store, trust_paths_from_env

        data = read(file, "document")
        try:
            store = load_trust_store(trust or trust_paths_from_env())
            report = verify(data, store)
        except GatewayError as exc:
            raise fail(f"{file}: {exc}") from None
        if output_format is VerifyFormat.JSON:
            sys.stdout.write(json.dumps({"file": str(file), **report.to_dict()}, indent=2) + "\n")
        else:
            _print_report(out, str(file), report, trusted_roots=len(store.roots))
        raise typer.Exit(EXIT_OK if report.valid else EXIT_INVALID)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside ``target``, then rename: never a half-written document."""
    folder = target.parent if str(target.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _check(ok: bool, label: str) -> str:
    return f"[green]✓ {label}[/]" if ok else f"[red]✗ not {label}[/]"


def _print_report(out: Console, name: str, report: VerificationReport, *, trusted_roots: int) -> None:
    count = len(report.signatures)
    if report.valid:
        out.print(f"[green]✓ valid[/] {escape(name)} ({report.document_kind}): {count} signature(s)")
    elif not count:
        out.print(f"[red]✗ invalid[/] {escape(name)} ({report.document_kind}): no signature found")
    else:
        out.print(f"[red]✗ invalid[/] {escape(name)} ({report.document_kind}): {count} signature(s)")
    for index, signature in enumerate(report.signatures, 1):
        _print_signature(out, index, signature)
    if not trusted_roots:
        out.print("  [dim]note: no trust store configured (--trust or GATEWAY_TRUST_STORE)[/]")


def _print_signature(out: Console, index: int, s: SignatureResult) -> None:
    verdict = "[green]valid[/]" if s.valid else "[red]invalid[/]"
    out.print(f"  signature {index}: {s.kind} {s.level}, {verdict}")
    out.print(f"    signer:  {escape(s.signer_subject or 'unknown')}")
    serial = f"{s.signer_serial:#x}" if s.signer_serial is not None else "unknown"
    out.print(f"    issuer:  {escape(s.signer_issuer or 'unknown')} (serial {serial})")
    claimed = s.signing_time.isoformat() if s.signing_time else "not stated"
    stamped = s.timestamp_time.isoformat() if s.timestamp_time else "none"
    out.print(f"    signed:  {claimed} (claimed by the signer); timestamp: {stamped}")
    checks = (
        _check(s.intact, "intact"),
        _check(s.covers_whole_document, "covering the whole document"),
        _check(s.trusted, "trusted"),
        _check(s.valid_at_signing_time, "valid at signing time"),
    )
    out.print("    " + ", ".join(checks))
    for problem in s.problems:
        out.print(f"    [red]problem:[/] {escape(problem)}")
