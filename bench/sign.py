"""Benchmark: signing and verifying one invoice, ours against the libraries underneath.

Per document, documents/s measured in this run next to its anchor (the practical limit:
the library we build on, called directly with a key already loaded, no checks):

XAdES sign of a 10-line UBL invoice (``formats.ubl.to_xml`` of the first 10 lines of
  ``examples/large-500-lines.json``): ``formats.signature.sign`` with the identity fetched
  from the key vault for every document (``KeyVault.get``: decrypted once, then cached)
  vs signxml's own XAdES signer, ``signxml.xades.XAdESSigner`` (XAdES-BES, RSA-SHA256,
  exclusive C14N, signature appended to the root). For scale, plain ``XMLSigner`` (one
  reference, no qualifying properties) is printed too.
XAdES verify of our signed UBL: ``formats.signature.verify`` (digests, signature value,
  SigningCertificate, coverage, and certificate path validation at the signing time)
  vs signxml's ``XAdESVerifier`` on the same document with the signer certificate given
  (references, signature value, certificate digests; no path validation). signxml's
  verifier cannot check its own signer's output (its SignedProperties reference has no
  C14N transform), so the limit verifies ours. Plain ``XMLVerifier`` is printed for scale.
PAdES sign of a 10-line Factur-X PDF (``formats.facturx.to_facturx``, EN 16931): ours vs
  pyHanko's ``signers.sign_pdf`` with a signer holding the parsed key object (strict: a plain
  ``SimpleSigner`` re-parses the key per signature; that one is printed for scale).

Target: ours >= 0.8x the limit for each.

    .venv/bin/python -m bench.sign [--seconds S] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from io import BytesIO
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from signxml import (  # type: ignore[attr-defined]
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.xades import (  # type: ignore[attr-defined]
    XAdESSigner,
    XAdESVerifier,
)

from bench.ubl import _mark, _rates
from formats.facturx import to_facturx
from formats.invoice import load_json, parse_invoice
from formats.signature import SigningIdentity, TrustStore, sign, verify
from formats.ubl import EN16931, to_xml
from gateway.keystore import KeyVault
from gateway.secretbox import SecretBox
from tests.pki import p12, pki, trust_pem

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "large-500-lines.json"
LINES = 10
TARGET = 0.8
TENANT, KEY = "bench", "main"


def _pem_chain(identity: SigningIdentity) -> list[str]:
    return [
        c.public_bytes(serialization.Encoding.PEM).decode("ascii")
        for c in (identity.certificate, *identity.chain)
    ]


def _pyhanko_signer(identity: SigningIdentity) -> signers.SimpleSigner:
    der = serialization.Encoding.DER
    key = asn1_keys.PrivateKeyInfo.load(
        identity.key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(identity.certificate.public_bytes(der)),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(der)) for c in identity.chain]
        ),
    )


class _PreloadedSigner(signers.SimpleSigner):
    """``SimpleSigner`` that signs with the already-parsed ``cryptography`` key.

    pyHanko's own re-parses the PKCS#8 key for every signature (for RSA 3072 that key check
    dominates); this is the strictest anchor: pyHanko doing only what it must.
    """

    def __init__(self, identity: SigningIdentity) -> None:
        base = _pyhanko_signer(identity)
        super().__init__(
            signing_cert=base.signing_cert, signing_key=base.signing_key, cert_registry=base.cert_registry
        )
        self._key = identity.key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        assert isinstance(self._key, rsa.RSAPrivateKey)
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _pyhanko_sign(pdf: bytes, signer: signers.SimpleSigner) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name="Signature", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    output: BytesIO = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer)
    return output.getvalue()


def _row(label: str, ours: float, limit: float, ours_name: str, limit_name: str) -> str:
    ratio = ours / limit
    print(f"\n{label}")
    print(f"  {limit_name:<58} {limit:9.1f} docs/s  (anchor)")
    print(f"  {ours_name:<58} {ours:9.1f} docs/s  {ratio:5.2f}x")
    return f"{label}: ours / limit {ratio:5.2f} (target >= {TARGET}) [{_mark(ratio >= TARGET)}]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.3, help="minimum length of one measured pass")
    parser.add_argument("--repeat", type=int, default=5, help="measured passes per figure (median)")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, signxml {version('signxml')}, pyHanko {version('pyhanko')}, "
        f"cryptography {version('cryptography')}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}; median of {args.repeat} interleaved passes of >= {args.seconds} s; "
        f"documents: the first {LINES} lines of {EXAMPLE.name}; key: RSA 3072 (tests/pki.py)"
    )
    data = load_json(EXAMPLE.read_bytes())
    invoice = parse_invoice({**data, "lines": data["lines"][:LINES]})
    ubl = to_xml(invoice, EN16931)
    pdf = to_facturx(invoice, "en16931")
    trust = TrustStore.from_pem(trust_pem())

    with tempfile.TemporaryDirectory() as home:
        vault = KeyVault(Path(home) / "keys", SecretBox(os.urandom(32)))
        vault.add(TENANT, KEY, p12=p12(pki().rsa, "bench"), password="bench")
        identity = vault.get(TENANT, KEY)  # the limits get the very same, preloaded, key
        chain = _pem_chain(identity)
        xades_signer = XAdESSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        xml_signer = XMLSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        pdf_signer = _pyhanko_signer(identity)
        strict_signer = _PreloadedSigner(identity)

        signed_ubl = sign(ubl, vault.get(TENANT, KEY))
        if not verify(signed_ubl, trust).valid:
            raise SystemExit("our signed UBL does not verify: nothing to measure")
        XMLVerifier().verify(signed_ubl, x509_cert=chain[0], expect_references=3)
        XAdESVerifier().verify(signed_ubl, x509_cert=chain[0], expect_references=3)
        if (
            not verify(sign(pdf, identity), trust).valid
            or not verify(_pyhanko_sign(pdf, pdf_signer), trust).valid
        ):
            raise SystemExit("a signed PDF does not verify: nothing to measure")

        candidates: dict[str, Callable[[], object]] = {
            "xades-ours": lambda: sign(ubl, vault.get(TENANT, KEY)),
            "xades-limit": lambda: etree.tostring(
                xades_signer.sign(etree.fromstring(ubl), key=identity.key, cert=chain)
            ),
            "xmldsig-scale": lambda: etree.tostring(
                xml_signer.sign(etree.fromstring(ubl), key=identity.key, cert=chain)
            ),
            "verify-ours": lambda: verify(signed_ubl, trust),
            "verify-limit": lambda: XAdESVerifier().verify(
                signed_ubl, x509_cert=chain[0], expect_references=3
            ),
            "verify-scale": lambda: XMLVerifier().verify(signed_ubl, x509_cert=chain[0], expect_references=3),
            "pades-ours": lambda: sign(pdf, vault.get(TENANT, KEY)),
            "pades-limit": lambda: _pyhanko_sign(pdf, strict_signer),
            "pades-simple": lambda: _pyhanko_sign(pdf, pdf_signer),
        }
        rates = _rates(candidates, args.seconds, args.repeat)

    marks = [
        _row(
            f"XAdES sign, {LINES}-line UBL ({len(ubl) / 1024:.1f} KiB)",
            rates["xades-ours"],
            rates["xades-limit"],
            "ours: sign(ubl, vault.get(...)) (XAdES-BES, 3 references)",
            "limit: signxml XAdESSigner, key preloaded",
        ),
        _row(
            "XAdES verify, the signed UBL",
            rates["verify-ours"],
            rates["verify-limit"],
            "ours: verify(signed, trust) (incl. path validation)",
            "limit: signxml XAdESVerifier, signer certificate given",
        ),
        _row(
            f"PAdES sign, {LINES}-line Factur-X ({len(pdf) / 1024:.1f} KiB)",
            rates["pades-ours"],
            rates["pades-limit"],
            "ours: sign(pdf, vault.get(...)) (PAdES B-B, incremental)",
            "limit: pyHanko signers.sign_pdf, parsed key object",
        ),
    ]
    for key, label in (
        ("xmldsig-scale", "for scale: signxml XMLSigner (plain XML-DSig, 1 reference)"),
        ("verify-scale", "for scale: signxml XMLVerifier (plain XML-DSig checks)"),
    ):
        print(f"  {label:<58} {rates[key]:9.1f} docs/s")
    simple = rates["pades-simple"]
    print(
        f"  {'for scale: pyHanko with a plain SimpleSigner (re-parses key)':<58} {simple:9.1f} docs/s  "
        f"ours {rates['pades-ours'] / simple:5.2f}x"
    )
    print("\nsummary")
    for line in marks:
        print(f"  {line}")


if __name__ == "__main__":
    main()
