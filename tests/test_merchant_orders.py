"""The shop's orders on the merchant surface: every role reads them; finance reads amounts."""

from __future__ import annotations

import httpx

from app.container import Container
from tests import factories as f
from tests.order_support import order_in_shop


async def _member(owner: f.User, shop_id: str, new_client: f.NewClient, role: str) -> f.User:
    u = await f.user(new_client())
    r = await owner.client.post(
        f"/merchant/shops/{shop_id}/members",
        json={"username": u.username, "role": role},
        headers=owner.h,
    )
    assert r.status_code == 201, r.text
    return u


async def test_members_read_the_shops_orders_by_role(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    buyer = await f.user(new_client())
    order_id = await order_in_shop(container, shop["id"], buyer.id)
    for role in ("owner", "operator", "customer_service", "finance"):
        u = owner if role == "owner" else await _member(owner, shop["id"], new_client, role)
        listed = await u.client.get(f"/merchant/shops/{shop['id']}/orders", headers=u.h)
        assert listed.status_code == 200, listed.text
        [order] = listed.json()["data"]
        one = await u.client.get(f"/merchant/shops/{shop['id']}/orders/{order_id}", headers=u.h)
        assert one.status_code == 200 and one.json() == order
        assert order["id"] == order_id and order["total"] == 9900
        if role == "finance":
            assert order["address"] is None and order["buyer_note"] is None
        else:
            assert order["address"]["district"] == "南山区" and order["buyer_note"] == "For B"
    stranger = await f.user(new_client())
    r = await stranger.client.get(f"/merchant/shops/{shop['id']}/orders", headers=stranger.h)
    assert r.status_code == 404 and r.json()["code"] == "shop_not_found"
    r = await owner.client.get(
        f"/merchant/shops/{shop['id']}/orders", params={"status": [20]}, headers=owner.h
    )
    assert r.json()["data"] == []
