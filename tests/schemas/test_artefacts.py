"""The artefact registry and the rules store: hashes, packs, hostile archives."""

from __future__ import annotations

import stat
import zipfile

import pytest

from formats.errors import ArtefactError
from schemas import artefacts
from schemas.artefacts import KNOWN, RuleStore, Status, resolve
from tests.schemas.conformance.corpus import CORPUS, MISSING, available

FAKE_PEPPOL = b"""<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:svrl="http://purl.oclc.org/dsdl/svrl"><xsl:template match="/">
  <svrl:schematron-output/></xsl:template></xsl:stylesheet>"""


def test_every_built_in_artefact_is_present_and_unaltered():
    for known in KNOWN:
        if known.builtin:
            found = resolve(known.key)
            assert found is not None
            assert found.status is Status.OFFICIAL
            assert found.sha256 == known.sha256


def test_unknown_key_is_an_error():
    with pytest.raises(ArtefactError, match="unknown artefact"):
        resolve("no-such-artefact")


def test_pack_artefact_absent_until_installed(tmp_path):
    assert resolve("peppol-ubl-xslt", RuleStore(tmp_path)) is None


def test_unknown_hash_is_skipped_unless_accepted(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PEPPOL-EN16931-UBL.xslt").write_bytes(FAKE_PEPPOL)
    store = RuleStore(tmp_path / "store")
    with pytest.raises(ArtefactError, match="not a release"):
        store.install(pack)
    result = store.install(pack, accept_unverified=True)
    [entry] = result.installed
    assert entry.status is Status.UNVERIFIED
    assert entry.key == "peppol-ubl-xslt"
    found = resolve("peppol-ubl-xslt", store)
    assert found is not None
    assert found.status is Status.UNVERIFIED


def test_installed_file_changed_afterwards_is_refused(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PEPPOL-EN16931-UBL.xslt").write_bytes(FAKE_PEPPOL)
    store = RuleStore(tmp_path / "store")
    [entry] = store.install(pack, accept_unverified=True).installed
    (store.root / entry.path).write_bytes(FAKE_PEPPOL + b"<!-- tampered -->")
    artefacts._resolved_pack.cache_clear()
    with pytest.raises(ArtefactError, match="changed after it was installed"):
        resolve("peppol-ubl-xslt", store)


def test_folder_without_known_files(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(ArtefactError, match="nothing to install"):
        RuleStore(tmp_path / "store").install(tmp_path)


def test_missing_source(tmp_path):
    with pytest.raises(ArtefactError, match="does not exist"):
        RuleStore(tmp_path).install(tmp_path / "nope.zip")


@pytest.mark.parametrize("name", ["../evil.xslt", "/abs/evil.xslt", "a/../../evil.xslt"])
def test_zip_path_traversal_is_refused(tmp_path, name):
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(name, FAKE_PEPPOL)
    with pytest.raises(ArtefactError, match="path traversal"):
        RuleStore(tmp_path / "store").install(archive, accept_unverified=True)
    assert not (tmp_path / "evil.xslt").exists()


def test_zip_symlink_is_refused(tmp_path):
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("PEPPOL-EN16931-UBL.xslt")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArtefactError, match="symbolic link"):
        RuleStore(tmp_path / "store").install(archive, accept_unverified=True)


def test_not_a_zip(tmp_path):
    bogus = tmp_path / "pack.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ArtefactError, match="neither a folder nor a zip"):
        RuleStore(tmp_path / "store").install(bogus)


def test_zip_pack_installs_like_a_folder(tmp_path):
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("release/xslt/PEPPOL-EN16931-UBL.xslt", FAKE_PEPPOL)
    store = RuleStore(tmp_path / "store")
    [entry] = store.install(archive, accept_unverified=True).installed
    assert (store.root / entry.path).read_bytes() == FAKE_PEPPOL


@pytest.mark.skipif(not available(), reason=MISSING)
def test_official_packs_from_the_corpus_are_recognised(tmp_path):
    store = RuleStore(tmp_path)
    installed = {e.key: e for p in ("rules", "rules-compiled") for e in store.install(CORPUS / p).installed}
    assert {
        "cen-ubl-xslt",
        "cen-cii-xslt",
        "peppol-ubl-xslt",
        "peppol-cii-xslt",
        "xrechnung-ubl-xslt",
        "xrechnung-cii-xslt",
    } <= set(installed)
    assert all(e.status is Status.OFFICIAL for e in installed.values())
    # the SchXslt builds of the CEN rules in rules-compiled are not the official files
    assert installed["cen-ubl-xslt"].path.endswith("en16931/ubl/xslt/EN16931-UBL-validation.xslt")
