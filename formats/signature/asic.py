"""ASiC-E containers (ETSI EN 319 162-1) with a detached XAdES signature: any file, CII above all.

The UN/CEFACT CII D16B schema has no element a ``ds:Signature`` could live in, so a CII
invoice cannot be signed in place without becoming schema-invalid. The standard answer is a
detached signature shipped beside the untouched invoice in an ASiC-E container: a ZIP whose
first entry is ``mimetype`` (stored, no extra field, so the media type sits at byte 38 where
file-type sniffers look for it), then the data files, then ``META-INF/manifest.xml`` (the
OpenDocument manifest many ASiC-E readers expect) and ``META-INF/signatures001.xml``: an
``asic:XAdESSignatures`` root holding a XAdES baseline B-B signature (B-T with a time-stamp)
whose ``ds:Reference`` URIs are the data files' names, digested byte for byte with SHA-256,
plus the reference to the SignedProperties (SigningTime, SigningCertificateV2 and one
DataObjectFormat per file). The invoice inside stays byte-identical, so it still validates.

The container is deterministic: every entry carries the signing time as its timestamp,
entries after ``mimetype`` are sorted by name, and nothing else varies (apart from the
randomness of ECDSA and the time-stamp token).

``verify_asic`` reads the ZIP as hostile input: bounded archive size, entry count (read from
the end-of-central-directory record before ``zipfile`` builds its index) and per-entry and
total uncompressed sizes (the declared size is checked, and reading stops past the limit
whatever it declares: zip bombs); names with traversal, absolute paths, backslashes,
drive letters or duplicates are refused, as are encrypted entries and compression methods
other than stored and deflate. Each signature is then verified without signxml (which only
resolves same-document references): every reference digest against the named entry's bytes,
the SignedProperties digest, the signature value, the SigningCertificate(V2) digest, the
time-stamp, and the certificate chain at the signing (or time-stamp) time. It covers the
whole document only if every data file in the container is referenced: a file added after
signing is named in the report. The XAdES pieces shared with the enveloped signatures
(certificate, SigningTime and time-stamp checks, adding the time-stamp) come from
``xades.py``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree

from formats.errors import InvoiceInputError, ParseError, SigningError
from formats.signature.keys import SigningIdentity, describe
from formats.signature.report import SignatureResult, VerificationReport
from formats.signature.timestamp import Timestamper
from formats.signature.trust import TrustStore
from formats.signature.xades import (
    C14N_METHODS,
    DS,
    EXC_C14N,
    MAX_SIGNATURES,
    MAX_XML_BYTES,
    SIGNED_PROPERTIES_TYPE,
    XADES,
    _add_timestamp,
    _certificates,
    _signing_certificate,
    _timestamp,
    _xades_time,
    _xml_time,
)
from formats.xmlsafe import parse as parse_xml

__all__ = [
    "MAX_ARCHIVE_BYTES",
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "MEDIA_TYPE",
    "contents",
    "is_asic",
    "sign_asic",
    "valid_name",
    "verify_asic",
]

MEDIA_TYPE = "application/vnd.etsi.asic-e+zip"
ASIC = "http://uri.etsi.org/02918/v1.2.1#"
MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
SIGNATURE_FILE = "META-INF/signatures001.xml"
MANIFEST_FILE = "META-INF/manifest.xml"

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
"""Largest container read or written."""
MAX_ENTRIES = 64
"""Most ZIP entries (mimetype, data files, META-INF files) one container may have."""
MAX_CENTRAL_DIRECTORY = MAX_ENTRIES * 1024
"""Largest central directory: room for every entry's name and ordinary extra fields."""
MAX_ENTRY_BYTES = MAX_XML_BYTES
"""Largest uncompressed data file: as large as an XML invoice the gateway signs in place."""
MAX_TOTAL_BYTES = 64 * 1024 * 1024
"""Largest sum of uncompressed entries."""
MAX_SIGNATURE_FILE_BYTES = 1024 * 1024
"""Largest signature file: a XAdES-T signature with its chain is a few tens of KB."""
MAX_NAME = 255

_XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_LOCAL_HEADER = b"PK\x03\x04"
_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RESERVED = {"mimetype", "meta-inf"}
_SIGNATURES = re.compile(r"META-INF/[^/]*signatures[^/]*\.xml")
_CADES = re.compile(r"META-INF/[^/]*signature[^/]*\.p7s")
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)

_MEDIA_TYPES = {
    ".xml": "application/xml",
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".txt": "text/plain",
    ".csv": "text/csv",
}
_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256(),
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384(),
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512(),
}
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_SIGNATURE_METHODS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("RSA", hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("RSA", hashes.SHA384()),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("RSA", hashes.SHA512()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ECDSA", hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ECDSA", hashes.SHA384()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ECDSA", hashes.SHA512()),
}
_SIGN_WITH = {
    "RSA": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "ECDSA": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
}

SIGNATURE_ID = "S0"
SIGNED_PROPERTIES_ID = f"{SIGNATURE_ID}-signed-properties"


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes:
    return base64.b64decode("".join((text or "").split()), validate=True)


# ---------------------------------------------------------------------------- names


def valid_name(name: str) -> bool:
    """Whether ``sign_asic`` accepts ``name`` for a data file.

    ASCII letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit, at most
    255 characters, no ``..``, not ``mimetype`` or ``META-INF``: no separator, so no path
    and no traversal, and the name is its own URI reference (nothing to percent-encode).
    """
    return (
        len(name) <= MAX_NAME
        and _SAFE_NAME.fullmatch(name) is not None
        and ".." not in name
        and name.lower() not in _RESERVED
    )


def _media_type(name: str) -> str:
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return _MEDIA_TYPES.get(suffix, "application/octet-stream")


# ---------------------------------------------------------------------------- signing


def _signature_value(identity: SigningIdentity, data: bytes) -> bytes:
    """RSA PKCS#1 v1.5, or ECDSA as XML-DSig wants it: r and s, fixed width, not DER."""
    key = identity.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    width = (key.curve.key_size + 7) // 8
    return r.to_bytes(width, "big") + s.to_bytes(width, "big")


def _signature(files: Mapping[str, bytes], identity: SigningIdentity, when: datetime) -> etree._Element:
    root = etree.Element(_q(ASIC, "XAdESSignatures"), nsmap={"asic": ASIC, "ds": DS})
    signature = etree.SubElement(root, _q(DS, "Signature"), Id=SIGNATURE_ID)
    signed_info = etree.SubElement(signature, _q(DS, "SignedInfo"))
    etree.SubElement(signed_info, _q(DS, "CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _q(DS, "SignatureMethod"), Algorithm=_SIGN_WITH[identity.algorithm])
    reference_ids: dict[str, str] = {}
    for number, name in enumerate(sorted(files), 1):
        reference_ids[name] = f"{SIGNATURE_ID}-reference-{number}"
        reference = etree.SubElement(
            signed_info, _q(DS, "Reference"), Id=reference_ids[name], URI=quote(name, safe="")
        )
        etree.SubElement(reference, _q(DS, "DigestMethod"), Algorithm=SHA256)
        etree.SubElement(reference, _q(DS, "DigestValue")).text = _b64(_digest(hashes.SHA256(), files[name]))
    value = etree.SubElement(signature, _q(DS, "SignatureValue"), Id=f"{SIGNATURE_ID}-signature-value")
    key_info = etree.SubElement(signature, _q(DS, "KeyInfo"))
    x509_data = etree.SubElement(key_info, _q(DS, "X509Data"))
    for certificate in (identity.certificate, *identity.chain):
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(x509_data, _q(DS, "X509Certificate")).text = _b64(der)

    obj = etree.SubElement(signature, _q(DS, "Object"))
    qualifying = etree.SubElement(
        obj, _q(XADES, "QualifyingProperties"), Target=f"#{SIGNATURE_ID}", nsmap={"xades": XADES}
    )
    signed = etree.SubElement(qualifying, _q(XADES, "SignedProperties"), Id=SIGNED_PROPERTIES_ID)
    properties = etree.SubElement(signed, _q(XADES, "SignedSignatureProperties"))
    etree.SubElement(properties, _q(XADES, "SigningTime")).text = _xml_time(when)
    # EN 319 132-1 baseline: SigningCertificateV2 (no schema here pins the 1.3.2 V1 form).
    cert = etree.SubElement(
        etree.SubElement(properties, _q(XADES, "SigningCertificateV2")), _q(XADES, "Cert")
    )
    cert_digest = etree.SubElement(cert, _q(XADES, "CertDigest"))
    etree.SubElement(cert_digest, _q(DS, "DigestMethod"), Algorithm=SHA256)
    etree.SubElement(cert_digest, _q(DS, "DigestValue")).text = _b64(
        identity.certificate.fingerprint(hashes.SHA256())
    )
    data_objects = etree.SubElement(signed, _q(XADES, "SignedDataObjectProperties"))
    for name in sorted(files):
        data_format = etree.SubElement(
            data_objects, _q(XADES, "DataObjectFormat"), ObjectReference=f"#{reference_ids[name]}"
        )
        etree.SubElement(data_format, _q(XADES, "MimeType")).text = _media_type(name)

    reference = etree.SubElement(
        signed_info, _q(DS, "Reference"), Type=SIGNED_PROPERTIES_TYPE, URI=f"#{SIGNED_PROPERTIES_ID}"
    )
    transforms = etree.SubElement(reference, _q(DS, "Transforms"))
    etree.SubElement(transforms, _q(DS, "Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, _q(DS, "DigestMethod"), Algorithm=SHA256)
    canonical = etree.tostring(signed, method="c14n", exclusive=True)
    etree.SubElement(reference, _q(DS, "DigestValue")).text = _b64(_digest(hashes.SHA256(), canonical))

    value.text = _b64(_signature_value(identity, etree.tostring(signed_info, method="c14n", exclusive=True)))
    return root


def _manifest(files: Mapping[str, bytes]) -> bytes:
    root = etree.Element(_q(MANIFEST, "manifest"), nsmap={"manifest": MANIFEST})
    entries = [("/", MEDIA_TYPE), *((name, _media_type(name)) for name in sorted(files))]
    for path, media_type in entries:
        etree.SubElement(
            root,
            _q(MANIFEST, "file-entry"),
            {_q(MANIFEST, "full-path"): path, _q(MANIFEST, "media-type"): media_type},
        )
    return _XML_HEAD + etree.tostring(root, encoding="UTF-8") + b"\n"


def _zip(entries: Mapping[str, bytes], when: datetime) -> bytes:
    """``mimetype`` first (stored, no extra field), then the entries sorted, all dated ``when``."""
    stamp = max(when, _ZIP_EPOCH).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", allowZip64=False) as archive:
        # The data files, then META-INF: the order ASiC-E readers expect, and a fixed one.
        for name in ["mimetype", *sorted(entries, key=lambda n: (n.startswith("META-INF/"), n))]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, wherever it runs: same bytes on every platform
            info.external_attr = 0o100644 << 16
            stored = name == "mimetype"
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            content = MEDIA_TYPE.encode("ascii") if stored else entries[name]
            archive.writestr(info, content, compresslevel=None if stored else 9)
    return buffer.getvalue()


def sign_asic(
    files: Mapping[str, bytes],
    identity: SigningIdentity,
    *,
    timestamper: Timestamper | None = None,
    signing_time: datetime | None = None,
) -> bytes:
    """An ASiC-E container holding ``files`` (name → bytes) and one XAdES signature over all.

    XAdES baseline B-B, B-T with a ``timestamper``. ``SigningError`` (nothing produced) when
    the identity may not sign at ``signing_time`` (default: now), a name is not a safe file
    name (see ``valid_name``), there is no file, or the container would exceed the limits a
    verifier applies.
    """
    when = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    identity.check(when)
    if not files:
        raise SigningError("an ASiC-E container needs at least one file to sign")
    bad = [name for name in files if not valid_name(name)]
    if bad:
        raise SigningError(
            f"cannot put {bad[0][:80]!r} in an ASiC-E container: a file name must be 1 to {MAX_NAME} ASCII "
            "letters, digits, '.', '_' or '-', start with a letter or digit, contain no '..' and not be "
            "'mimetype' or 'META-INF' (no path separators)"
        )
    lowered = [name.lower() for name in files]
    if len(set(lowered)) != len(lowered):
        raise SigningError("two file names differ only in case: they would collide when extracted")
    if len(files) + 3 > MAX_ENTRIES:
        raise SigningError(f"{len(files)} files: an ASiC-E container holds at most {MAX_ENTRIES - 3}")
    for name, content in files.items():
        if len(content) > MAX_ENTRY_BYTES:
            raise SigningError(f"{name} is {len(content)} bytes; the limit per file is {MAX_ENTRY_BYTES}")
    if sum(len(content) for content in files.values()) > MAX_TOTAL_BYTES - MAX_SIGNATURE_FILE_BYTES:
        raise SigningError(f"the files are larger than the container limit of {MAX_TOTAL_BYTES} bytes")

    root = _signature(files, identity, when)
    if timestamper is not None:
        signature = root.find(_q(DS, "Signature"))
        assert signature is not None
        _add_timestamp(signature, timestamper)
    signatures = _XML_HEAD + etree.tostring(root, encoding="UTF-8") + b"\n"
    return _zip({**files, MANIFEST_FILE: _manifest(files), SIGNATURE_FILE: signatures}, when)


# ---------------------------------------------------------------------------- reading


@dataclass
class _Container:
    files: dict[str, bytes] = field(default_factory=dict)  # data files, in archive order
    signatures: dict[str, bytes] = field(default_factory=dict)  # META-INF/*signatures*.xml
    cades: list[str] = field(default_factory=list)  # META-INF/*signature*.p7s (not verified)


def is_asic(data: bytes) -> bool:
    """Whether ``data`` starts like an ASiC-E container (``mimetype`` first, this media type)."""
    media = MEDIA_TYPE.encode("ascii")
    return (
        data.startswith(_LOCAL_HEADER) and data[30:38] == b"mimetype" and data[38 : 38 + len(media)] == media
    )


def _refuse(message: str) -> InvoiceInputError:
    return InvoiceInputError(f"cannot read the ASiC-E container: {message}")


def _central_directory(data: bytes) -> tuple[int, int]:
    """(entries, central directory bytes) from the end record, found as ``zipfile`` finds it.

    Read before ``zipfile`` builds its index, which walks the whole central directory
    whatever the entry count says: bounding its size bounds that work.
    """
    start = len(data) - 22
    if start < 0:
        raise _refuse("it is too short to be a ZIP archive")
    if data[start : start + 4] != _END_RECORD or data[start + 20 : start + 22] != b"\x00\x00":
        start = data.rfind(_END_RECORD, max(0, len(data) - 22 - 65535))
        if start < 0 or start + 22 > len(data):
            raise _refuse("it has no ZIP end-of-central-directory record (not a ZIP archive, or truncated)")
    if start >= 20 and data[start - 20 : start - 16] == _ZIP64_LOCATOR:
        raise _refuse("it is a ZIP64 archive; containers that large are not accepted")
    total, size = struct.unpack("<HI", data[start + 10 : start + 16])
    return int(total), int(size)


def _check_name(name: str) -> None:
    shown = name[:80]
    if not name or len(name) > MAX_NAME:
        raise _refuse(f"an entry name is empty or longer than {MAX_NAME} characters ({shown!r})")
    if any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise _refuse(f"the entry name {shown!r} contains control characters")
    if name.startswith("/") or "\\" in name or ":" in name:
        raise _refuse(f"the entry name {shown!r} is an absolute path or not a plain relative path")
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if any(part in {"", ".", ".."} for part in parts):
        raise _refuse(f"the entry name {shown!r} has an empty, '.' or '..' segment (path traversal)")


def _check_mimetype(data: bytes, first: zipfile.ZipInfo) -> None:
    if first.filename != "mimetype" or first.header_offset != 0:
        raise _refuse(
            f"its first entry is {first.filename[:80]!r}, not 'mimetype' (EN 319 162-1: the first entry "
            f"names the media type {MEDIA_TYPE})"
        )
    if first.compress_type != zipfile.ZIP_STORED:
        raise _refuse("the 'mimetype' entry is compressed; it must be stored")
    (extra,) = struct.unpack("<H", data[28:30])
    if extra or first.extra:
        raise _refuse("the 'mimetype' entry has an extra field; it must have none")


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, never more than ``limit`` whatever its header declares."""
    if info.file_size > limit:
        raise _refuse(
            f"{info.filename[:80]} declares {info.file_size} bytes uncompressed; the limit is {limit}"
        )
    with archive.open(info) as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise _refuse(f"{info.filename[:80]} inflates to more than {limit} bytes (a zip bomb?)")
    return content


def _open(data: bytes) -> _Container:
    if len(data) > MAX_ARCHIVE_BYTES:
        raise _refuse(f"it is {len(data)} bytes; the limit is {MAX_ARCHIVE_BYTES}")
    if not data.startswith(_LOCAL_HEADER):
        raise _refuse("it is not a ZIP archive")
    declared, directory = _central_directory(data)
    if declared > MAX_ENTRIES:
        raise _refuse(f"it declares {declared} entries; the limit is {MAX_ENTRIES}")
    if directory > MAX_CENTRAL_DIRECTORY:
        raise _refuse(f"its central directory is {directory} bytes; the limit is {MAX_CENTRAL_DIRECTORY}")
    container = _Container()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if not infos:
                raise _refuse("the ZIP archive is empty")
            if len(infos) > MAX_ENTRIES:
                raise _refuse(f"it has {len(infos)} entries; the limit is {MAX_ENTRIES}")
            _check_mimetype(data, infos[0])
            seen: set[str] = set()
            total = 0
            for info in infos:
                name = info.filename
                _check_name(name)
                if name.lower() in seen:
                    raise _refuse(f"the entry {name[:80]!r} appears twice (or twice in different case)")
                seen.add(name.lower())
                if info.flag_bits & 0x1:
                    raise _refuse(f"the entry {name[:80]} is encrypted")
                if info.compress_type not in {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}:
                    raise _refuse(f"the entry {name[:80]} uses compression method {info.compress_type}")
                signature_file = _SIGNATURES.fullmatch(name) is not None
                limit = MAX_SIGNATURE_FILE_BYTES if signature_file else MAX_ENTRY_BYTES
                total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise _refuse(f"its entries declare more than {MAX_TOTAL_BYTES} bytes uncompressed")
                if name.endswith("/"):
                    if info.file_size:
                        raise _refuse(f"the folder entry {name[:80]} has content")
                    continue
                content = _entry(archive, info, limit)
                if name == "mimetype":
                    if info is not infos[0]:
                        raise _refuse("a second 'mimetype' entry")
                    if content != MEDIA_TYPE.encode("ascii"):
                        raise _refuse(f"the 'mimetype' entry is {content[:80]!r}, not {MEDIA_TYPE!r}")
                elif signature_file:
                    container.signatures[name] = content
                elif _CADES.fullmatch(name):
                    container.cades.append(name)
                elif not name.startswith("META-INF/"):
                    container.files[name] = content
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise _refuse(f"the ZIP archive is damaged: {exc}") from None
    except (ValueError, OSError, struct.error) as exc:
        raise _refuse(f"the ZIP archive is malformed: {exc}") from None
    return container


def _signature_elements(name: str, content: bytes) -> list[etree._Element]:
    try:
        root = parse_xml(content, max_bytes=MAX_SIGNATURE_FILE_BYTES)
    except ParseError as exc:
        raise InvoiceInputError(f"cannot read the signature file {name}: {exc}") from None
    if root.tag != _q(ASIC, "XAdESSignatures"):
        raise InvoiceInputError(
            f"the signature file {name} has the root {root.tag[:120]}, not asic:XAdESSignatures ({ASIC})"
        )
    return [child for child in root if child.tag == _q(DS, "Signature")]


def _file_name(uri: str) -> str | None:
    """The container entry a reference URI names, or None if it points anywhere else."""
    if not uri or uri.startswith(("#", "/")) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", uri) or "?" in uri:
        return None
    name = unquote(uri.removeprefix("./"))
    parts = name.split("/")
    if any(part in {"", ".", ".."} for part in parts) or name.startswith("META-INF/"):
        return None
    return name


# ---------------------------------------------------------------------------- verifying


def _c14n(element: etree._Element, algorithm: str) -> bytes:
    # C14N 1.1 differs from 1.0 only for xml:id/xml:base/xml:space inheritance, which
    # signatures never use on these elements; lxml implements 1.0 (as signxml does).
    return etree.tostring(
        element,
        method="c14n",
        exclusive="xml-exc-c14n" in algorithm,
        with_comments=algorithm.endswith("WithComments"),
    )


def _check_reference(
    number: int,
    reference: etree._Element,
    signature: etree._Element,
    container: _Container,
    covered: set[str],
    problems: list[str],
) -> tuple[bool, bool]:
    """(the digest matches, the reference is the SignedProperties one)."""
    uri = reference.get("URI")
    shown = repr(uri[:120]) if uri is not None else "no URI"
    method = reference.find(_q(DS, "DigestMethod"))
    algorithm = _DIGESTS.get(method.get("Algorithm", "") if method is not None else "")
    if algorithm is None:
        problems.append(
            f"reference {number} ({shown}) uses a digest algorithm not accepted (SHA-256/384/512)"
        )
        return False, False
    try:
        expected = _unb64(reference.findtext(_q(DS, "DigestValue")))
    except binascii.Error:
        problems.append(f"reference {number} ({shown}): the digest value is not base64")
        return False, False
    transforms = [
        t.get("Algorithm") or "" for t in reference.iterfind(f"{_q(DS, 'Transforms')}/{_q(DS, 'Transform')}")
    ]
    if uri is not None and uri.startswith("#"):
        targets = [e for e in signature.iter() if isinstance(e.tag, str) and e.get("Id") == uri[1:]]
        if len(targets) != 1:
            problems.append(
                f"reference {number} ({shown}) names {len(targets)} elements in the signature, not one"
            )
            return False, False
        if len(transforms) > 1 or any(t not in C14N_METHODS for t in transforms):
            problems.append(
                f"reference {number} ({shown}) uses transforms not accepted: {', '.join(transforms)}"
            )
            return False, False
        target = targets[0]
        canonical = _c14n(
            target, transforms[0] if transforms else "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
        )
        what = (
            "the signed properties" if target.tag == _q(XADES, "SignedProperties") else f"the element {uri}"
        )
        if _digest(algorithm, canonical) != expected:
            problems.append(
                f"reference {number} (URI={uri!r}, {what}): digest mismatch, it was changed after signing"
            )
            return False, False
        return True, target.tag == _q(XADES, "SignedProperties")
    name = _file_name(uri or "")
    if name is None:
        problems.append(
            f"reference {number} ({shown}) points outside the container's data files; nothing is fetched"
        )
        return False, False
    if transforms:
        problems.append(f"reference {number} ({name}) transforms the file; only its exact bytes are accepted")
        return False, False
    if name not in container.files:
        problems.append(
            f"reference {number} names {name!r}, which is not in the container (removed or renamed)"
        )
        return False, False
    covered.add(name)
    if _digest(algorithm, container.files[name]) != expected:
        problems.append(
            f"reference {number} (URI={uri!r}): digest mismatch, the file {name} was changed after signing"
        )
        return False, False
    return True, False


def _check_value(signature: etree._Element, signer: x509.Certificate, problems: list[str]) -> bool:
    signed_info = signature.find(_q(DS, "SignedInfo"))
    value = signature.find(_q(DS, "SignatureValue"))
    assert signed_info is not None
    c14n = signed_info.find(_q(DS, "CanonicalizationMethod"))
    c14n_algorithm = c14n.get("Algorithm", "") if c14n is not None else ""
    if c14n_algorithm not in C14N_METHODS:
        problems.append(f"ds:SignedInfo uses a canonicalization not accepted: {c14n_algorithm[:120]!r}")
        return False
    method = signed_info.find(_q(DS, "SignatureMethod"))
    family, algorithm = _SIGNATURE_METHODS.get(
        method.get("Algorithm", "") if method is not None else "", ("", None)
    )
    key = signer.public_key()
    if algorithm is None or family != ("RSA" if isinstance(key, rsa.RSAPublicKey) else "ECDSA"):
        problems.append("the signature method is not accepted or does not fit the signer's key")
        return False
    try:
        raw = _unb64(value.text if value is not None else None)
    except binascii.Error:
        problems.append("the signature value is not base64")
        return False
    data = _c14n(signed_info, c14n_algorithm)
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(raw, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            half = len(raw) // 2
            if not raw or len(raw) % 2:
                raise InvalidSignature
            der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
            key.verify(der, data, ec.ECDSA(algorithm))
        else:
            problems.append("the signer's key type is not supported")
            return False
    except InvalidSignature:
        problems.append(
            "the signature value does not verify with the signer certificate: the signed references were "
            "changed, or another key signed"
        )
        return False
    return True


def _well_shaped(signature: etree._Element, problems: list[str]) -> bool:
    """One SignedInfo, one SignatureValue, one SignedProperties aimed at this signature.

    The checks after this read "the" SignedInfo and "the" signed properties; a second copy
    (unsigned, placed where a lax lookup finds it first) is how signature wrapping works.
    """
    counts = {
        "ds:SignedInfo": len(signature.findall(_q(DS, "SignedInfo"))),
        "ds:SignatureValue": len(signature.findall(_q(DS, "SignatureValue"))),
        "xades:QualifyingProperties": len(
            signature.findall(f"{_q(DS, 'Object')}/{_q(XADES, 'QualifyingProperties')}")
        ),
        "xades:SignedProperties": len(list(signature.iter(_q(XADES, "SignedProperties")))),
    }
    wrong = [f"{count} {name}" for name, count in counts.items() if count != 1]
    if wrong:
        problems.append(f"the signature must hold exactly one of each, it has: {', '.join(wrong)}")
        return False
    qualifying = signature.find(f"{_q(DS, 'Object')}/{_q(XADES, 'QualifyingProperties')}")
    assert qualifying is not None
    if (
        qualifying.find(_q(XADES, "SignedProperties")) is None
        or qualifying.get("Target") != f"#{signature.get('Id')}"
    ):
        problems.append(
            "the xades:QualifyingProperties do not belong to this signature (Target or placement)"
        )
        return False
    return True


def _verify_one(signature: etree._Element, container: _Container, trust: TrustStore) -> SignatureResult:
    result = SignatureResult(kind="XAdES", level="XAdES-B-B")
    problems = result.problems
    certificates = _certificates(signature, problems)
    signer = _signing_certificate(signature, certificates, problems)
    shown = signer or (certificates[0] if certificates else None)
    if shown is not None:
        result.signer_subject = shown.subject.rfc4514_string()
        result.signer_issuer = shown.issuer.rfc4514_string()
        result.signer_serial = shown.serial_number
    result.signing_time = _xades_time(signature, problems)

    shaped = _well_shaped(signature, problems)
    signed_info = signature.find(_q(DS, "SignedInfo"))
    references = signed_info.findall(_q(DS, "Reference")) if shaped and signed_info is not None else []
    covered: set[str] = set()
    digests_ok = bool(references)
    properties_signed = False
    if len(references) > MAX_ENTRIES + 1:
        problems.append(f"the signature has {len(references)} references; at most {MAX_ENTRIES + 1} are read")
        digests_ok = False
    else:
        for number, reference in enumerate(references):
            ok, is_properties = _check_reference(number, reference, signature, container, covered, problems)
            digests_ok = digests_ok and ok
            properties_signed = properties_signed or (ok and is_properties)
    if (
        signature.find(f"{_q(DS, 'SignedInfo')}/{_q(DS, 'Reference')}[@Type='{SIGNED_PROPERTIES_TYPE}']")
        is None
    ):
        problems.append("no reference signs the xades:SignedProperties: not a XAdES signature")
    if not covered and digests_ok:
        problems.append("the signature references no data file of the container")
    value_ok = shaped and signer is not None and _check_value(signature, signer, problems)
    result.intact = digests_ok and value_ok and properties_signed and bool(covered)

    unsigned = [name for name in container.files if name not in covered]
    result.covers_whole_document = bool(covered) and not unsigned
    if unsigned:
        listed = ", ".join(repr(name[:80]) for name in unsigned[:5]) + (" …" if len(unsigned) > 5 else "")
        problems.append(
            f"the container holds {len(unsigned)} data file(s) this signature does not cover: {listed} "
            "(added after signing, or never signed)"
        )

    proven = _timestamp(signature, trust, result)
    if result.level == "XAdES-T":
        result.level = "XAdES-B-T"
    if signer is not None:
        at = proven or result.signing_time or datetime.now(UTC)
        others = [c for c in certificates if c is not signer]
        verdict = trust.check_chain(signer, others, at)
        result.trusted = verdict.trusted
        result.valid_at_signing_time = verdict.valid_at
        if verdict.reason:
            problems.append(f"the signer certificate {describe(signer)}: {verdict.reason}")
    return result


def verify_asic(data: bytes, trust: TrustStore) -> VerificationReport:
    """Every XAdES signature in the container, checked; ``InvoiceInputError`` only if unreadable.

    A container without any XAdES signature file reports no signature (not valid); CAdES
    signature files (``META-INF/*signature*.p7s``) are reported as not verified.
    """
    container = _open(data)
    report = VerificationReport(document_kind="ASiC-E")
    found = [(name, _signature_elements(name, content)) for name, content in container.signatures.items()]
    count = sum(len(signatures) for _, signatures in found)
    if count > MAX_SIGNATURES:
        raise InvoiceInputError(
            f"the container carries {count} signatures; at most {MAX_SIGNATURES} are verified"
        )
    for _name, signatures in found:
        for signature in signatures:
            report.signatures.append(_verify_one(signature, container, trust))
    for name in container.cades:
        report.signatures.append(
            SignatureResult(
                kind="CAdES",
                level="unknown",
                problems=[f"{name}: CAdES signatures in ASiC-E containers are not verified by the gateway"],
            )
        )
    return report


def contents(data: bytes) -> dict[str, bytes]:
    """The data files a signature in the container references, by name; call ``verify_asic`` first.

    Files no signature references (added beside the signed ones) are left out, so what is
    handed on is only what was signed, provided the report said the container is valid.
    ``InvoiceInputError`` when the container is unreadable or has no XAdES signature.
    """
    container = _open(data)
    referenced: set[str] = set()
    for name, content in container.signatures.items():
        for signature in _signature_elements(name, content):
            signed_info = signature.find(_q(DS, "SignedInfo"))
            if signed_info is None or not _well_shaped(signature, []):
                continue
            for reference in signed_info.iterfind(_q(DS, "Reference")):
                file_name = _file_name(reference.get("URI") or "")
                if file_name is not None:
                    referenced.add(file_name)
    if not container.signatures:
        raise InvoiceInputError(
            "the ASiC-E container has no XAdES signature file (META-INF/*signatures*.xml)"
        )
    return {name: content for name, content in container.files.items() if name in referenced}
