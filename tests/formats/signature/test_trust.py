"""Chains are checked against the configured roots, at the signing time."""

from __future__ import annotations

from datetime import timedelta

from formats.signature.trust import TrustStore
from tests.pki import NOW, pki, trust_pem


def test_a_chain_to_the_root_is_trusted() -> None:
    store = TrustStore.from_pem(trust_pem())
    verdict = store.check_chain(pki().rsa.certificate, [pki().intermediate.certificate], NOW)
    assert (verdict.trusted, verdict.valid_at, verdict.reason) == (True, True, None)


def test_missing_intermediate_or_other_root_is_not_trusted() -> None:
    store = TrustStore.from_pem(trust_pem())
    assert not store.check_chain(pki().rsa.certificate, [], NOW).trusted
    verdict = store.check_chain(pki().untrusted.certificate, [], NOW)
    assert not verdict.trusted
    assert verdict.reason is not None
    assert "Unrelated Root CA" in verdict.reason


def test_expired_certificate_is_valid_when_it_signed_and_not_after() -> None:
    store = TrustStore.from_pem(trust_pem())
    expired = pki().expired
    chain = [pki().intermediate.certificate]
    assert store.check_chain(expired.certificate, chain, NOW - timedelta(days=30)).valid_at
    later = store.check_chain(expired.certificate, chain, NOW)
    assert later.trusted
    assert not later.valid_at
    assert later.reason is not None


def test_no_trust_store_trusts_nothing() -> None:
    verdict = TrustStore().check_chain(pki().rsa.certificate, [pki().intermediate.certificate], NOW)
    assert not verdict.trusted
    assert verdict.reason is not None
    assert "no trust store" in verdict.reason


def test_from_path_reads_a_folder_and_der(tmp_path) -> None:
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "root.der").write_bytes(pki().root.certificate.public_bytes(serialization.Encoding.DER))
    (tmp_path / "ignored.txt").write_text("not a certificate")
    assert TrustStore.from_path(tmp_path).roots == (pki().root.certificate,)


def test_a_validated_path_is_reused_and_still_checked_against_the_time() -> None:
    store = TrustStore.from_pem(trust_pem())
    expired = pki().expired
    chain = [pki().intermediate.certificate]
    assert store.check_chain(expired.certificate, chain, NOW - timedelta(days=30)).valid_at
    assert len(store._paths) == 1
    # the second call uses the kept path: the time still decides
    later = store.check_chain(expired.certificate, chain, NOW)
    assert (later.trusted, later.valid_at) == (True, False)
    assert later.reason is not None
    assert "Seller GmbH (expired)" in later.reason
    before_the_ca = store.check_chain(expired.certificate, chain, NOW - timedelta(days=950))
    assert not before_the_ca.valid_at
    # another chain offered is another path
    assert not store.check_chain(expired.certificate, [], NOW - timedelta(days=30)).trusted
