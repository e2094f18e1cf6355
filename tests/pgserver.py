"""A private, throwaway PostgreSQL server for the tests that stop or restart the database.

The machine's shared server (``127.0.0.1:5432``, see ``gateway.store.testing``) is used by
every other PostgreSQL test at the same time: restarting it would break them. ``PgServer``
runs its own cluster instead: ``initdb`` into a fresh temporary folder, ``postgres`` on a
free loopback port with trust authentication and its unix socket in that folder, and
``start()`` / ``stop(mode)`` / ``restart()`` / ``kill()`` on the same port, each bounded
(``pg_ctl -w -t`` plus a connection check). Durability is off (``fsync``,
``full_page_writes``): a throwaway cluster never outlives the machine, and a crash of the
server (``stop("immediate")``) still recovers from its WAL.

PostgreSQL refuses to run as root. When the tests run as root (the sandbox, CI containers)
every server command runs as the ``postgres`` OS user (``runuser -u postgres``), which owns
the folder; otherwise as the current user.

``available()`` says why no server can run here (no ``initdb`` binary, …); ``require()``
skips the calling test with that reason, or fails it when ``CI`` is set: the binaries are
installed on the CI machines, so a missing one there is a broken pipeline.
``GATEWAY_TEST_PG_BIN`` names the folder with ``initdb``/``pg_ctl`` when they are elsewhere.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_BIN_ENV = "GATEWAY_TEST_PG_BIN"
START_SECONDS = 30  # pg_ctl's wait for start and stop
COMMAND_SECONDS = 60.0  # any one command (initdb on a slow disk)
SUPERUSER = "postgres"
DATABASE = "gateway"

__all__ = ["DATABASE", "PgServer", "available", "pg_bin", "require", "running"]


def _version_key(path: str) -> tuple[int, ...]:
    parts = Path(path).parts
    try:
        return tuple(int(p) for p in parts[parts.index("postgresql") + 1].split("."))
    except (ValueError, IndexError):
        return (0,)


def pg_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (the newest installed version)."""
    given = os.environ.get(PG_BIN_ENV)
    if given:
        return Path(given) if (Path(given) / "initdb").is_file() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_root() -> bool:
    return os.geteuid() == 0


def available() -> str | None:
    """``None`` when a private server can run here, else the reason it cannot (for ``pytest.skip``)."""
    folder = pg_bin()
    if folder is None:
        return (
            "no initdb binary (looked in /usr/lib/postgresql/*/bin and on PATH; "
            f"install the postgresql server package or set {PG_BIN_ENV})"
        )
    for name in ("pg_ctl", "postgres", "pg_isready"):
        if not (folder / name).is_file():
            return f"{folder / name} is missing"
    if _as_root():
        if shutil.which("runuser") is None:
            return "running as root needs runuser to start PostgreSQL as the postgres user"
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return "running as root needs a 'postgres' OS user (PostgreSQL refuses to run as root)"
    return None


def require() -> None:
    """Skip the calling test when no private server can run (fail instead under ``CI``)."""
    import pytest

    why = available()
    if why is None:
        return
    message = f"a private PostgreSQL server cannot run here: {why}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} — CI is set, so these tests must run", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One private cluster: ``init()`` once, then ``start``/``stop``/``restart``/``kill``; ``cleanup()``."""

    def __init__(self, port: int = 0) -> None:
        folder = pg_bin()
        if folder is None:
            raise RuntimeError(str(available()))
        self.bin = folder
        self.port = port or free_port()
        self.host = "127.0.0.1"
        # Not under pytest's tmp_path: that is private to root (0700), and the server runs as
        # the postgres user when we are root. mkdtemp makes a 0700 folder we then hand over.
        self.root = Path(tempfile.mkdtemp(prefix="gw-pgserver-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log = self.root / "postgres.log"
        self.running = False
        self._initialised = False

    # -- addresses -----------------------------------------------------------------------

    def url(self, database: str = DATABASE) -> str:
        """A SQLAlchemy URL (psycopg 3) for ``database`` on this server, over TCP on loopback."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = DATABASE) -> str:
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database} connect_timeout=3"

    # -- commands ------------------------------------------------------------------------

    def _run(self, *args: str | Path, timeout: float = COMMAND_SECONDS, check: bool = True) -> str:
        command = [str(a) for a in args]
        if _as_root():
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}"
                f"\n--- server log ---\n{self.log_tail()}"
            )
        return done.stdout

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def init(self) -> None:
        """``initdb`` (trust auth, UTF-8, C locale) and the server settings; no server runs yet."""
        if self._initialised:
            return
        self.socket_dir.mkdir()
        if _as_root():
            entry = pwd.getpwnam(SUPERUSER)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            self.bin / "initdb",
            "-D",
            self.data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            "shared_buffers": "32MB",
            "max_connections": "100",
            "logging_collector": "off",
        }
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        conf = self.data / "postgresql.auto.conf"
        with conf.open("a") as out:  # root may write in the server user's 0700 folder
            out.write(lines)
        self._initialised = True

    def start(self) -> None:
        """Start (bounded) and wait until it accepts connections on its port."""
        self.init()
        self._run(
            self.bin / "pg_ctl",
            "start",
            "-D",
            self.data,
            "-l",
            self.log,
            "-w",
            "-t",
            str(START_SECONDS),
            timeout=START_SECONDS + 10,
        )
        self.running = True
        self.wait_ready()

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", self.host, "-p", str(self.port), "-t", "2"],
                capture_output=True,
                timeout=10,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"PostgreSQL on port {self.port} not ready within {timeout:.0f} s\n{self.log_tail()}"
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients disconnected, a clean shutdown; ``immediate``: a crash (recovery at start)."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"stop mode is smart, fast or immediate, not {mode!r}")
        if not self.running:
            return
        self._run(
            self.bin / "pg_ctl",
            "stop",
            "-D",
            self.data,
            "-m",
            mode,
            "-w",
            "-t",
            str(START_SECONDS),
            timeout=START_SECONDS + 10,
        )
        self.running = False

    def kill(self) -> None:
        """The server dies at once (``stop("immediate")``)."""
        self.stop("immediate")

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        """Stop (``mode``), stay down ``down_for`` seconds, start again on the same port."""
        self.stop(mode)
        if down_for > 0:
            time.sleep(down_for)
        self.start()

    def create_database(self, name: str = DATABASE) -> str:
        """``CREATE DATABASE name``; returns its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def cleanup(self) -> None:
        """Stop whatever runs (immediately) and remove the folder; safe to call more than once."""
        try:
            if self.running or (self.data / "postmaster.pid").exists():
                self.running = True
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running(*, database: str | None = DATABASE) -> Iterator[PgServer]:
    """A started private server (with ``database`` created), always cleaned up."""
    server = PgServer()
    try:
        server.start()
        if database:
            server.create_database(database)
        yield server
    finally:
        server.cleanup()
