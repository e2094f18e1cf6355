"""The SFTP channel against a real OpenSSH sshd on loopback (see ``tests/connectors/sshd.py``).

Each test says which promise of ``connectors/sftp.py`` it holds the connector to: pinned host
key checked before credentials, all-or-nothing units, idempotent re-send, names that cannot
escape, the error kinds an operator acts on, and connection reuse.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import OutgoingDocument, PermanentDeliveryError, TransientDeliveryError
from connectors.sftp import HostKeyPin, SftpConnector, load_private_key, remote_paths
from tests.connectors import sshd

pytestmark = pytest.mark.skipif(sshd.available() is not None, reason=str(sshd.available()))

XML = OutgoingDocument("INV-1.xml", b"<Invoice>1</Invoice>\n", "application/xml", "ubl")
PDF = OutgoingDocument("INV-1.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "application/pdf", "facturx")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd.SshServer]:
    with sshd.running(tmp_path_factory.mktemp("sshd")) as running:
        yield running


@pytest.fixture
def connector() -> Iterator[SftpConnector]:
    with SftpConnector(connect_timeout=5, auth_timeout=5, operation_timeout=10) as made:
        yield made


@pytest.fixture
def key(server: sshd.SshServer) -> dict[str, str]:
    return {"private_key": server.client_key_pem}


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def fingerprint_of(public_key_file: Path) -> str:
    """What ``ssh-keygen -lf`` says: the operator's view of a key."""
    out = subprocess.run(
        [sshd.SSH_KEYGEN, "-lf", str(public_key_file)], capture_output=True, text=True, check=True
    ).stdout.split()
    return f"ssh-{out[-1].strip('()').lower()} {out[1]}"


# ---------------------------------------------------------------- delivery


