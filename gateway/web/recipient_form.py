"""The recipient form: HTML form fields to the API's input shape and back, and the API
model's errors to the field they belong to.

Nothing is checked here: the form's values become the same JSON a ``POST /v1/recipients``
(``RecipientIn``) or a ``PATCH`` (``RecipientPatch``) carries, and those models decide.
This module only translates: flat form names to nested data (``buyer.address.city``,
``channels-0-settings`` as a JSON object), and each pydantic error's location back to the
form field it is about, so the page shows it next to that field.

Secrets are write-only: the form has an empty input per secret; a value typed is sent, an
empty one is left out (so an edit keeps the stored secret: ``RecipientPatch`` semantics), and
no secret value is ever put back into a page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from formats import cii, ubl
from gateway.recipients import (
    CHANNEL_TYPES,
    FORMAT_KINDS,
    SECRET_NAMES,
    AribaSettings,
    EmailSettings,
    FolderSettings,
    HttpSettings,
    SftpSettings,
)

__all__ = [
    "ALL_SECRETS",
    "BUYER_FIELDS",
    "ChannelForm",
    "RecipientForm",
    "errors_by_field",
    "from_recipient",
    "parse_form",
    "settings_hints",
]

BUYER_FIELDS: tuple[tuple[str, str], ...] = (
    ("buyer.name", "Buyer name (BT-44)"),
    ("buyer.trading_name", "Trading name (BT-45)"),
    ("buyer.vat_identifier", "VAT identifier (BT-48)"),
    ("buyer.identifier.value", "Buyer identifier (BT-46)"),
    ("buyer.identifier.scheme", "Identifier scheme (BT-46-1)"),
    ("buyer.legal_registration.value", "Legal registration (BT-47)"),
    ("buyer.legal_registration.scheme", "Registration scheme (BT-47-1)"),
    ("buyer.electronic_address.value", "Electronic address (BT-49)"),
    ("buyer.electronic_address.scheme", "Electronic address scheme (BT-49-1)"),
    ("buyer.address.line1", "Address line 1 (BT-50)"),
    ("buyer.address.line2", "Address line 2 (BT-51)"),
    ("buyer.address.line3", "Address line 3 (BT-163)"),
    ("buyer.address.post_code", "Post code (BT-53)"),
    ("buyer.address.city", "City (BT-52)"),
    ("buyer.address.country_subdivision", "Country subdivision (BT-54)"),
    ("buyer.address.country_code", "Country code (BT-55)"),
    ("buyer.contact.name", "Contact (BT-56)"),
    ("buyer.contact.telephone", "Contact telephone (BT-57)"),
    ("buyer.contact.email", "Contact email (BT-58)"),
)
_BUYER_NAMES = frozenset(name for name, _ in BUYER_FIELDS)
ALL_SECRETS: tuple[str, ...] = tuple(sorted(set().union(*SECRET_NAMES.values())))
MULTILINE_SECRETS = frozenset({"private_key"})
PROFILES: dict[str, tuple[str, ...]] = {
    "ubl": tuple(ubl.PROFILES),
    "cii": tuple(cii.PROFILES),
    "facturx": tuple(cii.PROFILES),
}
_SETTINGS: dict[str, type[BaseModel]] = {
    "folder": FolderSettings,
    "sftp": SftpSettings,
    "email": EmailSettings,
    "ariba": AribaSettings,
    "http": HttpSettings,
}
MAX_CHANNELS = 20


def settings_hints() -> dict[str, str]:
    """Per channel type: the settings it requires and those it may take, from its model."""
    hints = {}
    for kind, model in _SETTINGS.items():
        schema = model.model_json_schema(by_alias=True)
        required = schema.get("required", [])
        optional = [name for name in schema.get("properties", {}) if name not in required]
        hints[kind] = (
            f"{kind}: requires {', '.join(required) or 'nothing'}; may add {', '.join(optional) or 'nothing'}"
        )
    return hints


@dataclass
class ChannelForm:
    index: int
    type: str = ""
    name: str = ""
    settings: str = ""  # the JSON text as typed (or as stored)
    existing: bool = False  # was a channel of the recipient when the form was shown
    remove: bool = False
    stored_secrets: list[str] = field(default_factory=list)  # names of the secrets the store keeps

    @property
    def blank(self) -> bool:
        return not (self.type or self.name or self.settings.strip() not in ("", "{}"))


@dataclass
class RecipientForm:
    values: dict[str, str]  # name, sign_key, buyer.* as typed
    formats: dict[str, str | None]  # kind → profile ("" for none), the ticked ones
    channels: list[ChannelForm]
    errors: dict[str, str] = field(default_factory=dict)
    secrets_typed: bool = False  # a secret was typed (it is not shown again after an error)


def _field(form: Mapping[str, Any], name: str, limit: int = 20_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _nested(values: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """``buyer.address.city`` → ``{"address": {"city": …}}``; empty fields and objects are left out."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if not name.startswith(prefix + ".") or not value:
            continue
        parts = name[len(prefix) + 1 :].split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def parse_form(
    form: Mapping[str, Any], stored: Mapping[str, list[str]] | None = None
) -> tuple[RecipientForm, dict[str, Any], list[int]]:
    """``(the form as typed, the API input data, the form index of each channel sent)``.

    ``stored``: for an edit, ``"type\\x00name"`` → the secret names the store keeps.
    JSON that does not parse is an error of its field (in ``RecipientForm.errors``).
    """
    values = {"name": _field(form, "name", 300), "sign_key": _field(form, "sign_key", 100)}
    for name in _BUYER_NAMES:
        values[name] = _field(form, name, 500)
    formats: dict[str, str | None] = {}
    for kind in FORMAT_KINDS:
        if form.get(f"formats-{kind}"):
            formats[kind] = _field(form, f"formats-{kind}-profile", 50) if kind in PROFILES else None
    try:
        count = min(int(_field(form, "channels-count", 5) or "0"), MAX_CHANNELS)
    except ValueError:
        count = 0
    parsed = RecipientForm(values=values, formats=formats, channels=[])
    channels: list[dict[str, Any]] = []
    indexes: list[int] = []
    for index in range(max(count, 0)):
        prefix = f"channels-{index}-"
        channel = ChannelForm(
            index=index,
            type=_field(form, prefix + "type", 20),
            name=_field(form, prefix + "name", 200),
            settings=_field(form, prefix + "settings"),
            existing=bool(form.get(prefix + "existing")),
            remove=bool(form.get(prefix + "remove")),
        )
        secrets = {}
        for secret in ALL_SECRETS:
            raw = form.get(prefix + "secret-" + secret)
            value = raw.strip() if isinstance(raw, str) else ""
            if value:
                secrets[secret] = value
        parsed.secrets_typed = parsed.secrets_typed or bool(secrets)
        if stored is not None:
            channel.stored_secrets = list(stored.get(f"{channel.type}\x00{channel.name}", []))
        parsed.channels.append(channel)
        if channel.remove or (channel.blank and not secrets):
            continue
        try:
            settings = json.loads(channel.settings) if channel.settings else {}
        except json.JSONDecodeError as exc:
            parsed.errors[prefix + "settings"] = f"This is not valid JSON ({exc.msg}, line {exc.lineno})."
            continue
        if not isinstance(settings, dict):
            parsed.errors[prefix + "settings"] = 'The settings are a JSON object: {"name": value, …}.'
            continue
        channels.append(
            {"type": channel.type, "name": channel.name, "settings": settings, "secrets": secrets}
        )
        indexes.append(index)
    data: dict[str, Any] = {
        "name": values["name"],
        "buyer": _nested(values, "buyer"),
        "formats": [{"kind": kind, **({"profile": p} if p else {})} for kind, p in formats.items()],
        "channels": channels,
        "sign_key": values["sign_key"] or None,
    }
    return parsed, data, indexes


