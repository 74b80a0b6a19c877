"""Editing a listed product: a pending revision is reviewed while the live version sells."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.container import Container
from tests import factories as f
from tests.product_support import Provider, audit, events, listed, provider

NewClient = Callable[..., httpx.AsyncClient]


async def _patch(p: Provider, pid: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await p.client.patch(f"/v1/products/{pid}", json=body, headers={**p.h, **headers})


async def _live_and_pending(p: Provider, pid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    live = await p.get(f"/v1/products/{pid}")
    pending = await p.get(f"/v1/products/{pid}", version="pending")
    assert live.status_code == 200 and pending.status_code == 200, pending.text
    assert live.json()["view"] == "live" and pending.json()["view"] == "pending"
    return live.json(), pending.json()


async def test_an_edit_of_a_listed_product_waits_for_review_while_the_live_version_sells(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create(out_product_id="erp-rev-1")
    pid = product["id"]
    old_title = product["title"]
    live_product = await listed(p, op, pid)

    r = await _patch(
        p,
        pid,
        {"title": "Linen dress, new cut", "regions": ["11"], "out_product_id": "erp-rev-2"},
        **{"If-Match": f'"{live_product["version"]}"'},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # Still on sale with the live content; your own id is not reviewed and applies at once.
    assert body["status"] == "listed" and body["title"] == old_title
    assert body["out_product_id"] == "erp-rev-2"
    assert body["pending_revision"] == {
        "status": "in_review",
        "changes": {"title": "Linen dress, new cut", "regions": ["11"]},
        "rejection_reason": None,
    }
    assert r.headers["etag"] == f'"{body["version"]}"'

    live, pending = await _live_and_pending(p, pid)
    assert live["title"] == old_title and live["regions"] == ["11", "31", "44"]
    assert pending["title"] == "Linen dress, new cut" and pending["regions"] == ["11"]
    assert pending["status"] == "listed" and pending["version"] == live["version"]
    by_out = await p.get("/v1/products/by-out-id/erp-rev-2", version="pending")
    assert by_out.json()["title"] == "Linen dress, new cut"
    listed_pending = await p.get("/v1/products", out_product_id="erp-rev-2", version="pending")
    assert [x["title"] for x in listed_pending.json()["data"]] == ["Linen dress, new cut"]
    assert (await p.get("/v1/products", version="draft")).status_code == 422

    # Price and stock change at once, without review, while the revision waits.
    sku_id = product["skus"][0]["id"]
    r = await client.patch(f"/v1/products/{pid}/skus/{sku_id}", json={"price": 15900}, headers=p.h)
    assert r.status_code == 200 and r.json()["price"] == 15900

    # The operator sees the revision in the queue and approves it: swapped in at once.
    r = await op.client.get("/v1/platform/review-queue/products", params={"limit": 100})
    queued = [x for x in r.json()["data"] if x["id"] == pid]
    assert queued and queued[0]["pending_revision"]["status"] == "in_review"
    r = await op.client.post(f"/v1/platform/products/{pid}/approve", headers=op.h)
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Linen dress, new cut" and r.json()["pending_revision"] is None
    assert r.json()["status"] == "listed"
    live, pending = await _live_and_pending(p, pid)
    assert live["title"] == pending["title"] == "Linen dress, new cut"
    assert live["regions"] == ["11"]

    kinds = [(t, d) for t, d in await events(container, pid)]
    passed = [d for t, d in kinds if t == "product.review_passed" and d.get("revision")]
    assert passed == [
        {
            "shop_id": p.shop_id,
            "product_id": pid,
            "out_product_id": "erp-rev-2",
            "status": "listed",
            "revision": True,
            "changed": ["regions", "title"],
        }
    ]
    updated = [d["changed"] for t, d in kinds if t == "product.updated"]
    assert ["out_product_id"] in updated and ["regions", "title"] in updated
    assert "product.delisted" not in [t for t, _ in kinds]
    actions = [e["action"] for e in await audit(p, target_id=pid)]
    assert "product.revision_submitted" in actions


async def test_a_rejected_revision_leaves_the_live_version_and_can_be_edited_again(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create()
    pid = product["id"]
    await listed(p, op, pid)
    assert (await _patch(p, pid, {"subtitle": "Now in silk"})).status_code == 200

    r = await op.client.post(
        f"/v1/platform/products/{pid}/reject", json={"reason": "Not silk."}, headers=op.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["pending_revision"] == {
        "status": "rejected",
        "changes": {"subtitle": "Now in silk"},
        "rejection_reason": "Not silk.",
    }
    assert r.json()["subtitle"] == "Breathable linen" and r.json()["status"] == "listed"
    rejected = [d for t, d in await events(container, pid) if t == "product.review_rejected"]
    assert rejected[-1]["revision"] is True and rejected[-1]["reason"] == "Not silk."
    # No second decision on a rejected revision.
    r = await op.client.post(f"/v1/platform/products/{pid}/approve", headers=op.h)
    assert r.status_code == 409 and r.json()["current_status"] == "listed"

    # A further edit merges into the revision and sends it back to review.
    r = await _patch(p, pid, {"title": "Silk-look dress"})
    assert r.json()["pending_revision"] == {
        "status": "in_review",
        "changes": {"subtitle": "Now in silk", "title": "Silk-look dress"},
        "rejection_reason": None,
    }
    # Setting a field back to its live value drops it from the revision.
    r = await _patch(p, pid, {"subtitle": "Breathable linen"})
    assert r.json()["pending_revision"]["changes"] == {"title": "Silk-look dress"}

    # Withdrawn: the live version is as it was; a second withdrawal has nothing to withdraw.
    r = await client.delete(f"/v1/products/{pid}/pending-revision", headers=p.h)
    assert r.status_code == 200 and r.json()["pending_revision"] is None
    assert r.json()["title"] == product["title"]
    r = await client.delete(f"/v1/products/{pid}/pending-revision", headers=p.h)
    assert r.status_code == 404 and r.json()["code"] == "no_pending_revision"
    r = await op.client.get("/v1/platform/review-queue/products", params={"limit": 100})
    assert pid not in [x["id"] for x in r.json()["data"]]


async def test_revision_rules_delisting_bans_and_tenancy(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    other = await provider(new_client())
    op = await f.operator(container, new_client())
    product = await p.create()
    pid = product["id"]
    live = await listed(p, op, pid)

    # Bad input is a field error and changes nothing; a stale If-Match is a 412.
    r = await _patch(p, pid, {"category_id": "cat_food", "regions": ["99"]})
    assert r.status_code == 422
    assert {".".join(e["loc"]) for e in r.json()["errors"]} >= {
        "body.category_id",
        "body.regions.0",
    }
    r = await _patch(p, pid, {"title": "x"}, **{"If-Match": '"999"'})
    assert r.status_code == 412
    assert (await p.get(f"/v1/products/{pid}")).json()["version"] == live["version"]

    # An edit that changes nothing reviewed makes no revision.
    r = await _patch(p, pid, {"title": product["title"]})
    assert r.status_code == 200 and r.json()["pending_revision"] is None

    # Another shop's token does not see the product or its revision.
    assert (await _patch(p, pid, {"title": "Pending title"})).status_code == 200
    r = await client.delete(f"/v1/products/{pid}/pending-revision", headers=other.h)
    assert r.status_code == 404 and r.json()["code"] == "product_not_found"
    assert (await other.get(f"/v1/products/{pid}", version="pending")).status_code == 404

    # Delisting keeps the revision; edits keep going into it; listing again keeps it too.
    assert (await p.post(f"/v1/products/{pid}/delisting")).json()["status"] == "delisted"
    r = await _patch(p, pid, {"subtitle": "Still pending"})
    assert r.json()["status"] == "delisted"
    assert set(r.json()["pending_revision"]["changes"]) == {"title", "subtitle"}
    r = await p.post(f"/v1/products/{pid}/listing")
    assert r.status_code == 200 and r.json()["pending_revision"] is not None

    # A ban ends the revision with the product.
    r = await op.client.post(
        f"/v1/platform/products/{pid}/ban", json={"reason": "Counterfeit."}, headers=op.h
    )
    assert r.status_code == 200 and r.json()["pending_revision"] is None
    r = await _patch(p, pid, {"title": "After ban"})
    assert r.status_code == 409 and r.json()["current_status"] == "banned"


async def test_auto_approve_swaps_a_revision_in_at_once(
    client: httpx.AsyncClient,
    container: Container,
    new_client: NewClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create()
    pid = product["id"]
    await listed(p, op, pid)
    monkeypatch.setattr(container.settings, "auto_approve_reviews", True)
    r = await _patch(p, pid, {"title": "Renamed at once"})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Renamed at once" and r.json()["pending_revision"] is None
    assert r.json()["status"] == "listed"
    types = [t for t, _ in await events(container, pid)]
    assert types[-2:] == ["product.review_passed", "product.updated"]
