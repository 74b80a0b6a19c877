"""The merchant's side of authorization: see which apps hold a grant, revoke one."""

from __future__ import annotations

from app.domain.audit.model import Actor, AuditEntry
from app.domain.authz.errors import GrantNotFound
from app.domain.authz.model import App, Grant
from app.domain.authz.oauth import grant_event
from app.domain.authz.ports import AuthzUnitOfWork
from app.domain.pagination import Page, PageRequest
from app.domain.shops.permissions import Permission
from app.domain.shops.services import access


async def list_grants(
    uow: AuthzUnitOfWork, actor: Actor, shop_id: str, page: PageRequest
) -> Page[tuple[Grant, App]]:
    await access(uow, actor.id, shop_id, Permission.APPS_AUTHORIZE)
    return await uow.grants.list_active_for_shop(shop_id, page)


async def revoke_grant(uow: AuthzUnitOfWork, actor: Actor, shop_id: str, app_id: str) -> Grant:
    """Every token of the grant fails on its next request: the resource server reads the
    grant's state on each call, so nothing waits for expiry."""
    await access(uow, actor.id, shop_id, Permission.APPS_AUTHORIZE)
    grant = await uow.grants.get_active(app_id, shop_id, lock=True)
    app = await uow.apps.get(app_id)
    if grant is None or app is None:
        raise GrantNotFound(f"The app {app_id} holds no authorization for this shop.")
    grant.revoke(actor.id)
    await uow.oauth.revoke_families_of_grant(grant.id, "authorization revoked by the merchant")
    uow.audit.add(
        AuditEntry.record(
            actor,
            "app.authorization_revoked",
            target_type="grant",
            target_id=grant.id,
            shop_id=shop_id,
            before={"app_id": app_id, "scopes": list(grant.scopes)},
        )
    )
    await uow.outbox.add(grant_event("app.authorization_revoked", grant, app))
    await uow.flush()
    return grant
