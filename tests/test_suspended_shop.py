"""A suspended shop: every provider write answers 403 `shop_suspended` and changes nothing;
reads keep working. The operations come from the route table (the OpenAPI document built from
it), so a write added later is covered without touching this file."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.container import Container
from tests import factories as f
from tests.oauth_support import authorized
from tests.test_provider_enforcement import (
    NewClient,
    Operation,
    ShopContext,
    _unlimited,
    call,
    collect,
    op_ids,
    problem,
    provider_operations,
)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _refused(r: httpx.Response, shop_id: str) -> None:
    body = problem(r, 403, "shop_suspended")
    assert body["shop_id"] == shop_id, body


def _changed_nothing(before: dict[str, str], after: dict[str, str]) -> None:
    changed = sorted(t for t in before if before[t] != after[t])
    assert not changed, f"changed rows in {changed}"


def _read_allowed(r: httpx.Response) -> None:
    assert r.is_success, f"a read while suspended: {r.status_code} {r.text}"


def _succeeds(r: httpx.Response) -> None:
    assert r.is_success, f"once reinstated: {r.status_code} {r.text}"


async def test_every_provider_write_is_refused_while_the_shop_is_suspended(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    auth = await authorized(client)
    await _unlimited(container, auth.app.id)
    shop = ShopContext(auth, client, container)
    sid = auth.shop["id"]
    ops = provider_operations(app)
    writes = [op for op in ops if op.method not in SAFE_METHODS]
    reads = [op for op in ops if op.method in SAFE_METHODS]
    # The enumeration must see the writes named in the issue, else it tests nothing.
    assert {
        "setSkuStock",
        "adjustSkuStock",
        "batchChangeStock",
        "batchProducts",
        "batchOrders",
        "delistProduct",
        "deleteProduct",
        "updateShop",
    } <= {op.id for op in writes}
    # Each operation gets its own resources, in the state it needs, while the shop is active.
    prepared: list[tuple[Operation, dict[str, str]]] = [(op, await op_ids(op, shop)) for op in ops]

    operator = await f.operator(container, new_client())
    r = await operator.client.post(
        f"/v1/platform/shops/{sid}/suspend",
        json={"reason": "Counterfeit goods."},
        headers=operator.h,
    )
    assert r.status_code == 200, r.text

    failures: list[str] = []
    # Nothing may change from here on: each call's "after" is the next one's "before".
    after = await f.fingerprint(container, sid)
    for op, ids in prepared:
        before = after
        r = await call(app, client, op, ids, auth.bearer)
        if op in writes:
            collect(failures, op, _refused, r, sid)
        else:
            collect(failures, op, _read_allowed, r)
        after = await f.fingerprint(container, sid)
        collect(failures, op, _changed_nothing, before, after)
    assert not failures, "\n".join(failures)
    assert reads  # the reads above really ran

    # Control: the same calls on the same resources go through once the shop is reinstated.
    r = await operator.client.post(f"/v1/platform/shops/{sid}/reinstate", headers=operator.h)
    assert r.status_code == 200, r.text
    for op, ids in prepared:
        if op in writes:
            collect(failures, op, _succeeds, await call(app, client, op, ids, auth.bearer))
    assert not failures, "\n".join(failures)
