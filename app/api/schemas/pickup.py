"""The public contract of in-store pickup: a shop's pickup points, as the shop manages them
and as buyers see them, and the code the shop verifies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import Field

from app.api.schemas.base import Input, Output
from app.api.schemas.buyers import AddressRegion
from app.domain.orders.pickup import CODE_DIGITS
from app.domain.orders.pickup import PickupPoint as PointEntity

PICKUP_POINT_ID_EXAMPLE = "pkp_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-12-08T08:00:00Z"


class PickupPointCreate(Input):
    """A new pickup point (门店自提点) of the shop."""

    name: str = Field(
        min_length=1, max_length=40, description="The store's name.", examples=["南山科技园店"]
    )
    region_code: str = Field(
        pattern=r"^\d{6}$",
        description="The GB/T 2260 code of the district or county (or of a city or region "
        "with none under it).",
        examples=["440305"],
    )
    detail: str = Field(
        min_length=1,
        max_length=120,
        description="Street, building, shop number.",
        examples=["科技园南区深南大道10000号 1楼102"],
    )
    hours: str = Field(
        min_length=1,
        max_length=100,
        description="Opening hours as buyers should read them.",
        examples=["周一至周日 09:00-21:00"],
    )
    contact_name: str = Field(
        min_length=1, max_length=32, description="Who buyers ask for.", examples=["张伟"]
    )
    contact_phone: str = Field(
        min_length=11,
        max_length=20,
        description="A mainland China mobile number (11 digits, 13-19...); spaces, hyphens "
        "and a leading +86 are dropped.",
        examples=["13800138000"],
    )
    enabled: bool = Field(
        default=True,
        description="Offered to buyers and accepted for new orders; `false` keeps it aside.",
        examples=[True],
    )


class PickupPointUpdate(Input):
    """The fields to change; those left out stay as they are. Orders already placed keep
    the point as it was."""

    name: str | None = Field(
        default=None, min_length=1, max_length=40, description="Name.", examples=["南山店"]
    )
    region_code: str | None = Field(
        default=None, pattern=r"^\d{6}$", description="GB/T 2260 code.", examples=["440305"]
    )
    detail: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="Street, building, shop number.",
        examples=["科技园南区深南大道10000号 1楼102"],
    )
    hours: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Opening hours.",
        examples=["周一至周五 10:00-20:00"],
    )
    contact_name: str | None = Field(
        default=None, min_length=1, max_length=32, description="Contact.", examples=["李娜"]
    )
    contact_phone: str | None = Field(
        default=None,
        min_length=11,
        max_length=20,
        description="A mainland China mobile number.",
        examples=["13900139000"],
    )
    enabled: bool | None = Field(
        default=None,
        description="`false` stops offering it for new orders (orders placed for it are "
        "collected as before); `true` offers it again.",
        examples=[False],
    )


class StorefrontPickupPoint(Output):
    """A pickup point a buyer may choose for an order (`delivery_method: pickup`)."""

    id: str = Field(
        description="Send as `pickup_point_id` when ordering.", examples=[PICKUP_POINT_ID_EXAMPLE]
    )
    name: str = Field(description="The store's name.", examples=["南山科技园店"])
    region_code: str = Field(description="GB/T 2260 code.", examples=["440305"])
    region: AddressRegion = Field(description="The region, resolved.")
    detail: str = Field(description="Street, building, shop number.", examples=["深南大道10000号"])
    hours: str = Field(description="Opening hours.", examples=["周一至周日 09:00-21:00"])
    contact_name: str = Field(description="Who to ask for.", examples=["张伟"])
    contact_phone: str = Field(description="The store's mobile number.", examples=["13800138000"])

    @classmethod
    def of(cls, p: PointEntity) -> Self:
        return cls(**cls.values_of(p))

    @classmethod
    def values_of(cls, p: PointEntity) -> dict[str, Any]:
        return {
            "id": p.id,
            "name": p.name,
            "region_code": p.region_code,
            "region": AddressRegion.of(p.region),
            "detail": p.detail,
            "hours": p.hours,
            "contact_name": p.contact_name,
            "contact_phone": p.contact_phone,
        }


class PickupPoint(StorefrontPickupPoint):
    """A pickup point of the shop, as the shop manages it: what buyers see, and whether it
    is offered, its times and its version."""

    id: str = Field(description="Pickup point id (`pkp_…`).", examples=[PICKUP_POINT_ID_EXAMPLE])
    enabled: bool = Field(description="Offered to buyers for new orders.", examples=[True])
    created_at: datetime = Field(description="When it was added.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="When it last changed.", examples=[TIME_EXAMPLE])
    version: int = Field(description="Also the `ETag`; send it as `If-Match`.", examples=[1])

    @classmethod
    def values_of(cls, p: PointEntity) -> dict[str, Any]:
        return {
            **super().values_of(p),
            "enabled": p.enabled,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "version": p.version,
        }


class StorefrontPickupPointList(Output):
    """The shop's enabled pickup points, oldest first."""

    data: list[StorefrontPickupPoint] = Field(description="The points; empty: no pickup.")


class PickupVerification(Input):
    """The pickup code the buyer shows at the point."""

    code: str = Field(
        pattern=rf"^[0-9]{{{CODE_DIGITS}}}$",
        description=f"The buyer's pickup code: {CODE_DIGITS} digits.",
        examples=["40219385"],
    )
