"""A real OpenSSH ``sshd`` on a loopback port, for the SFTP connector's tests and benchmark.

Why the real server rather than paramiko's in-process one: the connector must cope with what
the buyers run (OpenSSH's ``internal-sftp``: its status codes, its ``posix-rename``, its
refusals), and the fault tests need a process that can be killed mid-transfer and started
again on the same port.

Authentication: the tests log in as the user running them (``root`` in the sandbox) with an
Ed25519 key written to a temporary ``AuthorizedKeysFile``. ``root``'s password is locked
(``*``), so every password is a *wrong* password for it: that is the "wrong password" test,
run against a server that accepts passwords. A positive password login needs an account with
a known password: ``password_account()`` creates one with ``useradd`` + ``chpasswd`` when the
tests run as root and those tools exist, and removes it afterwards; elsewhere those tests
skip with the reason.

Running sshd as root needs its privilege-separation directory (``/run/sshd``); the fixture
creates it when missing.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
START_SECONDS = 10.0


def available() -> str | None:
    """``None`` when a test sshd can run here, else the reason it cannot (for ``pytest.skip``)."""
    if not SSHD.is_file():
        return f"{SSHD} is not installed (apt package openssh-server)"
    if not Path(SSH_KEYGEN).is_file():
        return "ssh-keygen is not installed"
    if os.geteuid() != 0 and not Path("/run/sshd").is_dir():
        return "sshd needs /run/sshd, which only root can create"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "", fmt: str | None = None) -> str:
    """A new key pair at ``path`` / ``path.pub``; returns the public key line (no comment)."""
    extra = ["-m", fmt] if fmt else []
    bits = ["-b", "2048"] if kind == "rsa" else (["-b", "256"] if kind == "ecdsa" else [])
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", kind, *bits, *extra, "-N", passphrase, "-C", "", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid``: sshd's per-connection children leave its process group (setsid)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class SshServer:
    """One sshd; ``start()``/``stop()``, ``kill()`` (everything, at once) and ``restart()``."""

    root: Path
    port: int = 0
    password_auth: bool = True
    user: str = "root"

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.host = "127.0.0.1"
        self.host_key_line = keygen(self.root / "ssh_host_ed25519_key")
        self.client_key_path = self.root / "client_ed25519"
        self.client_key_line = keygen(self.client_key_path)
        self.client_key_pem = self.client_key_path.read_text()
        self.authorized_keys = self.root / "authorized_keys"
        self.authorized_keys.write_text(self.client_key_line + "\n")
        self.log = self.root / "sshd.log"
        self.config = self.root / "sshd_config"
        self.process: subprocess.Popen[bytes] | None = None

    def authorize(self, public_key_line: str) -> None:
        with self.authorized_keys.open("a") as out:
            out.write(public_key_line + "\n")

    def settings(self, remote_path: str, **extra: object) -> dict[str, object]:
        """Channel settings pointing at this server, pinned to its host key."""
        return {
            "host": self.host,
            "port": self.port,
            "username": self.user,
            "remote_path": remote_path,
            "host_key": self.host_key_line,
            **extra,
        }

    def _write_config(self) -> None:
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.root / 'ssh_host_ed25519_key'}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.authorized_keys}",
                    f"PasswordAuthentication {'yes' if self.password_auth else 'no'}",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin yes",
                    "UsePAM no",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    "MaxStartups 100",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )

    def start(self) -> None:
        """Start sshd in the foreground and wait (bounded) until it accepts connections."""
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self._write_config()
        checked = subprocess.run(
            [str(SSHD), "-t", "-f", str(self.config)], capture_output=True, timeout=30, check=False
        )
        if checked.returncode != 0:
            raise RuntimeError(f"sshd refuses the test config: {checked.stderr.decode(errors='replace')}")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited at start: {self.log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"sshd did not listen on {self.host}:{self.port} within {START_SECONDS:.0f} s")

    def kill(self) -> None:
        """SIGKILL the listener and every connection it serves: a crash, not a shutdown."""
        if self.process is None:
            return
        victims = [*_descendants(self.process.pid), self.process.pid]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """Terminate sshd and its connections (SIGTERM first, SIGKILL what is left)."""
        if self.process is None:
            return
        # connections first, while the listener is alive to reap them (PID 1 here may not)
        for pid in _descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 2
        while self.connections() and time.monotonic() < deadline:
            time.sleep(0.02)
        victims = [*_descendants(self.process.pid), self.process.pid]
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None

    def freeze(self, on: bool = True) -> None:
        """SIGSTOP (``on``) or SIGCONT sshd and its connections: a server that stops answering."""
        if self.process is None:
            return
        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP if on else signal.SIGCONT)

    def restart(self) -> None:
        """Start again on the same port with the same host key (the server "came back")."""
        self.stop()
        self.start()

    def connections(self) -> int:
        """Connections sshd serves right now (its direct children)."""
        if self.process is None:
            return 0
        own = self.process.pid
        count = 0
        for pid in _descendants(own):
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == own:
                    count += 1
        return count


@contextlib.contextmanager
def running(root: Path, **options: object) -> Iterator[SshServer]:
    server = SshServer(root, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


def password_account() -> tuple[str, str] | str:
    """``(user, password)`` of a throwaway account, or the reason none can be made here."""
    if os.geteuid() != 0:
        return "a password login needs an account with a known password; only root can create one"
    useradd, chpasswd = shutil.which("useradd"), shutil.which("chpasswd")
    if not (useradd and chpasswd):
        return "useradd/chpasswd are not installed"
    user = "einv_sftp_test"
    password = secrets.token_urlsafe(16)
    exists = subprocess.run(["id", user], capture_output=True, check=False).returncode == 0
    if not exists:
        made = subprocess.run(
            [useradd, "-M", "-d", "/nonexistent", "-s", "/bin/sh", user], capture_output=True, check=False
        )
        if made.returncode != 0:
            return f"useradd failed: {made.stderr.decode(errors='replace').strip()}"
    setpw = subprocess.run([chpasswd], input=f"{user}:{password}".encode(), capture_output=True, check=False)
    if setpw.returncode != 0:
        return f"chpasswd failed: {setpw.stderr.decode(errors='replace').strip()}"
    return user, password


def remove_account(user: str) -> None:
    userdel = shutil.which("userdel")
    if userdel:
        gone = subprocess.run([userdel, user], capture_output=True, check=False)
        if gone.returncode != 0:  # an exited session not yet reaped still "uses" the account
            gone = subprocess.run([userdel, "-f", user], capture_output=True, check=False)
        if gone.returncode != 0:
            raise RuntimeError(f"userdel {user} failed: {gone.stderr.decode(errors='replace').strip()}")
