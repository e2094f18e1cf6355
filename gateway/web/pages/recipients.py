"""``/ui/recipients``: list, create and edit recipients and their channels.

Validation is the API's: a new recipient goes through ``RecipientIn`` and
``repository.create_recipient``, an edit through ``RecipientPatch`` and
``repository.update_recipient`` (which keeps a channel's stored secrets when the form leaves
them empty). Their errors come back next to the field they are about, with status 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from gateway.api.auth import TenantRef
from gateway.api.deps import Services, services
from gateway.api.problems import ApiProblem
from gateway.recipients import (
    CHANNEL_TYPES,
    FORMAT_KINDS,
    SECRET_NAMES,
    RecipientError,
    RecipientIn,
    RecipientPatch,
    recipient_public,
)
from gateway.secretbox import SecretBox
from gateway.store import repository
from gateway.web import recipient_form as rf
from gateway.web.auth import WebError, check_csrf, web_tenant
from gateway.web.render import render

router = APIRouter()

Tenant = Annotated[TenantRef, Depends(web_tenant)]
NOTICES = {"created": "The recipient was created.", "saved": "The changes were saved."}


def _box(svc: Services) -> SecretBox:
    try:
        return svc.box
    except ApiProblem as exc:  # no master key configured: say so, as the API does
        raise WebError(503, exc.detail, title="Not configured") from None


def _context(form: rf.RecipientForm) -> dict[str, Any]:
    return {
        "form": form,
        "buyer_fields": rf.BUYER_FIELDS,
        "format_kinds": FORMAT_KINDS,
        "profiles": rf.PROFILES,
        "channel_types": CHANNEL_TYPES,
        "all_secrets": rf.ALL_SECRETS,
        "multiline_secrets": rf.MULTILINE_SECRETS,
        "secret_types": {
            name: [kind for kind in CHANNEL_TYPES if name in SECRET_NAMES[kind]] for name in rf.ALL_SECRETS
        },
        "settings_hints": rf.settings_hints(),
        "labels": _labels(form),
    }


def _labels(form: rf.RecipientForm) -> dict[str, str]:
    """What the error summary calls each field."""
    labels = {"name": "Name", "sign_key": "Signing key", "formats": "Formats", "channels": "Channels"}
    labels.update(dict(rf.BUYER_FIELDS))
    for channel in form.channels:
        title = f"Channel {channel.index + 1}" + (f" ({channel.name})" if channel.name else "")
        for part, text in (
            ("type", "type"),
            ("name", "name"),
            ("settings", "settings"),
            ("secrets", "secrets"),
        ):
            labels[f"channels-{channel.index}-{part}"] = f"{title} {text}"
    return labels


# ---------------------------------------------------------------- list


def _list(svc: Services, tenant_id: str) -> list[dict[str, Any]]:
    with svc.session() as s:
        return [recipient_public(r) for r in repository.list_recipients(s, tenant_id)]


@router.get("/recipients")
async def recipient_list(request: Request, tenant: Tenant) -> Response:
    recipients = await run_in_threadpool(_list, services(request), tenant.id)
    return render(request, "recipients.html", recipients=recipients)


# ---------------------------------------------------------------- create


@router.get("/recipients/new")
def new_recipient(request: Request, tenant: Tenant) -> Response:
    form = rf.with_new_channel(rf.blank_form())
    return render(
        request,
        "recipient_form.html",
        action="/ui/recipients/new",
        recipient=None,
        notice=None,
        **_context(form),
    )


def _create(svc: Services, box: SecretBox, tenant_id: str, data: RecipientIn) -> str:
    with svc.session() as s:
        return repository.create_recipient(s, tenant_id, data, box).id


@router.post("/recipients/new")
async def create_recipient(request: Request, tenant: Tenant) -> Response:
    form_data = await request.form()
    check_csrf(request, form_data.get("csrf_token"))
    svc = services(request)
    form, data, indexes = rf.parse_form(form_data)
    if not form.errors:
        try:
            model = RecipientIn.model_validate(data)
        except ValidationError as exc:
            form.errors.update(rf.errors_by_field(exc, data, indexes))
        else:
            box = _box(svc)
            try:
                recipient_id = await run_in_threadpool(_create, svc, box, tenant.id, model)
            except (repository.Conflict, IntegrityError):
                form.errors["name"] = f"A recipient named {model.name!r} already exists; choose another name."
            else:
                return RedirectResponse(f"/ui/recipients/{recipient_id}?notice=created", status_code=303)
    return render(
        request,
        "recipient_form.html",
        status_code=422,
        action="/ui/recipients/new",
        recipient=None,
        notice=None,
        **_context(rf.with_new_channel(form)),
    )


# ---------------------------------------------------------------- edit


def _public(svc: Services, tenant_id: str, recipient_id: str) -> dict[str, Any] | None:
    with svc.session() as s:
        found = repository.get_recipient(s, tenant_id, recipient_id)
        return recipient_public(found) if found is not None else None


def _not_found(recipient_id: str) -> WebError:
    return WebError(404, f"There is no recipient {recipient_id!r}.", title="Recipient not found")


@router.get("/recipients/{recipient_id}")
async def edit_recipient(request: Request, recipient_id: str, tenant: Tenant) -> Response:
    public = await run_in_threadpool(_public, services(request), tenant.id, recipient_id)
    if public is None:
        raise _not_found(recipient_id)
    form = rf.with_new_channel(rf.from_recipient(public))
    notice = NOTICES.get(str(request.query_params.get("notice") or ""))
    return render(
        request,
        "recipient_form.html",
        action=f"/ui/recipients/{recipient_id}",
        recipient=public,
        notice=notice,
        **_context(form),
    )


def _update(svc: Services, box: SecretBox, tenant_id: str, recipient_id: str, patch: RecipientPatch) -> bool:
    with svc.session() as s:
        return repository.update_recipient(s, tenant_id, recipient_id, patch, box) is not None


@router.post("/recipients/{recipient_id}")
async def save_recipient(request: Request, recipient_id: str, tenant: Tenant) -> Response:
    form_data = await request.form()
    check_csrf(request, form_data.get("csrf_token"))
    svc = services(request)
    public = await run_in_threadpool(_public, svc, tenant.id, recipient_id)
    if public is None:
        raise _not_found(recipient_id)
    stored = {f"{c['type']}\x00{c['name']}": sorted(c["secrets"]) for c in public["channels"]}
    form, data, indexes = rf.parse_form(form_data, stored)
    if not form.errors:
        try:
            patch = RecipientPatch.model_validate(data)
        except ValidationError as exc:
            form.errors.update(rf.errors_by_field(exc, data, indexes))
        else:
            box = _box(svc)
            try:
                updated = await run_in_threadpool(_update, svc, box, tenant.id, recipient_id, patch)
            except (repository.Conflict, IntegrityError):
                form.errors["name"] = f"A recipient named {patch.name!r} already exists; choose another name."
            except (RecipientError, ValueError) as exc:  # a kept channel now missing a secret it needs
                form.errors.update(rf.errors_by_field(exc, data, indexes))
            else:
                if not updated:
                    raise _not_found(recipient_id)
                return RedirectResponse(f"/ui/recipients/{recipient_id}?notice=saved", status_code=303)
    return render(
        request,
        "recipient_form.html",
        status_code=422,
        action=f"/ui/recipients/{recipient_id}",
        recipient=public,
        notice=None,
        **_context(rf.with_new_channel(form)),
    )
