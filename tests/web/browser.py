"""The dashboard's end-to-end harness: a real ``gateway serve`` and Debian's chromium.

``running_gateway(folder)`` starts ``python -m gateway serve --port <free>`` as a subprocess
on SQLite in a temporary ``GATEWAY_HOME`` (with its own ``GATEWAY_MASTER_KEY``; the in-process
runner delivers), after ``python -m gateway tenant create`` has made a tenant and printed its
key. ``RunningGateway.api`` calls the JSON API with that key (stdlib ``urllib``: nothing to
mock, nothing to install). ``chromium()`` launches ``/usr/bin/chromium`` through Playwright,
headless; no browser is ever downloaded. Without chromium (or Playwright) the tests skip,
saying so, except under ``CI=1`` where they fail.

Every wait is bounded: the server's start (``START_TIMEOUT``), each API call, each page action
(``PAGE_TIMEOUT_MS``) and each poll (``poll_page``).

Screenshots go to ``$GATEWAY_SCREENSHOTS`` or ``tests/web/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
CHROMIUM = Path(os.environ.get("GATEWAY_CHROMIUM", "/usr/bin/chromium"))
START_TIMEOUT = 60.0
API_TIMEOUT = 60.0
PAGE_TIMEOUT_MS = 15_000
# small enough for a test to go over it cheaply (the Validate page's 413)
MAX_UPLOAD_BYTES = 1024 * 1024
_STRIPPED_ENV = {"GATEWAY_DATABASE_URL", "GATEWAY_TENANT", "GATEWAY_RUNNER", "GATEWAY_HOME", "GATEWAY_DEBUG"}


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("GATEWAY_SCREENSHOTS") or ROOT / "tests" / "web" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_browser() -> None:
    """Skip (fail under ``CI=1``) when chromium or Playwright is not there; callable at module level."""
    reason = None
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the Python package playwright is not installed (pip install -e '.[dev]')"
    if reason is None:
        return
    if os.environ.get("CI") == "1":
        pytest.fail(f"browser tests need chromium: {reason}")
    pytest.skip(f"browser tests need chromium: {reason}", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningGateway:
    url: str
    home: Path
    env: dict[str, str]
    key: str
    process: subprocess.Popen[bytes]
    log: Path
    recipients: dict[str, str] = field(default_factory=dict)

    def api(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | None = None,
        *,
        content_type: str = "application/json",
        key: str | None = None,
    ) -> tuple[int, Any]:
        """``(status, parsed JSON body)`` of one API call with the tenant's key."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {"Authorization": f"Bearer {key or self.key}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"null")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m gateway ARGS`` on this gateway's home (the CLI, not the API)."""
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=API_TIMEOUT,
            check=False,
        )

    def create_tenant(self, name: str) -> str:
        """A new tenant; its API key."""
        return create_tenant(self.env, name)

    def submit(self, number: str, recipient: str, example: str = "de-domestic-b2b.json") -> dict[str, Any]:
        """Submit an example invoice (renumbered) through ``POST /v1/invoices``: the 202 body."""
        invoice = json.loads((EXAMPLES / example).read_text(encoding="utf-8"))
        invoice["number"] = number
        status, body = self.api("POST", f"/v1/invoices?recipient={self.recipients[recipient]}", invoice)
        assert status == 202, (status, body)
        return dict(body)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def create_tenant(env: dict[str, str], name: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "tenant", "create", name],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=API_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    keys = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    assert keys, f"no key printed: {done.stdout!r} {done.stderr!r}"
    return keys[-1]


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(encoding="utf-8", errors="replace")
            raise AssertionError(f"gateway serve exited with {process.returncode}:\n{text[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"gateway serve did not answer /readyz within {START_TIMEOUT:.0f} s")


def folder_recipient(name: str, path: Path) -> dict[str, Any]:
    return {
        "name": name,
        "buyer": {"name": "Hansen Logistik AG"},
        "formats": [{"kind": "ubl", "profile": "en16931"}],
        "channels": [{"type": "folder", "name": "archive", "settings": {"path": str(path)}}],
    }


@contextmanager
def running_gateway(folder: Path, tenant: str = "web-tests") -> Iterator[RunningGateway]:
    """A ``gateway serve`` subprocess with a tenant and two folder recipients:

    ``ok`` writes into ``folder/outbox`` (exists), ``failing`` into ``folder/missing`` (does
    not exist yet: the folder connector fails that delivery permanently until it is made).
    """
    home = folder / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
    env.update(
        GATEWAY_HOME=str(home),
        GATEWAY_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        GATEWAY_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
    )
    key = create_tenant(env, tenant)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(url, process, log)
        gateway = RunningGateway(url, home, env, key, process, log)
        (folder / "outbox").mkdir()
        for name, path in (("ok", folder / "outbox"), ("failing", folder / "missing")):
            status, body = gateway.api("POST", "/v1/recipients", folder_recipient(f"Buyer {name}", path))
            assert status == 201, (status, body)
            gateway.recipients[name] = body["id"]
        yield gateway
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"], timeout=PAGE_TIMEOUT_MS * 2
        )
        try:
            yield browser
        finally:
            browser.close()


def login(page: Page, gateway: RunningGateway, key: str | None = None) -> None:
    """Sign in through the login form (mouse-free is tested separately)."""
    page.goto(gateway.url + "/ui/login")
    page.get_by_label("API key").fill(key or gateway.key)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/ui/$"))


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot saved as a test artefact."""
    path = screenshots_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def poll_page(page: Page, check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Reload ``page`` until ``check()`` holds, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout:.0f} s")
        time.sleep(0.4)
        page.reload()