def test_two_documents_arrive_as_one_unit_with_their_exact_bytes(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    settings = server.settings(f"{tmp_path}/{{invoice_number}}-{{filename}}", invoice_number="2026/07/1")
    result = connector.send([XML, PDF], settings, key, delivery_id="dlv_unit")
    assert listing(tmp_path) == ["2026_07_1-INV-1.pdf", "2026_07_1-INV-1.xml"]  # no partial left
    assert (tmp_path / "2026_07_1-INV-1.xml").read_bytes() == XML.content
    assert (tmp_path / "2026_07_1-INV-1.pdf").read_bytes() == PDF.content
    assert result.status == "delivered"
    assert result.raw_code == "uploaded"
    assert result.remote_reference == f"{tmp_path}/2026_07_1-INV-1.xml\n{tmp_path}/2026_07_1-INV-1.pdf"
    manifest = json.loads(result.sent)
    assert [(f["path"], f["size"], f["sha256"], f["outcome"]) for f in manifest["files"]] == [
        (
            f"{tmp_path}/2026_07_1-INV-1.xml",
            len(XML.content),
            hashlib.sha256(XML.content).hexdigest(),
            "uploaded",
        ),
        (
            f"{tmp_path}/2026_07_1-INV-1.pdf",
            len(PDF.content),
            hashlib.sha256(PDF.content).hexdigest(),
            "uploaded",
        ),
    ]
    received = json.loads(result.received)
    assert received["banner"].startswith("SSH-2.0-OpenSSH")
    assert received["host_key"] == fingerprint_of(server.root / "ssh_host_ed25519_key.pub")


def test_one_connection_serves_a_batch_of_deliveries(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    settings = server.settings(f"{tmp_path}/{{filename}}")
    outcomes = []
    for n in range(5):
        doc = OutgoingDocument(f"INV-{n}.xml", f"<Invoice>{n}</Invoice>".encode(), "application/xml")
        outcomes.append(connector.send([doc], settings, key, delivery_id=f"dlv_{n}").details["connection"])
        assert server.connections() == 1  # the server sees one client connection, kept open
    assert outcomes == ["new", "reused", "reused", "reused", "reused"]
    assert connector.connections_opened == 1
    assert len(listing(tmp_path)) == 5
    connector.close()
    deadline = time.monotonic() + 5
    while server.connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.connections() == 0


def test_each_key_type_and_an_encrypted_key_log_in(
    server: sshd.SshServer, connector: SftpConnector, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    cases = [("rsa", "", "PEM"), ("ecdsa", "", None), ("ed25519", "s3cret phrase", None)]
    for kind, passphrase, fmt in cases:
        path = keys / f"id_{kind}"
        server.authorize(sshd.keygen(path, kind, passphrase, fmt))
        secrets = {"private_key": path.read_text()}
        if passphrase:
            secrets["passphrase"] = passphrase
        doc = OutgoingDocument(f"{kind}.xml", kind.encode(), "application/xml")
        result = connector.send(
            [doc], server.settings(f"{out}/{{filename}}"), secrets, delivery_id=f"dlv_{kind}"
        )
        assert result.status == "delivered"
        assert (out / f"{kind}.xml").read_bytes() == kind.encode()
    assert listing(out) == ["ecdsa.xml", "ed25519.xml", "rsa.xml"]


def test_a_sha256_fingerprint_pin_is_enough(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    pin = fingerprint_of(server.root / "ssh_host_ed25519_key.pub").split()[1]
    settings = server.settings(f"{tmp_path}/{{filename}}", host_key=pin)
    assert connector.send([XML], settings, key, delivery_id="dlv_fp").status == "delivered"


# ---------------------------------------------------------------- idempotency


def test_the_same_delivery_again_is_recognised_not_duplicated(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    settings = server.settings(f"{tmp_path}/{{filename}}")
    first = connector.send([XML, PDF], settings, key, delivery_id="dlv_again")
    stamp = (tmp_path / "INV-1.xml").stat().st_mtime_ns
    again = connector.send([XML, PDF], settings, key, delivery_id="dlv_again")
    assert again.raw_code == "unchanged"
    assert first.remote_reference == again.remote_reference
    assert {f["outcome"] for f in json.loads(again.sent)["files"]} == {"unchanged"}
    assert (tmp_path / "INV-1.xml").stat().st_mtime_ns == stamp
    assert listing(tmp_path) == ["INV-1.pdf", "INV-1.xml"]


def test_a_unit_half_renamed_before_a_crash_is_completed_by_the_retry(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "INV-1.xml").write_bytes(XML.content)  # the first rename happened, then the crash
    result = connector.send([XML, PDF], server.settings(f"{tmp_path}/{{filename}}"), key, delivery_id="dlv_h")
    assert [f["outcome"] for f in json.loads(result.sent)["files"]] == ["unchanged", "uploaded"]
    assert (tmp_path / "INV-1.pdf").read_bytes() == PDF.content
    assert listing(tmp_path) == ["INV-1.pdf", "INV-1.xml"]


@pytest.mark.parametrize("existing", [b"<Invoice>other</Invoice>", b"<Invoice>2</Invoice>\n"])
def test_different_content_at_the_final_name_is_never_overwritten(
    existing: bytes, server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    """Different size, and the same size with other bytes (the hash decides)."""
    (tmp_path / "INV-1.xml").write_bytes(existing)
    with pytest.raises(PermanentDeliveryError, match="already exists with different content") as caught:
        connector.send([PDF, XML], server.settings(f"{tmp_path}/{{filename}}"), key, delivery_id="dlv_x")
    assert caught.value.raw_code == "EEXIST"
    assert (tmp_path / "INV-1.xml").read_bytes() == existing
    assert listing(tmp_path) == ["INV-1.xml"]  # nothing of the unit was written, not even the PDF
    assert json.loads(caught.value.sent)["files"][1]["path"] == f"{tmp_path}/INV-1.xml"


def test_a_failure_before_the_last_rename_leaves_no_final_file(
    server: sshd.SshServer,
    connector: SftpConnector,
    key: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = SftpConnector._rename
    calls: list[str] = []

    def second_fails(session: object, partial: str, path: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError("Failure")
        real(session, partial, path)  # type: ignore[arg-type]

    monkeypatch.setattr(SftpConnector, "_rename", staticmethod(second_fails))
    with pytest.raises(TransientDeliveryError, match="cannot rename") as caught:
        connector.send([XML, PDF], server.settings(f"{tmp_path}/{{filename}}"), key, delivery_id="dlv_r")
    assert caught.value.raw_code == "IO"
    assert listing(tmp_path) == []  # the first final and both partials were removed
    assert {f["outcome"] for f in json.loads(caught.value.sent)["files"]} == {"failed"}


# ---------------------------------------------------------------- authentication and host key


def test_a_wrong_password_is_a_permanent_auth_failure(
    server: sshd.SshServer, connector: SftpConnector, tmp_path: Path
) -> None:
    """root's password is locked here, so any password is the wrong one (see sshd.py)."""
    with pytest.raises(PermanentDeliveryError, match=r"authentication as 'root' on 127\.0\.0\.1:\d+ refused"):
        connector.send(
            [XML], server.settings(f"{tmp_path}/{{filename}}"), {"password": "nope"}, delivery_id="d"
        )
    assert listing(tmp_path) == []


def test_a_key_the_server_does_not_know_is_a_permanent_auth_failure(
    server: sshd.SshServer, connector: SftpConnector, tmp_path: Path
) -> None:
    other = tmp_path / "other_key"
    sshd.keygen(other)
    with pytest.raises(PermanentDeliveryError) as caught:
        connector.send(
            [XML],
            server.settings(f"{tmp_path}/{{filename}}"),
            {"private_key": other.read_text()},
            delivery_id="d",
        )
    assert caught.value.raw_code == "AUTH"
    assert "key ssh-ed25519 SHA256:" in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)
    assert json.loads(caught.value.received)["banner"].startswith("SSH-2.0-")


def test_a_password_to_a_key_only_server_says_what_it_allows(
    tmp_path: Path, connector: SftpConnector
) -> None:
    with (
        sshd.running(tmp_path / "srv", password_auth=False) as keyonly,
        pytest.raises(PermanentDeliveryError, match=r"it allows: publickey") as caught,
    ):
        connector.send(
            [XML], keyonly.settings(f"{tmp_path}/{{filename}}"), {"password": "x"}, delivery_id="d"
        )
    assert caught.value.raw_code == "AUTH"


def test_a_password_login_delivers(server: sshd.SshServer, connector: SftpConnector) -> None:
    account = sshd.password_account()
    if isinstance(account, str):
        pytest.skip(account)
    user, password = account
    folder = Path(tempfile.mkdtemp(prefix="sftp-pw-"))
    try:
        folder.chmod(0o777)
        settings = {**server.settings(f"{folder}/{{filename}}"), "username": user}
        assert connector.send([XML], settings, {"password": password}, delivery_id="d").status == "delivered"
        assert (folder / "INV-1.xml").read_bytes() == XML.content
        with pytest.raises(PermanentDeliveryError) as caught:
            connector.send([PDF], settings, {"password": password + "x"}, delivery_id="d")
        assert caught.value.raw_code == "AUTH"
    finally:
        connector.close()  # its pooled session runs as the user: userdel refuses while it lives
        deadline = time.monotonic() + 5
        while server.connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(folder, ignore_errors=True)
        sshd.remove_account(user)


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
def test_an_unknown_host_key_is_permanent_and_no_credential_is_sent(
    kind: str, server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    """A pin of the same type that differs, and a pin of a type the server does not have."""
    pinned = sshd.keygen(tmp_path / "someone_else", kind)
    logins_before = server.log.read_text().count("Accepted publickey")
    with pytest.raises(PermanentDeliveryError) as caught:
        connector.send(
            [XML], server.settings(f"{tmp_path}/{{filename}}", host_key=pinned), key, delivery_id="d"
        )
    assert caught.value.raw_code == "HOSTKEY"
    message = str(caught.value)
    assert message.startswith(f"host key for 127.0.0.1:{server.port} does not match the pinned key")
    if kind == "ed25519":
        assert message.endswith(f"(got {fingerprint_of(server.root / 'ssh_host_ed25519_key.pub')})")
    else:
        assert "offers no ecdsa-sha2-nistp256 key" in message
    assert server.log.read_text().count("Accepted publickey") == logins_before
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("someone_else")] == []


def test_a_wrong_fingerprint_pin_is_permanent(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    settings = server.settings(f"{tmp_path}/{{filename}}", host_key="SHA256:" + "A" * 43)
    with pytest.raises(
        PermanentDeliveryError, match=r"does not match the pinned key \(got ssh-ed25519 SHA256:"
    ):
        connector.send([XML], settings, key, delivery_id="d")


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        (
            {
                "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n"
                "-----END OPENSSH PRIVATE KEY-----"
            },
            "cannot be read",
        ),
        ({"private_key": "ENCRYPTED"}, "is encrypted and no 'passphrase'"),
        ({"private_key": "ENCRYPTED", "passphrase": "wrong"}, "cannot be read"),
        ({}, "needs a 'password' or a 'private_key'"),
    ],
)
def test_an_unusable_private_key_is_permanent_and_never_quoted(
    secrets: dict[str, str], message: str, server: sshd.SshServer, connector: SftpConnector, tmp_path: Path
) -> None:
    if secrets.get("private_key") == "ENCRYPTED":
        sshd.keygen(tmp_path / "enc", "ed25519", "right")
        secrets = {**secrets, "private_key": (tmp_path / "enc").read_text()}
    with pytest.raises(PermanentDeliveryError, match=message) as caught:
        connector.send([XML], server.settings(f"{tmp_path}/{{filename}}"), secrets, delivery_id="d")
    assert caught.value.raw_code in {"KEY", "SETTINGS"}
    assert "PRIVATE KEY" not in str(caught.value)
    assert connector.connections_opened == 0  # refused before touching the network


# ---------------------------------------------------------------- remote paths


def test_a_missing_remote_folder_is_permanent(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    settings = server.settings(f"{tmp_path}/nowhere/{{filename}}")
    with pytest.raises(
        PermanentDeliveryError, match=f"the remote folder {tmp_path}/nowhere does not exist"
    ) as c:
        connector.send([XML, PDF], settings, key, delivery_id="d")
    assert c.value.raw_code == "NOFOLDER"
    assert listing(tmp_path) == []


def test_a_remote_path_that_is_a_folder_is_permanent(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "INV-1.xml").mkdir()
    with pytest.raises(PermanentDeliveryError, match="exists and is not a file"):
        connector.send([XML], server.settings(f"{tmp_path}/{{filename}}"), key, delivery_id="d")


@pytest.mark.parametrize(
    ("template", "values", "message"),
    [
        ("{root}/../escape/{filename}", {}, "contains '..'"),
        ("{root}\\{filename}", {}, "contains a backslash"),
        ("{root}/\x00/{filename}", {}, "contains a NUL byte"),
        ("{root}/{invoice_number}.xml", {"invoice_number": "../../etc/cron.d/x"}, "is a path traversal"),
        ("{root}/{recipient}/{filename}", {"recipient": "..\\..\\boot"}, "is a path traversal"),
        ("{root}/{invoice_id}.xml", {"invoice_id": "a\x00b"}, "NUL byte"),
        ("{root}/{invoice_number}.xml", {}, "does not provide it"),
        ("{root}/{secret.__class__}", {}, "unknown placeholder"),
        ("{root}/{filename!r}", {}, "unknown placeholder"),
        ("{root}/", {}, "names a folder"),
    ],
)
def test_path_traversal_and_bad_templates_are_refused_before_anything_is_written(
    template: str,
    values: dict[str, str],
    message: str,
    server: sshd.SshServer,
    connector: SftpConnector,
    key: dict[str, str],
    tmp_path: Path,
) -> None:
    inner = tmp_path / "in"
    inner.mkdir()
    settings = server.settings(template.replace("{root}", str(inner)), **values)
    with pytest.raises(PermanentDeliveryError, match=message) as caught:
        connector.send([XML], settings, key, delivery_id="d")
    assert caught.value.raw_code in {"PATH", "SETTINGS"}
    assert connector.connections_opened == 0
    assert listing(tmp_path) == ["in"]
    assert listing(inner) == []


def test_values_are_reduced_to_one_harmless_component() -> None:
    docs = [OutgoingDocument("x/INV 1.xml", b"", "application/xml")]
    values = {"invoice_number": "2026/07/1", "recipient": ".hidden buyer", "invoice_id": "inv_1"}
    assert remote_paths("in/{recipient}/{invoice_id}-{invoice_number}-{filename}", docs, values) == [
        "in/hidden_buyer/inv_1-2026_07_1-x_INV_1.xml"
    ]
    assert remote_paths("/abs/{filename}", [XML], {}) == ["/abs/INV-1.xml"]
    with pytest.raises(PermanentDeliveryError, match="same remote path"):
        remote_paths("{invoice_id}.xml", [XML, PDF], {"invoice_id": "inv_1"})


def test_a_relative_template_lands_under_the_login_folder(
    server: sshd.SshServer, connector: SftpConnector, key: dict[str, str]
) -> None:
    home = Path(os.path.expanduser("~root"))
    name = f"sftp-test-{os.getpid()}.xml"
    try:
        result = connector.send(
            [OutgoingDocument(name, b"x", "application/xml")],
            server.settings("{filename}"),
            key,
            delivery_id="d",
        )
        assert result.remote_reference == name
        assert (home / name).read_bytes() == b"x"
    finally:
        (home / name).unlink(missing_ok=True)


def test_host_key_pins_parse() -> None:
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEZbPz8Ah+tN8cKP+M2P1o1aC8mPZk3gLWnXsV6j0yqv comment"
    assert HostKeyPin.parse(line).algorithms == ("ssh-ed25519",)
    assert HostKeyPin.parse("SHA256:" + "b" * 43).algorithms is None
    with pytest.raises(PermanentDeliveryError, match="neither an OpenSSH public key line"):
        HostKeyPin.parse("ssh-dss AAAAB3NzaC1kc3MAAACBAJ")
    with pytest.raises(PermanentDeliveryError, match="no 'host_key' setting"):
        HostKeyPin.parse("")


# ---------------------------------------------------------------- faults


def test_connection_refused_is_transient(
    connector: SftpConnector, key: dict[str, str], tmp_path: Path
) -> None:
    dead = {
        "host": "127.0.0.1",
        "port": sshd.free_port(),
        "username": "root",
        "host_key": "SHA256:" + "A" * 43,
    }
    with pytest.raises(
        TransientDeliveryError, match=r"cannot connect to 127\.0\.0\.1:\d+: connection refused"
    ) as c:
        connector.send([XML], dead, key, delivery_id="d")
    assert c.value.raw_code == "CONNECT"


def test_a_server_that_never_speaks_times_out(key: dict[str, str]) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = {
            "host": "127.0.0.1",
            "port": silent.getsockname()[1],
            "username": "root",
            "host_key": "SHA256:" + "A" * 43,
        }
        started = time.monotonic()
        with SftpConnector(connect_timeout=1) as quick, pytest.raises(TransientDeliveryError) as caught:
            quick.send([XML], settings, key, delivery_id="d")
        assert time.monotonic() - started < 10
    assert caught.value.raw_code == "TIMEOUT"


def test_server_killed_mid_transfer_then_back_delivers_on_retry(tmp_path: Path) -> None:
    """A big document, sshd SIGKILLed while its partial grows: transient, no final file; then retry."""
    big = OutgoingDocument("INV-9.pdf", os.urandom(1 << 20) * 48, "application/pdf", "facturx")
    out = tmp_path / "out"
    out.mkdir()
    with sshd.running(tmp_path / "srv") as srv, SftpConnector(operation_timeout=10) as connector:
        settings = srv.settings(f"{out}/{{filename}}")
        secrets = {"private_key": srv.client_key_pem}
        connector.send([XML], settings, secrets, delivery_id="dlv_warm")  # a pooled connection first
        partial = out / ".INV-9.pdf.dlv_big.partial"
        killed = threading.Event()

        def kill_when_uploading() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if partial.exists() and partial.stat().st_size > (1 << 20):
                    srv.kill()
                    killed.set()
                    return
                time.sleep(0.002)

        killer = threading.Thread(target=kill_when_uploading)
        killer.start()
        with pytest.raises(TransientDeliveryError) as caught:
            connector.send(
                [OutgoingDocument("INV-9.xml", b"<x/>", "application/xml"), big],
                settings,
                secrets,
                delivery_id="dlv_big",
            )
        killer.join()
        assert killed.is_set(), "the upload ended before the kill: make the document bigger"
        assert caught.value.raw_code in {"IO", "TIMEOUT"}
        assert not (out / "INV-9.pdf").exists()
        assert not (out / "INV-9.xml").exists()
        assert "INV-9.pdf" in str(caught.value)

        # still down: refused, transient
        with pytest.raises(TransientDeliveryError) as down:
            connector.send([big], settings, secrets, delivery_id="dlv_big")
        assert down.value.raw_code == "CONNECT"

        srv.start()  # back on the same port, same host key
        result = connector.send(
            [OutgoingDocument("INV-9.xml", b"<x/>", "application/xml"), big],
            settings,
            secrets,
            delivery_id="dlv_big",
        )
        assert result.status == "delivered"
        assert (out / "INV-9.pdf").read_bytes() == big.content
        assert listing(out) == ["INV-1.xml", "INV-9.pdf", "INV-9.xml"]  # the partial was replaced


def test_a_pooled_connection_to_a_restarted_server_is_replaced(tmp_path: Path) -> None:
    with sshd.running(tmp_path / "srv") as srv, SftpConnector() as connector:
        settings = srv.settings(f"{tmp_path}/{{filename}}")
        secrets = {"private_key": srv.client_key_pem}
        connector.send([XML], settings, secrets, delivery_id="d1")
        srv.restart()
        result = connector.send([PDF], settings, secrets, delivery_id="d2")
        assert result.details["connection"] == "new"
        assert connector.connections_opened == 2


def test_a_server_that_stops_answering_times_out_within_the_bounds(tmp_path: Path) -> None:
    """Frozen (SIGSTOP) after a pooled session exists: the health check and the new connect time out."""
    with sshd.running(tmp_path / "srv") as srv, SftpConnector(connect_timeout=1, operation_timeout=1) as c:
        settings = srv.settings(f"{tmp_path}/{{filename}}")
        secrets = {"private_key": srv.client_key_pem}
        c.send([XML], settings, secrets, delivery_id="d1")
        srv.freeze()
        try:
            started = time.monotonic()
            with pytest.raises(TransientDeliveryError, match="timed out") as caught:
                c.send([PDF], settings, secrets, delivery_id="d2")
            assert time.monotonic() - started < 6
        finally:
            srv.freeze(on=False)
        assert caught.value.raw_code == "TIMEOUT"
        assert not (tmp_path / "INV-1.pdf").exists()
        assert c.send([PDF], settings, secrets, delivery_id="d2").status == "delivered"


@pytest.mark.parametrize(
    ("kind", "fmt"), [("ecdsa", None), ("ecdsa", "PEM"), ("rsa", None), ("ed25519", None)]
)
def test_private_keys_load_with_their_public_half(kind: str, fmt: str | None, tmp_path: Path) -> None:
    """Ten keys each: paramiko's own OpenSSH ECDSA parser refused about a third of them."""
    for n in range(10):
        path = tmp_path / f"id_{n}"
        public = sshd.keygen(path, kind, fmt=fmt)
        key = load_private_key(path.read_text())
        assert f"{key.get_name()} {key.get_base64()}" == public
