"""Loading a signing identity from PKCS#12 and PEM, and refusing one that cannot sign."""

from __future__ import annotations

import pytest

from formats.errors import SigningError
from formats.signature.keys import load_pem, load_pkcs12
from tests.pki import p12, pem, pki


@pytest.mark.parametrize("which", ["rsa", "ecdsa"])
def test_pkcs12_with_password(which: str) -> None:
    issued = getattr(pki(), which)
    identity = load_pkcs12(p12(issued), "secret")
    assert identity.certificate == issued.certificate
    assert identity.chain == (pki().intermediate.certificate,)
    assert identity.algorithm == ("RSA" if which == "rsa" else "ECDSA")


def test_pkcs12_without_password() -> None:
    assert load_pkcs12(p12(pki().rsa, None)).certificate == pki().rsa.certificate


def test_pem_key_and_chain() -> None:
    key, certificates = pem(pki().ecdsa)
    identity = load_pem(key, certificates, "secret")
    assert identity.certificate == pki().ecdsa.certificate
    assert identity.chain == (pki().intermediate.certificate,)


def test_wrong_password_is_named_and_not_echoed() -> None:
    with pytest.raises(SigningError, match="password is wrong") as caught:
        load_pkcs12(p12(pki().rsa), "not-the-secret")
    assert "not-the-secret" not in str(caught.value)
    key, certificates = pem(pki().rsa)
    with pytest.raises(SigningError, match="password is wrong"):
        load_pem(key, certificates, "not-the-secret")
    with pytest.raises(SigningError, match="password is needed"):
        load_pem(key, certificates)


def test_key_that_does_not_match_the_certificate() -> None:
    key, _ = pem(pki().rsa)
    _, other = pem(pki().ecdsa)
    with pytest.raises(SigningError, match="does not match the certificate"):
        load_pem(key, other.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n", "secret")


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("expired", "expired on"),
        ("not_yet_valid", "not valid yet"),
        ("no_signing_usage", "may not sign"),
    ],
)
def test_certificates_that_cannot_sign(which: str, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        load_pkcs12(p12(getattr(pki(), which)), "secret")


def test_not_pkcs12_at_all() -> None:
    with pytest.raises(SigningError, match="not PKCS#12"):
        load_pkcs12(b"%PDF-1.7 not a key store", "secret")


def test_repr_shows_no_key_material() -> None:
    identity = load_pkcs12(p12(pki().rsa), "secret")
    assert "PRIVATE" not in repr(identity)
    assert "Seller GmbH" in repr(identity)
