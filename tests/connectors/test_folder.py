"""The folder channel: atomic, idempotent, names that cannot leave the folder, clear error kinds."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest

from connectors.base import OutgoingDocument, PermanentDeliveryError, TransientDeliveryError
from connectors.folder import FolderConnector, safe_name, target_name

UBL = OutgoingDocument("INV-1.xml", b"<Invoice>1</Invoice>", "application/xml", "ubl")
PDF = OutgoingDocument("INV-1.pdf", b"%PDF-1.7 fake", "application/pdf", "facturx")


def test_writes_each_document_under_a_deterministic_name(tmp_path: Path) -> None:
    result = FolderConnector().send([UBL, PDF], {"path": str(tmp_path)}, {}, delivery_id="dlv_abc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dlv_abc-INV-1.pdf", "dlv_abc-INV-1.xml"]
    assert (tmp_path / "dlv_abc-INV-1.xml").read_bytes() == UBL.content
    assert (tmp_path / "dlv_abc-INV-1.pdf").read_bytes() == PDF.content
    assert result.status == "delivered"
    assert result.remote_reference is not None
    assert result.remote_reference.splitlines() == [
        str(tmp_path / "dlv_abc-INV-1.xml"),
        str(tmp_path / "dlv_abc-INV-1.pdf"),
    ]
    manifest = json.loads(result.sent)
    assert [f["sha256"] for f in manifest["files"]] == [
        hashlib.sha256(UBL.content).hexdigest(),
        hashlib.sha256(PDF.content).hexdigest(),
    ]
    assert {f["outcome"] for f in manifest["files"]} == {"written"}


def test_the_same_delivery_again_is_recognised_not_duplicated(tmp_path: Path) -> None:
    connector = FolderConnector()
    first = connector.send([UBL], {"path": str(tmp_path)}, {}, delivery_id="dlv_1")
    again = connector.send([UBL], {"path": str(tmp_path)}, {}, delivery_id="dlv_1")
    assert first.remote_reference == again.remote_reference
    assert [p.name for p in tmp_path.iterdir()] == ["dlv_1-INV-1.xml"]
    assert json.loads(again.sent)["files"][0]["outcome"] == "unchanged"


def test_different_bytes_under_an_existing_name_are_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "dlv_1-INV-1.xml").write_bytes(b"something else")
    with pytest.raises(PermanentDeliveryError, match="already exists with different content"):
        FolderConnector().send([UBL], {"path": str(tmp_path)}, {}, delivery_id="dlv_1")
    assert (tmp_path / "dlv_1-INV-1.xml").read_bytes() == b"something else"


def test_no_partial_file_is_left_and_none_is_visible_under_the_final_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the bytes are written but before the rename leaves nothing behind."""

    def broken_replace(src: object, dst: object) -> None:
        assert Path(str(src)).name.startswith(".")
        assert str(src).endswith(".partial")
        assert Path(str(src)).read_bytes() == UBL.content  # the whole file was written first
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(TransientDeliveryError) as caught:
        FolderConnector().send([UBL], {"path": str(tmp_path)}, {}, delivery_id="dlv_1")
    assert caught.value.raw_code == "EIO"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_transient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(TransientDeliveryError, match="No space left") as caught:
        FolderConnector().send([UBL], {"path": str(tmp_path)}, {}, delivery_id="dlv_1")
    monkeypatch.setattr(os, "write", real_write)
    assert caught.value.raw_code == "ENOSPC"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("filename", "delivery_id", "expected"),
    [
        ("../../etc/passwd", "dlv_1", "dlv_1-passwd"),
        ("..\\..\\boot.ini", "dlv_1", "dlv_1-boot.ini"),
        ("/abs/path/INV 7/x.xml", "dlv_1", "dlv_1-x.xml"),
        ("INV/2026:07*?.xml", "dlv_1", "dlv_1-2026_07_.xml"),
        ("..", "dlv_1", "dlv_1-document"),
        ("INV-1.xml", "../../dlv", "dlv-INV-1.xml"),
        (".hidden.xml", "dlv_1", "dlv_1-hidden.xml"),
    ],
)
def test_names_cannot_leave_the_folder(
    filename: str, delivery_id: str, expected: str, tmp_path: Path
) -> None:
    name = target_name(delivery_id, filename)
    assert name == expected
    assert "/" not in name
    assert "\\" not in name
    assert not name.startswith(".")
    inner = tmp_path / "out"
    inner.mkdir()
    doc = OutgoingDocument(filename, b"x", "application/xml")
    FolderConnector().send([doc], {"path": str(inner)}, {}, delivery_id=delivery_id)
    assert [p.name for p in inner.iterdir()] == [expected]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = safe_name("A" * 500 + ".xml")
    assert len(name) <= 200
    assert name.endswith(".xml")


def test_a_missing_folder_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(PermanentDeliveryError, match="does not exist"):
        FolderConnector().send([UBL], {"path": str(tmp_path / "nope")}, {}, delivery_id="dlv_1")


def test_a_file_instead_of_a_folder_is_permanent(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(PermanentDeliveryError, match="is not a folder"):
        FolderConnector().send([UBL], {"path": str(tmp_path / "file")}, {}, delivery_id="dlv_1")


def test_no_path_setting_is_permanent() -> None:
    with pytest.raises(PermanentDeliveryError, match="no 'path' setting"):
        FolderConnector().send([UBL], {}, {}, delivery_id="dlv_1")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_an_unwritable_folder_is_permanent(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            FolderConnector().send([UBL], {"path": str(locked)}, {}, delivery_id="dlv_1")
        assert caught.value.raw_code == "EACCES"
    finally:
        locked.chmod(0o700)


def test_two_documents_with_the_same_name_are_refused(tmp_path: Path) -> None:
    twin = OutgoingDocument("INV-1.xml", b"<other/>", "application/xml", "cii")
    with pytest.raises(PermanentDeliveryError, match="same file name"):
        FolderConnector().send([UBL, twin], {"path": str(tmp_path)}, {}, delivery_id="dlv_1")
    assert list(tmp_path.iterdir()) == []


def test_a_permission_error_is_permanent_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as the test above where it cannot run (root): the error kind comes from errno."""

    def refused(path: object, flags: int, mode: int = 0o777) -> int:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermanentDeliveryError, match="Permission denied") as caught:
        FolderConnector().send([UBL], {"path": str(tmp_path)}, {}, delivery_id="dlv_1")
    assert caught.value.raw_code == "EACCES"
