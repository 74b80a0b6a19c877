"""The OpenAPI `webhooks` section: one typed payload per event type a subscriber receives."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, create_model

from app.domain.catalog.products import ProductStatus
from app.domain.webhooks.model import EVENT_TYPES

_TIME = "2026-11-25T08:00:00Z"

HEADERS_DOC = (
    "Every request carries the Standard Webhooks headers `webhook-id` (the delivery id, the "
    "same on every retry: drop duplicates by it), `webhook-timestamp` (Unix seconds) and "
    "`webhook-signature` (`v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>`; two of them, "
    "space separated, during a secret rotation). Answer 2xx within 5 s; anything else is "
    "retried (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); 410 Gone disables the endpoint. "
    "A delivery never overtakes an earlier pending one of the same resource; order events "
    "(`order.*`) also carry `data.sequence`, 1, 2, 3… per order in commit order."
)


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


_SHOP_ID = Field(
    description="The shop the event is about: use that shop's access token to act on it.",
    examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"],
)


class _ShopData(_Data):
    """Every shop event says which shop."""

    shop_id: str = _SHOP_ID


class ProductEventData(_ShopData):
    """What a product event carries."""

    product_id: str = Field(
        description="The product.", examples=["prod_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    out_product_id: str | None = Field(description="Your id for it.", examples=["erp-10086"])
    status: ProductStatus = Field(description="Its status after the change.", examples=["listed"])
    changed: list[str] | None = Field(
        default=None,
        description="`product.updated`: the fields that changed.",
        examples=[["title"]],
    )
    revision: bool | None = Field(
        default=None,
        description="Review events of a live product's pending revision (not the product).",
        examples=[None],
    )
    reason: str | None = Field(
        default=None, description="Rejections and bans: why.", examples=[None]
    )
    sku_id: str | None = Field(default=None, description="SKU changes: the SKU.", examples=[None])


class StockLowData(_ShopData):
    """A SKU whose stock a change took from above its `low_stock_threshold` to at or below
    it: sent once per crossing, not again while it stays low."""

    product_id: str = Field(
        description="The product.", examples=["prod_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    out_product_id: str | None = Field(description="Your id for it.", examples=["erp-10086"])
    status: ProductStatus = Field(description="The product's status.", examples=["listed"])
    sku_id: str = Field(description="The SKU.", examples=["sku_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    out_sku_id: str | None = Field(
        description="Your id for the SKU.", examples=["erp-sku-10086-red-m"]
    )
    stock: int = Field(description="Units left after the change.", examples=[3])
    low_stock_threshold: int = Field(description="The SKU's threshold.", examples=[5])


class GrantEventData(_ShopData):
    """A shop's authorization of the app."""

    grant_id: str = Field(
        description="The authorization.", examples=["grant_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    app_id: str = Field(description="Your app.", examples=["app_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    client_id: str = Field(description="Its client id.", examples=["msc_4f1c9a7e2b6d8f0a1c3e"])
    scopes: list[str] = Field(description="Scopes granted.", examples=[["products:read"]])
    revoked_at: datetime | None = Field(description="When revoked.", examples=[None])


class EndpointDisabledData(_Data):
    """The endpoint the platform disabled."""

    endpoint_id: str = Field(
        description="The endpoint.", examples=["we_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    url: str = Field(description="Its URL.", examples=["https://erp.example.com/hooks"])
    reason: str = Field(description="Why.", examples=["The endpoint answered 410 Gone."])


class PingData(_Data):
    """The endpoint being tested."""

    endpoint_id: str = Field(
        description="The endpoint.", examples=["we_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    app_id: str = Field(description="Your app.", examples=["app_01jd8m3k2x9v7q4w5e6r7t8y9z"])


_DATA: dict[str, type[_Data]] = {
    "app.authorized": GrantEventData,
    "app.authorization_revoked": GrantEventData,
    "app.webhook_disabled": EndpointDisabledData,
    "product.stock_low": StockLowData,
    "webhook.ping": PingData,
}


def _envelope(event_type: str) -> type[BaseModel]:
    data_model = _DATA.get(event_type, ProductEventData)
    name = "".join(p.capitalize() for p in event_type.replace("_", ".").split(".")) + "Event"
    return create_model(
        name,
        __doc__=EVENT_TYPES[event_type],
        type=(Literal[event_type], Field(description="The event type.", examples=[event_type])),  # type: ignore[arg-type]
        timestamp=(datetime, Field(description="When it happened.", examples=[_TIME])),
        data=(data_model, Field(description="What happened.")),
    )


def install_webhook_docs(app: FastAPI) -> None:
    for event_type, meaning in EVENT_TYPES.items():
        body = _envelope(event_type)

        async def receiver(event: Any) -> None:
            """Documentation only: the platform sends, your endpoint receives."""

        # Set after definition: with postponed annotations a closure's name is not resolvable.
        receiver.__annotations__ = {"event": body, "return": None}
        app.webhooks.post(
            event_type,
            summary=event_type,
            description=f"{meaning}\n\n{HEADERS_DOC}",
            operation_id=f"webhook_{event_type.replace('.', '_')}",
        )(receiver)
