"""The audit log: who changed what, from which surface, with a before/after summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from app.domain.clock import utcnow
from app.domain.ids import new_id


class ActorType(StrEnum):
    """Who made a change: an account, an authorized app, or the system."""

    ACCOUNT = "account"
    APP = "app"
    SYSTEM = "system"


class Surface(StrEnum):
    """Which API surface a change came through."""

    MERCHANT = "merchant"
    PLATFORM = "platform"
    OPEN_API = "open_api"
    DEVELOPER = "developer"
    STOREFRONT = "storefront"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who acts: an account through a session, or an app through a grant."""

    type: ActorType
    id: str
    surface: Surface
    grant_id: str | None = None
    request_id: str | None = None
    ip: str | None = None


class ShopResource(Protocol):
    """Something a shop owns: its id and its shop's."""

    @property
    def id(self) -> str: ...
    @property
    def shop_id(self) -> str: ...


@dataclass(eq=False)
class AuditEntry:
    actor_type: ActorType
    actor_id: str
    surface: Surface
    action: str
    target_type: str
    target_id: str
    shop_id: str | None = None
    grant_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    request_id: str | None = None
    id: str = field(default_factory=lambda: new_id("aud"))
    created_at: datetime = field(default_factory=utcnow)

    @classmethod
    def about(
        cls,
        actor: Actor,
        action: str,
        target_type: str,
        target: ShopResource,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """`record` of a change to something a shop owns."""
        return cls.record(
            actor,
            action,
            target_type=target_type,
            target_id=target.id,
            shop_id=target.shop_id,
            before=before,
            after=after,
        )

    @classmethod
    def record(
        cls,
        actor: Actor,
        action: str,
        *,
        target_type: str,
        target_id: str,
        shop_id: str | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        return cls(
            actor_type=actor.type,
            actor_id=actor.id,
            surface=actor.surface,
            grant_id=actor.grant_id,
            request_id=actor.request_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            shop_id=shop_id,
            before=before,
            after=after,
        )
