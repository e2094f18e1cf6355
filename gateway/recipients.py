"""The recipient registry's input shapes: who the buyer is, what it wants, and how to reach it.

A recipient has formats (``ubl``/``cii``/``facturx`` with a profile, ``pdf``, ``cxml``) and
channels (``folder``, ``sftp``, ``email``, ``ariba``, ``http``). Each channel type has its own
settings model, checked here so a typo in a host or a missing pinned host key is a 422 at
registration, not a failed delivery at 3 a.m. Secret values (passwords, private keys, shared
secrets, tokens) are a separate ``secrets`` map whose allowed names depend on the type: the
store seals them (``repository.create_recipient``) and keeps only their names in clear, so
``recipient_public`` can say *that* a secret is set without ever being able to say what it is.

Everything is ``extra="forbid"``: an unknown field is a mistake the caller should hear about
(a misspelt ``host_key`` must not silently fall back to trusting any host).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import string
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from formats import cii, ubl
from formats.invoice.model import Buyer
from gateway.limits import DEFAULT_MAX_CONNECTIONS, MAX_CONNECTIONS

if TYPE_CHECKING:
    from gateway.store.models import Recipient

__all__ = [
    "CHANNEL_TYPES",
    "FORMAT_KINDS",
    "REMOTE_PATH_FIELDS",
    "SECRET_NAMES",
    "AribaChannel",
    "AribaIdentity",
    "AribaSettings",
    "ChannelIn",
    "EmailChannel",
    "EmailSettings",
    "FolderChannel",
    "FolderSettings",
    "FormatIn",
    "HttpChannel",
    "HttpSettings",
    "RecipientError",
    "RecipientIn",
    "RecipientPatch",
    "SftpChannel",
    "SftpSettings",
    "channel_settings",
    "check_required_secrets",
    "check_url",
    "recipient_public",
]

FORMAT_KINDS = ("ubl", "cii", "facturx", "pdf", "cxml")
CHANNEL_TYPES = ("folder", "sftp", "email", "ariba", "http")
# which secret names each channel type accepts (anything else is refused, never stored)
SECRET_NAMES: dict[str, frozenset[str]] = {
    "folder": frozenset(),
    "sftp": frozenset({"password", "private_key", "passphrase"}),
    "email": frozenset({"password"}),
    "ariba": frozenset({"shared_secret"}),
    "http": frozenset({"bearer_token", "basic_password", "hmac_secret"}),
}
REMOTE_PATH_FIELDS = frozenset({"invoice_number", "invoice_id", "recipient", "filename"})

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_HOST = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_EMAIL = re.compile(r"[^@\s<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}")
# an OpenSSH public key line ("ssh-ed25519 AAAA…") or its fingerprint ("SHA256:…")
_HOST_KEY = re.compile(
    r"(?:(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com)"
    r" [A-Za-z0-9+/]{16,}={0,2}(?: \S.*)?|SHA256:[A-Za-z0-9+/]{43}=?)"
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# headers whose value is a credential: they belong in ``secrets`` (sealed), not in settings
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# headers the HTTP connector computes (framing, idempotency, signature): never from settings
_RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "idempotency-key",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


class RecipientError(ValueError):
    """A recipient that parses but cannot work (e.g. an SFTP channel left without credentials)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value.strip("[]"))
        return value
    except ValueError:
        pass
    if _HOST.fullmatch(value) is None:
        raise ValueError(f"{value!r} is not a host name or IP address")
    return value.lower()