def from_recipient(public: Mapping[str, Any]) -> RecipientForm:
    """The form of a stored recipient (``recipient_public``: no secret values in it)."""
    values = {"name": str(public["name"]), "sign_key": str(public.get("sign_key") or "")}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}", value)
        elif prefix in _BUYER_NAMES:
            values[prefix] = "" if node is None else str(node)

    for name in _BUYER_NAMES:
        values[name] = ""
    walk("buyer", public.get("buyer") or {})
    formats = {str(f["kind"]): f.get("profile") for f in public.get("formats") or []}
    channels = [
        ChannelForm(
            index=index,
            type=str(c["type"]),
            name=str(c["name"]),
            settings=json.dumps(c.get("settings") or {}, indent=2, ensure_ascii=False),
            existing=True,
            stored_secrets=sorted(c.get("secrets") or {}),
        )
        for index, c in enumerate(public.get("channels") or [])
    ]
    return RecipientForm(values=values, formats=formats, channels=channels)


def blank_form() -> RecipientForm:
    values = dict.fromkeys(("name", "sign_key", *_BUYER_NAMES), "")
    return RecipientForm(values=values, formats={"ubl": "en16931"}, channels=[])


def with_new_channel(form: RecipientForm) -> RecipientForm:
    """The form with one empty channel fieldset at the end (adding a channel needs no script)."""
    if not form.channels or not form.channels[-1].blank or form.channels[-1].existing:
        form.channels.append(ChannelForm(index=len(form.channels)))
    return form


