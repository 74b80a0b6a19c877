"""Use cases of provider apps: register, edit, publish, rotate the secret; operator suspension."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from app.domain.audit.model import Actor, AuditEntry
from app.domain.authz.errors import AppNotFound
from app.domain.authz.model import App, AppStatus
from app.domain.authz.ports import AuthzUnitOfWork
from app.domain.authz.scopes import Scope
from app.domain.authz.tokens import (
    CLIENT_SECRET_PREFIX,
    hash_secret,
    new_client_id,
    new_secret,
)
from app.domain.clock import utcnow
from app.domain.errors import ValidationFailed
from app.domain.pagination import Page, PageRequest
from app.domain.shops.services import check_version

MAX_REDIRECT_URIS = 10


def _audit(
    actor: Actor,
    action: str,
    app: App,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Apps belong to no shop: their audit entries carry the app as target and no shop."""
    return AuditEntry.record(
        actor,
        action,
        target_type="app",
        target_id=app.id,
        shop_id=None,
        before=before,
        after=after,
    )


MAX_REDIRECT_URI = 2048
#: RFC 3986 characters, less what may not appear in a redirect URI here: `;` and `,` (they
#: separate directives and sources in a Content-Security-Policy), quotes, and `#` (no
#: fragment). Whitespace, controls and anything non-ASCII must be percent-encoded.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?\[\]@!$&()*+=%]+")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _valid_host(host: str) -> bool:
    """A DNS name, an IPv4 address, or an IPv6 address (urlsplit drops its brackets)."""
    if "%" in host:  # an IPv6 zone, or an encoded name: neither belongs in a redirect
        return False
    try:
        ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    return len(host) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in labels)


def redirect_origin(uri: str) -> str | None:
    """`scheme://host[:port]` of a well-formed http(s) URI, rebuilt from its parsed parts
    (never copied from the string), or None: the one form a URI may take where it is
    written into a header such as the consent page's CSP `form-action`."""
    if len(uri) > MAX_REDIRECT_URI or not _URI_CHARS.fullmatch(uri) or _PERCENT.search(uri):
        return None
    parts = urlsplit(uri)
    host = parts.hostname
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not host or not _valid_host(host):
        return None
    if port == 0:
        return None
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port is not None else "")