def _is_loopback(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(value: str, *, allow_loopback_http: bool) -> str:
    """``https://`` with a host (``http://`` only to a loopback host when allowed); no credentials."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{value!r} is not an absolute https:// URL")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in the URL: put them in the channel's secrets")
    if parts.scheme == "http" and not (allow_loopback_http and _is_loopback(host)):
        raise ValueError(f"{value!r} must use https:// (plain http is allowed only to a loopback host)")
    _host(host)
    return value


# ---------------------------------------------------------------------------- formats


class FormatIn(_Strict):
    kind: Literal["ubl", "cii", "facturx", "pdf", "cxml"]
    profile: str | None = None

    @model_validator(mode="after")
    def _profile_known(self) -> FormatIn:
        if self.kind == "ubl":
            known: dict[str, Any] = ubl.PROFILES
        elif self.kind in ("cii", "facturx"):
            known = cii.PROFILES
        else:
            if self.profile is not None:
                raise ValueError(f"format {self.kind!r} has no profiles; leave 'profile' out")
            return self
        if self.profile is None:
            self.profile = "en16931"
        elif self.profile not in known:
            raise ValueError(
                f"unknown {self.kind} profile {self.profile!r}; choose one of {', '.join(known)}"
            )
        return self


# ---------------------------------------------------------------------------- channel settings


def _max_connections(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONNECTIONS:
        raise ValueError(
            f"max_connections must be a whole number from 1 to {MAX_CONNECTIONS} "
            f"(deliveries at once to this server), not {value!r}"
        )
    return value


MaxConnections = Annotated[
    int | None,
    BeforeValidator(_max_connections),
    Field(
        default=None,
        description="At most this many deliveries at once to the server this channel connects to "
        "(shared by every channel on that server; see gateway/limits.py). Default: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_MAX_CONNECTIONS.items())
        + ", no limit for the others.",
    ),
]


class FolderSettings(_Strict):
    path: str = Field(min_length=1)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not (PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()):
            raise ValueError(f"the folder path must be absolute, not {value!r}")
        return value


class SftpSettings(_Strict):
    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    remote_path: str = Field(default="{filename}", min_length=1)
    # pinned: there is no "trust on first use" — an unknown host key fails the delivery
    host_key: str = Field(min_length=1)
    max_connections: MaxConnections

    @field_validator("host")
    @classmethod
    def _host_name(cls, value: str) -> str:
        return _host(value)

    @field_validator("remote_path")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ValueError(f"remote_path {value!r} is not a valid template: {exc}") from None
        unknown = sorted({f for f in fields if f not in REMOTE_PATH_FIELDS})
        if unknown:
            raise ValueError(
                f"remote_path uses unknown placeholder(s) {', '.join('{' + f + '}' for f in unknown)}; "
                f"allowed: {', '.join('{' + f + '}' for f in sorted(REMOTE_PATH_FIELDS))}"
            )
        if ".." in PurePosixPath(value).parts:
            raise ValueError("remote_path must not contain '..'")
        return value

    @field_validator("host_key")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if _HOST_KEY.fullmatch(value) is None:
            raise ValueError(
                "host_key must be the server's public key as in known_hosts ('ssh-ed25519 AAAA…') "
                "or its fingerprint ('SHA256:…')"
            )
        return value


def _email(value: str) -> str:
    if _EMAIL.fullmatch(value) is None:
        raise ValueError(f"{value!r} is not an email address")
    return value


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")


def _ca_pem(value: str | None) -> str | None:
    if value is not None and _PEM_CERT.search(value) is None:
        raise ValueError("tls_ca_pem must hold one or more PEM certificates ('-----BEGIN CERTIFICATE-----')")
    return value


class EmailSettings(_Strict):
    to: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # STARTTLS on a plain connection (587/25); ``implicit_tls`` is TLS from the first byte
    # (465) and makes ``starttls`` irrelevant. Neither: plain text, only to a loopback relay.
    starttls: bool = True
    implicit_tls: bool = False
    username: str | None = None
    # a private CA to trust instead of the system store (the server certificate is always verified)
    tls_ca_pem: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=300)
    # the template language when the pipeline does not pass the invoice's own (en, fr, de)
    language: str | None = None
    max_connections: MaxConnections

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str]) -> list[str]:
        return [_email(v.strip()) for v in value]

    @field_validator("from_")
    @classmethod
    def _from(cls, value: str) -> str:
        return _email(value)

    @field_validator("smtp_host")
    @classmethod
    def _smtp_host(cls, value: str) -> str:
        return _host(value)

    @field_validator("tls_ca_pem")
    @classmethod
    def _ca(cls, value: str | None) -> str | None:
        return _ca_pem(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and _LANGUAGE.fullmatch(value) is None:
            raise ValueError(f"{value!r} is not a language tag (e.g. 'en', 'fr', 'de-AT')")
        return value

    @model_validator(mode="after")
    def _no_clear_text_credentials(self) -> EmailSettings:
        if not (self.starttls or self.implicit_tls) and not _is_loopback(self.smtp_host):
            raise ValueError(
                "without starttls or implicit_tls the connection is plain text: only to a loopback host"
            )
        return self


class AribaIdentity(_Strict):
    domain: str = Field(min_length=1, max_length=100)  # NetworkID, DUNS, …
    identity: str = Field(min_length=1, max_length=200)


class AribaSettings(_Strict):
    url: str
    from_: AribaIdentity = Field(alias="from")
    to: AribaIdentity
    sender: AribaIdentity
    deployment_mode: Literal["test", "production"] = "production"
    max_connections: MaxConnections

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_url(value, allow_loopback_http=False)


class HttpSettings(_Strict):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    # the user name of HTTP basic authentication (its password is the 'basic_password' secret)
    username: str | None = Field(default=None, min_length=1, max_length=200)
    tls_ca_pem: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=300)
    max_connections: MaxConnections

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_url(value, allow_loopback_http=True)

    @field_validator("username")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and (":" in value or any(ord(c) < 32 for c in value)):
            raise ValueError("a basic-auth user name must not contain ':' or control characters")
        return value

    @field_validator("tls_ca_pem")
    @classmethod
    def _ca(cls, value: str | None) -> str | None:
        return _ca_pem(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if _HEADER_NAME.fullmatch(name) is None:
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if name.lower() in _CREDENTIAL_HEADERS:
                raise ValueError(
                    f"header {name!r} carries a credential: use the 'bearer_token' or 'basic_password' secret"
                )
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the gateway itself")
            if "\r" in header or "\n" in header:
                raise ValueError(f"header {name!r} contains a line break")
        return value


# ---------------------------------------------------------------------------- channels


class _Channel(_Strict):
    name: str = Field(description="unique within the recipient: names its deliveries and sealed secrets")
    secrets: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if _NAME.fullmatch(value) is None:
            raise ValueError(
                f"channel name {value!r}: 1 to 100 characters from A-Z, a-z, 0-9, '.', '_' and '-', "
                "starting with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _secret_names(self) -> _Channel:
        kind: str = getattr(self, "type")  # noqa: B009 - every subclass declares it
        allowed = SECRET_NAMES[kind]
        unknown = sorted(set(self.secrets) - allowed)
        if unknown:
            shown = ", ".join(sorted(allowed)) or "none"
            raise ValueError(f"a {kind} channel takes no secret {', '.join(unknown)} (allowed: {shown})")
        if any(not v for v in self.secrets.values()):
            raise ValueError("a secret must not be empty")
        return self


class FolderChannel(_Channel):
    type: Literal["folder"]
    settings: FolderSettings


class SftpChannel(_Channel):
    type: Literal["sftp"]
    settings: SftpSettings


class EmailChannel(_Channel):
    type: Literal["email"]
    settings: EmailSettings


class AribaChannel(_Channel):
    type: Literal["ariba"]
    settings: AribaSettings


class HttpChannel(_Channel):
    type: Literal["http"]
    settings: HttpSettings

    @model_validator(mode="after")
    def _auth(self) -> HttpChannel:
        # (both auth secrets at once is refused with its own message by check_required_secrets)
        basic = "basic_password" in self.secrets and "bearer_token" not in self.secrets
        if basic and self.settings.username is None:
            raise ValueError("the 'basic_password' secret needs a 'username' in the http settings")
        secret = self.secrets.get("hmac_secret")
        if secret is not None:
            try:
                key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if len(key) < 16:
                raise ValueError("the 'hmac_secret' is 'whsec_' + base64 of at least 16 random bytes")
        return self


ChannelIn = Annotated[
    FolderChannel | SftpChannel | EmailChannel | AribaChannel | HttpChannel, Field(discriminator="type")
]


def check_required_secrets(kind: str, name: str, secret_names: set[str]) -> None:
    """Secrets a channel cannot work without, checked on the merged set (a PATCH may keep old ones)."""
    if kind == "sftp" and not secret_names & {"password", "private_key"}:
        raise RecipientError(f"sftp channel {name!r} needs a 'password' or a 'private_key' secret")
    if kind == "sftp" and "passphrase" in secret_names and "private_key" not in secret_names:
        raise RecipientError(
            f"sftp channel {name!r}: 'passphrase' unlocks a 'private_key': give the key with it"
        )
    if kind == "http" and {"bearer_token", "basic_password"} <= secret_names:
        raise RecipientError(
            f"http channel {name!r}: give either 'bearer_token' or 'basic_password', not both"
        )


# ---------------------------------------------------------------------------- recipients


def _unique_channels(channels: list[Any]) -> list[Any]:
    seen: set[str] = set()
    for channel in channels:
        if channel.name in seen:
            raise ValueError(f"two channels are named {channel.name!r}: channel names must be unique")
        seen.add(channel.name)
    return channels


def _unique_formats(formats: list[FormatIn]) -> list[FormatIn]:
    kinds = [f.kind for f in formats]
    dupes = sorted({k for k in kinds if kinds.count(k) > 1})
    if dupes:
        raise ValueError(f"format {', '.join(dupes)} is listed twice: one profile per kind")
    return formats


SignKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]


class RecipientIn(_Strict):
    """A recipient as ``POST /v1/recipients`` (or an inline recipient on submission) gives it."""

    name: str = Field(min_length=1, max_length=200)
    buyer: Buyer
    formats: list[FormatIn] = Field(min_length=1)
    channels: list[ChannelIn] = Field(min_length=1)
    sign_key: SignKey | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[Any]) -> list[Any]:
        return _unique_channels(value)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[FormatIn]) -> list[FormatIn]:
        return _unique_formats(value)

    @model_validator(mode="after")
    def _required_secrets(self) -> RecipientIn:
        for channel in self.channels:
            check_required_secrets(channel.type, channel.name, set(channel.secrets))
        return self


class RecipientPatch(_Strict):
    """``PATCH /v1/recipients/{id}``: fields given replace the stored ones.

    ``channels`` replaces the whole list; a channel keeping its name and type keeps the
    secrets it had unless new values are given for them (so a PATCH never has to resend a
    password it cannot read back). ``sign_key: null`` removes the signing key.
    """

    name: str | None = Field(default=None, min_length=1, max_length=200)
    buyer: Buyer | None = None
    formats: list[FormatIn] | None = Field(default=None, min_length=1)
    channels: list[ChannelIn] | None = Field(default=None, min_length=1)
    sign_key: SignKey | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[Any] | None) -> list[Any] | None:
        return None if value is None else _unique_channels(value)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[FormatIn] | None) -> list[FormatIn] | None:
        return None if value is None else _unique_formats(value)


def channel_settings(
    channel: FolderChannel | SftpChannel | EmailChannel | AribaChannel | HttpChannel,
) -> dict[str, Any]:
    """The settings as stored and handed to connectors (JSON, field aliases such as ``from``)."""
    return channel.settings.model_dump(mode="json", by_alias=True, exclude_none=True)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def recipient_public(recipient: Recipient) -> dict[str, Any]:
    """The registry view of a recipient: everything except secret values (``{"password": "set"}``)."""
    channels = [
        {
            "type": c["type"],
            "name": c["name"],
            "settings": c.get("settings", {}),
            "secrets": dict.fromkeys(sorted(c.get("secret_names", [])), "set"),
        }
        for c in recipient.channels
    ]
    return {
        "id": recipient.id,
        "name": recipient.name,
        "buyer": recipient.buyer,
        "formats": recipient.formats,
        "channels": channels,
        "sign_key": recipient.sign_key,
        "created_at": _iso(recipient.created_at),
        "updated_at": _iso(recipient.updated_at),
    }