# ---------------------------------------------------------------------------- errors


def _message(error: Mapping[str, Any]) -> str:
    text = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    if error.get("type") == "missing":
        text = "required"
    return text


def _buyer_field(loc: list[str]) -> str:
    name = ".".join(["buyer", *loc])
    while name not in _BUYER_NAMES and name != "buyer":
        candidates = [n for n in _BUYER_NAMES if n.startswith(name + ".")]
        if candidates:  # an error about a whole part (the address): its first field
            return next(n for n, _ in BUYER_FIELDS if n in candidates)
        name = name.rsplit(".", 1)[0]
    return name if name != "buyer" else "buyer.name"


def _channel_by_name(message: str, channels: list[dict[str, Any]], indexes: list[int]) -> int | None:
    for position, channel in enumerate(channels):
        if channel.get("name") and f"'{channel['name']}'" in message:
            return indexes[position]
    return None


def errors_by_field(
    exc: ValidationError | ValueError, data: Mapping[str, Any], indexes: list[int]
) -> dict[str, str]:
    """Each error of the API model under the name of the form field it is about."""
    channels: list[dict[str, Any]] = list(data.get("channels") or [])
    found: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        if message not in found.setdefault(name, []):
            found[name].append(message)

    if not isinstance(exc, ValidationError):  # RecipientError from the store: names its channel
        index = _channel_by_name(str(exc), channels, indexes)
        add(f"channels-{index}-secrets" if index is not None else "channels", str(exc))
        return {k: " ".join(v) for k, v in found.items()}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        message = _message(error)
        if not loc:
            index = _channel_by_name(message, channels, indexes)
            add(f"channels-{index}-secrets" if index is not None else "name", message)
        elif loc[0] in ("name", "sign_key"):
            add(loc[0], message)
        elif loc[0] == "buyer":
            add(_buyer_field(loc[1:]), message)
        elif loc[0] == "formats":
            add("formats", message)
        elif loc[0] == "channels":
            if len(loc) < 2 or not loc[1].isdigit() or int(loc[1]) >= len(indexes):
                add("channels", message)
                continue
            prefix = f"channels-{indexes[int(loc[1])]}-"
            rest = loc[3:] if len(loc) > 2 and loc[2] in CHANNEL_TYPES else loc[2:]
            if len(loc) == 2 or (len(loc) > 2 and loc[2] not in CHANNEL_TYPES and loc[2] != "type"):
                add(
                    prefix + "type",
                    message if error.get("type") != "union_tag_invalid" else "Choose a channel type.",
                )
            elif not rest:
                add(prefix + "secrets", message)
            elif rest[0] in ("name", "type"):
                add(prefix + rest[0], message)
            elif rest[0] == "settings":
                where = ".".join(rest[1:])
                add(prefix + "settings", f"{where}: {message}" if where else message)
            elif rest[0] == "secrets":
                add(prefix + "secrets", message)
            else:
                add(prefix + "settings", f"{'.'.join(rest)}: {message}")
        else:
            add("name", f"{'.'.join(loc)}: {message}")
    return {k: " ".join(v) for k, v in found.items()}