def validate_redirect_uri(uri: str, loc: str) -> str:
    """RFC 9700 §2.1: exact registered strings; https, or http on loopback only; no fragment;
    nothing a header or a page could read as more than one URL."""
    if "#" in uri:
        raise ValidationFailed.field(loc, "A redirect URI must not contain a fragment.")
    if len(uri) > MAX_REDIRECT_URI:
        raise ValidationFailed.field(
            loc, f"A redirect URI is at most {MAX_REDIRECT_URI} characters long."
        )
    bad = sorted({c for c in uri if not _URI_CHARS.fullmatch(c)})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        raise ValidationFailed.field(
            loc,
            f"A redirect URI must not contain {shown}: no whitespace, ';', ',' or quotes; "
            "percent-encode other characters.",
        )
    if _PERCENT.search(uri):
        raise ValidationFailed.field(loc, "A '%' must start a percent-encoding such as %20.")
    parts = urlsplit(uri)
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed.field(loc, "A redirect URI must not carry credentials.")
    if redirect_origin(uri) is None:
        raise ValidationFailed.field(
            loc, "A redirect URI must be an absolute http(s) URL with a valid host and port."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise ValidationFailed.field(loc, "Use https; plain http is allowed on loopback only.")
    return uri


def _redirect_uris(uris: list[str]) -> list[str]:
    if not uris:
        raise ValidationFailed.field("body.redirect_uris", "Register at least one redirect URI.")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationFailed.field(
            "body.redirect_uris", f"Register at most {MAX_REDIRECT_URIS} redirect URIs."
        )
    out: list[str] = []
    for i, uri in enumerate(uris):
        validate_redirect_uri(uri, f"body.redirect_uris.{i}")
        if uri not in out:
            out.append(uri)
    return out


def _scopes(scopes: list[Scope]) -> list[str]:
    if not scopes:
        raise ValidationFailed.field("body.scopes", "Request at least one scope.")
    chosen = set(scopes)
    return [s.value for s in Scope if s in chosen]


@dataclass(frozen=True)
class AppFields:
    name: str
    description: str
    logo_url: str | None
    homepage_url: str | None
    install_url: str | None
    support_email: str | None
    service_types: list[str]
    redirect_uris: list[str]
    scopes: list[Scope]


async def register_app(uow: AuthzUnitOfWork, actor: Actor, fields: AppFields) -> tuple[App, str]:
    """Returns the app and its client secret, which is shown this once and stored hashed."""
    secret = new_secret(CLIENT_SECRET_PREFIX)
    app = App(
        developer_id=actor.id,
        name=fields.name,
        client_id=new_client_id(),
        secret_hash=hash_secret(secret),
        description=fields.description,
        logo_url=fields.logo_url,
        homepage_url=fields.homepage_url,
        install_url=fields.install_url,
        support_email=fields.support_email,
        service_types=sorted(set(fields.service_types)),
        redirect_uris=_redirect_uris(fields.redirect_uris),
        scopes=_scopes(fields.scopes),
    )
    uow.apps.add(app)
    uow.audit.add(_audit(actor, "app.created", app, after=app.summary()))
    await uow.flush()
    return app, secret


async def own_app(uow: AuthzUnitOfWork, actor: Actor, app_id: str) -> App:
    """Resolve-or-404: another developer's app does not exist for this one."""
    app = await uow.apps.get(app_id)
    if app is None or app.developer_id != actor.id:
        raise AppNotFound(f"No app {app_id} among your apps.")
    return app


async def list_own_apps(uow: AuthzUnitOfWork, actor: Actor, page: PageRequest) -> Page[App]:
    return await uow.apps.list_for_developer(actor.id, page)


async def update_app(
    uow: AuthzUnitOfWork,
    actor: Actor,
    app_id: str,
    changes: dict[str, object],
    *,
    expected_version: int | None,
) -> App:
    app = await own_app(uow, actor, app_id)
    check_version(app.version, expected_version)
    before = app.summary()
    for name, value in changes.items():
        if name == "redirect_uris":
            value = _redirect_uris(list(value))  # type: ignore[call-overload]
        elif name == "scopes":
            value = _scopes(list(value))  # type: ignore[call-overload]
        elif name == "service_types":
            value = sorted(set(value))  # type: ignore[call-overload]
        setattr(app, name, value)
    app.updated_at = utcnow()
    uow.audit.add(_audit(actor, "app.updated", app, before=before, after=app.summary()))
    await uow.flush()
    return app


async def publish_app(uow: AuthzUnitOfWork, actor: Actor, app_id: str) -> App:
    app = await own_app(uow, actor, app_id)
    before = app.summary()
    app.publish()
    uow.audit.add(_audit(actor, "app.published", app, before=before, after=app.summary()))
    await uow.flush()
    return app


async def rotate_secret(
    uow: AuthzUnitOfWork, actor: Actor, app_id: str, *, grace: timedelta
) -> tuple[App, str]:
    """The old secret keeps working for `grace`, so the provider can deploy the new one."""
    app = await own_app(uow, actor, app_id)
    secret = new_secret(CLIENT_SECRET_PREFIX)
    app.rotate_secret(hash_secret(secret), grace)
    uow.audit.add(
        _audit(
            actor,
            "app.secret_rotated",
            app,
            after={"previous_secret_expires_at": str(app.previous_secret_expires_at)},
        )
    )
    await uow.flush()
    return app, secret


async def operator_get_app(uow: AuthzUnitOfWork, app_id: str) -> App:
    app = await uow.apps.get(app_id)
    if app is None:
        raise AppNotFound(f"No app {app_id}.")
    return app


async def operator_list_apps(
    uow: AuthzUnitOfWork, page: PageRequest, status: AppStatus | None
) -> Page[App]:
    return await uow.apps.list_all(page, status=status)


async def operator_action(
    uow: AuthzUnitOfWork, actor: Actor, app_id: str, action: str, *, reason: str | None = None
) -> App:
    """Suspension takes effect at once: every token of the app fails on its next request."""
    app = await operator_get_app(uow, app_id)
    before = app.summary()
    if action == "suspend":
        app.suspend(reason or "Suspended by the platform.")
    else:
        app.reinstate()
    uow.audit.add(
        _audit(
            actor,
            "app.suspended" if action == "suspend" else "app.reinstated",
            app,
            before=before,
            after={**app.summary(), "reason": reason},
        )
    )
    await uow.flush()
    return app


async def set_rate_limit(
    uow: AuthzUnitOfWork,
    actor: Actor,
    app_id: str,
    *,
    burst: int | None,
    per_second: float | None,
) -> App:
    app = await operator_get_app(uow, app_id)
    before = {"burst": app.rate_limit_burst, "per_second": app.rate_limit_per_second}
    app.rate_limit_burst, app.rate_limit_per_second = burst, per_second
    uow.audit.add(
        _audit(
            actor,
            "app.rate_limit_changed",
            app,
            before=before,
            after={"burst": burst, "per_second": per_second},
        )
    )
    await uow.flush()
    return app
