"""Helpers for the product tests: a provider on a fresh shop, bodies, the operator, the outbox."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from tests import factories as f
from tests.oauth_support import Authorized, authorized

LEAF = "cat_apparel_women_dresses"


def sku(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"sale_attrs": {"size": "M"}, "price": 19900, "stock": 10}
    body.update(overrides)
    return body


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": f"Linen dress {secrets.token_hex(3)}",
        "subtitle": "Breathable linen",
        "description": [
            {"type": "text", "text": "Pure linen."},
            {"type": "image", "url": "https://cdn.example.com/d.jpg"},
        ],
        "images": ["https://cdn.example.com/front.jpg"],
        "category_id": LEAF,
        "brand_id": "brand_none",
        "attributes": [{"name": "Material", "value": "Linen"}],
        "regions": ["11", "31", "44"],
        "skus": [
            sku(sale_attrs={"colour": "red", "size": "M"}, market_price=25900),
            sku(sale_attrs={"colour": "red", "size": "L"}, price=20900, stock=0),
        ],
    }
    body.update(overrides)
    return body


@dataclass
class Provider:
    client: httpx.AsyncClient
    auth: Authorized

    @property
    def h(self) -> dict[str, str]:
        return self.auth.bearer

    @property
    def shop_id(self) -> str:
        return str(self.auth.shop["id"])

    async def create(self, **overrides: Any) -> dict[str, Any]:
        r = await self.client.post("/v1/products", json=product_body(**overrides), headers=self.h)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def post(self, path: str, body: Any = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.h)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.h)


async def provider(client: httpx.AsyncClient, **kw: Any) -> Provider:
    return Provider(client, await authorized(client, **kw))


async def approved(p: Provider, op: f.User, product_id: str) -> dict[str, Any]:
    r = await p.post(f"/v1/products/{product_id}/submit")
    assert r.status_code == 200, r.text
    r = await op.client.post(f"/v1/platform/products/{product_id}/approve", headers=op.h)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def listed(p: Provider, op: f.User, product_id: str) -> dict[str, Any]:
    await approved(p, op, product_id)
    r = await p.post(f"/v1/products/{product_id}/listing")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def events(container: Container, product_id: str) -> list[tuple[str, dict[str, Any]]]:
    t = tables.outbox_events
    async with container.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(t.c.type, t.c.data).where(t.c.resource_id == product_id).order_by(t.c.id)
            )
        ).all()
    return [(r.type, r.data) for r in rows]


async def audit(p: Provider, **params: Any) -> list[dict[str, Any]]:
    m = p.auth.merchant
    r = await m.client.get(
        f"/merchant/shops/{p.shop_id}/audit-log", params={"limit": 100, **params}
    )
    assert r.status_code == 200, r.text
    return list(r.json()["data"])
