"""Webhooks end to end: outbox events reach real receivers on loopback, signed (verified with
the standardwebhooks library), retried, logged, redelivered; endpoints are the developer's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from app.infra.webhooks.urls import AddressGuard
from tests import factories as f
from tests.event_support import product_updated
from tests.oauth_support import authorized, make_app
from tests.product_support import Provider, listed
from tests.webhook_support import drain, receiver, subscribe

NewClient = Callable[..., httpx.AsyncClient]


async def _log(p: Provider, endpoint: dict[str, object], what: str, **params: object) -> list[dict]:
    dev = p.auth.app.developer
    r = await dev.client.get(
        f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}/{what}",
        params={"limit": 100, **params},
    )
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def test_product_events_reach_the_receiver_signed(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = Provider(client, await authorized(client))
    op = await f.operator(container, new_client())
    with receiver() as rx:
        endpoint = await subscribe(client, p.auth.app, rx.url, ["product.*"])
        assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"] is True
        product = await p.create()
        await listed(p, op, product["id"])
        await drain(container)

        verified = rx.verified(endpoint["secret"])
        types = [b["type"] for b in verified]
        assert types == ["product.review_passed", "product.listed"]
        listed_body = verified[1]
        assert listed_body["data"]["product_id"] == product["id"]
        assert listed_body["data"]["status"] == "listed"
        assert datetime.fromisoformat(listed_body["timestamp"]).tzinfo is not None
        ids = [r.headers["webhook-id"] for r in rx.received]
        assert len(set(ids)) == 2 and all(i.startswith("msg_") for i in ids)
        # No secret ever travels in a payload.
        assert endpoint["secret"] not in b"".join(r.body for r in rx.received).decode()

        # The log: one successful attempt per delivery, with the receiver's answer.
        deliveries = await _log(p, endpoint, "deliveries")
        assert {d["id"] for d in deliveries} == set(ids)
        assert all(d["status"] == "succeeded" and d["attempts"] == 1 for d in deliveries)
        attempts = await _log(p, endpoint, "attempts")
        assert [a["status_code"] for a in attempts] == [200, 200]
        assert attempts[0]["response_head"] == "status 200"


async def test_a_failing_receiver_is_retried_until_it_recovers_then_redelivered(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = Provider(client, await authorized(client))
    with receiver(statuses=[500, 503]) as rx:
        endpoint = await subscribe(client, p.auth.app, rx.url, ["webhook.ping", "product.*"])
        dev = p.auth.app.developer
        base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}"
        r = await dev.client.post(f"{base}/test", headers=dev.h)
        assert r.status_code == 202, r.text
        ping = r.json()
        assert ping["event_type"] == "webhook.ping" and ping["status"] == "pending"
        await drain(container)

        # Two failures, then one success: exactly one success, three attempts, one webhook-id.
        assert [r.headers["webhook-id"] for r in rx.received] == [ping["id"]] * 3
        [delivery] = await _log(p, endpoint, "deliveries")
        assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
        attempts = await _log(p, endpoint, "attempts")
        assert [a["status_code"] for a in attempts] == [200, 503, 500]
        assert [a["attempt"] for a in attempts] == [3, 2, 1]
        failed = await _log(p, endpoint, "attempts", failed="true")
        assert [a["status_code"] for a in failed] == [503, 500]
        r = await dev.client.get(base)
        assert r.json()["failing_since"] is None and r.json()["enabled"] is True

    # A receiver down for the whole schedule: the delivery fails after 1 + 3 attempts...
    with receiver(default=500) as down:
        r = await dev.client.patch(base, json={"url": down.url}, headers=dev.h)
        assert r.status_code == 200, r.text
        await dev.client.post(f"{base}/test", headers=dev.h)
        await drain(container)
        assert len(down.received) == 4
        [failed_delivery] = await _log(p, endpoint, "deliveries", status="failed")
        assert failed_delivery["attempts"] == 4 and failed_delivery["last_status_code"] == 500
        assert (await dev.client.get(base)).json()["failing_since"] is not None
        # ... and arrives once the receiver is back and the developer asks again.
        down.default = 200
        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        r = await dev.client.post(f"{base}/redeliveries", json={"since": since}, headers=dev.h)
        assert r.status_code == 202 and r.json() == {"queued": 1}
        await drain(container)
        assert len(down.received) == 5
        assert down.received[-1].headers["webhook-id"] == failed_delivery["id"]
        assert (await _log(p, endpoint, "deliveries", status="failed")) == []
        # One delivery, by id.
        r = await dev.client.post(
            f"{base}/deliveries/{failed_delivery['id']}/redeliver", headers=dev.h
        )
        assert r.status_code == 202 and r.json()["status"] == "pending"
        await drain(container)
        assert len(down.received) == 6
        r = await dev.client.post(f"{base}/deliveries/msg_nope/redeliver", headers=dev.h)
        assert r.status_code == 404 and r.json()["code"] == "webhook_delivery_not_found"


async def test_410_disables_the_endpoint_and_tells_the_app(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = Provider(client, await authorized(client))
    dev = p.auth.app.developer
    with receiver(default=410) as gone, receiver() as other:
        endpoint = await subscribe(client, p.auth.app, gone.url, ["webhook.ping"])
        watcher = await subscribe(client, p.auth.app, other.url, ["app.*"])
        base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}"
        await dev.client.post(f"{base}/test", headers=dev.h)
        await drain(container)
        assert len(gone.received) == 1  # no retry after 410
        r = await dev.client.get(base)
        assert r.json()["enabled"] is False
        assert r.json()["disabled_reason"] == "The endpoint answered 410 Gone."
        notice = other.verified(watcher["secret"])
        assert [b["type"] for b in notice] == ["app.webhook_disabled"]
        assert notice[0]["data"]["endpoint_id"] == endpoint["id"]
        # Nothing goes to a disabled endpoint; re-enabling resumes.
        await dev.client.post(f"{base}/test", headers=dev.h)
        await drain(container)
        assert len(gone.received) == 1
        r = await dev.client.patch(base, json={"enabled": True}, headers=dev.h)
        assert r.json()["enabled"] is True and r.json()["disabled_reason"] is None


async def test_only_authorized_shops_with_the_read_scope_are_delivered(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    app = await make_app(client)
    full = Provider(client, await authorized(client, app=app))
    narrow = Provider(new_client(), await authorized(new_client(), app=app, scope="products:write"))
    with receiver() as rx:
        endpoint = await subscribe(client, app, rx.url, ["product.*", "app.*"])
        a = await full.create()
        b = await narrow.create()
        # product.updated through a price change, in both shops.
        for prov, prod in ((full, a), (narrow, b)):
            r = await prov.client.patch(
                f"/v1/products/{prod['id']}/skus/{prod['skus'][0]['id']}",
                json={"price": 1500},
                headers=prov.h,
            )
            assert r.status_code == 200, r.text
        await drain(container)
        got = rx.verified(endpoint["secret"])
        assert [(b["type"], b["data"]["product_id"]) for b in got] == [("product.updated", a["id"])]
        # Revoked: the shop's events stop; the app hears of the revocation itself.
        m = full.auth.merchant
        r = await m.client.delete(
            f"/merchant/shops/{full.auth.shop['id']}/apps/{app.id}", headers=m.h
        )
        assert r.status_code == 204, r.text
        async with container.uow() as uow:
            await uow.outbox.add(product_updated(full.auth.shop["id"], a["id"]))
            await uow.commit()
        await drain(container)
        types = [b["type"] for b in rx.verified(endpoint["secret"])]
        assert types == ["product.updated", "app.authorization_revoked"]


async def test_secret_rotation_signs_with_both_secrets_during_the_overlap(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = Provider(client, await authorized(client))
    dev = p.auth.app.developer
    with receiver() as rx:
        endpoint = await subscribe(client, p.auth.app, rx.url, ["*"])
        base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}"
        r = await dev.client.post(f"{base}/secret", headers=dev.h)
        assert r.status_code == 200, r.text
        new_secret = r.json()["secret"]
        assert new_secret != endpoint["secret"] and r.json()["previous_secret_until"]
        await dev.client.post(f"{base}/test", headers=dev.h)
        await drain(container)
        assert len(rx.received[0].headers["webhook-signature"].split(" ")) == 2
        assert rx.verified(endpoint["secret"]) == rx.verified(new_secret)


async def test_endpoints_are_the_developers_own_and_urls_are_checked(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = Provider(client, await authorized(client))
    other = await make_app(client)
    dev = p.auth.app.developer
    endpoint = await subscribe(client, p.auth.app, "http://127.0.0.1:8009/hooks", ["product.*"])
    base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints"
    # Another developer sees nothing of it, under either app id.
    od = other.developer
    for path in (
        f"{base}/{endpoint['id']}",
        f"/v1/apps/{other.id}/webhook-endpoints/{endpoint['id']}",
    ):
        r = await od.client.get(path)
        assert r.status_code == 404, r.text
    r = await od.client.delete(f"{base}/{endpoint['id']}", headers=od.h)
    assert r.status_code == 404

    # Topics are checked; nothing is created on a bad request.
    r = await dev.client.post(
        base,
        json={"url": "https://example.com/h", "topics": ["product.*", "nope.x"]},
        headers=dev.h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "topics", 1]
    # Without the development allowance, private and loopback addresses are refused.
    monkeypatch.setattr(container, "webhook_guard", AddressGuard(allow_private=False))
    for url in (
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "https://169.254.169.254/latest",
        "http://example.com/h",
    ):
        r = await dev.client.post(base, json={"url": url, "topics": ["*"]}, headers=dev.h)
        assert r.status_code == 422, (url, r.text)
    listed_endpoints = (await dev.client.get(base)).json()["data"]
    assert [e["id"] for e in listed_endpoints] == [endpoint["id"]]
    assert "secret" not in listed_endpoints[0]
    r = await dev.client.delete(f"{base}/{endpoint['id']}", headers=dev.h)
    assert r.status_code == 204
    assert (await dev.client.get(base)).json()["data"] == []


async def test_send_time_check_refuses_a_private_address(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL accepted earlier is checked again before each send (DNS may have changed)."""
    p = Provider(client, await authorized(client))
    dev = p.auth.app.developer
    with receiver() as rx:
        endpoint = await subscribe(client, p.auth.app, rx.url, ["webhook.ping"])
        base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}"
        await dev.client.post(f"{base}/test", headers=dev.h)
        monkeypatch.setattr(container.settings, "webhook_allow_private", False)
        await drain(container)
        assert rx.received == []
        attempts = await _log(p, endpoint, "attempts")
        assert attempts and all(a["error"].startswith("refused:") for a in attempts)
    async with container.engine.connect() as conn:
        n = await conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.webhook_deliveries)
            .where(tables.webhook_deliveries.c.endpoint_id == endpoint["id"])
        )
        assert n.scalar_one() == 1


async def test_an_endpoint_failing_past_the_limit_is_disabled(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit is 24 h by default; here 0 s, so the first failure already exceeds it."""
    p = Provider(client, await authorized(client))
    dev = p.auth.app.developer
    monkeypatch.setattr(container.settings, "webhook_disable_after_seconds", 0)
    with receiver(default=502) as rx, receiver() as watcher_rx:
        endpoint = await subscribe(client, p.auth.app, rx.url, ["webhook.ping"])
        watcher = await subscribe(client, p.auth.app, watcher_rx.url, ["app.webhook_disabled"])
        base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}"
        await dev.client.post(f"{base}/test", headers=dev.h)
        await drain(container)
        body = (await dev.client.get(base)).json()
        assert body["enabled"] is False and body["disabled_reason"].startswith("Every attempt")
        [notice] = watcher_rx.verified(watcher["secret"])
        assert notice["data"] == {
            "endpoint_id": endpoint["id"],
            "url": rx.url,
            "reason": body["disabled_reason"],
        }
        # The pending retry is not sent to a disabled endpoint.
        assert len(rx.received) == 1
        [delivery] = await _log(p, endpoint, "deliveries")
        assert delivery["status"] == "failed" and delivery["last_error"] == "endpoint disabled"


async def test_finished_deliveries_and_old_events_are_pruned(
    client: httpx.AsyncClient, container: Container
) -> None:
    from app.infra.webhooks.dispatcher import Dispatcher

    p = Provider(client, await authorized(client))
    dev = p.auth.app.developer
    with receiver() as rx:
        endpoint = await subscribe(client, p.auth.app, rx.url, ["webhook.ping"])
        base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}"
        old = (await dev.client.post(f"{base}/test", headers=dev.h)).json()
        await drain(container)
        fresh = (await dev.client.post(f"{base}/test", headers=dev.h)).json()
        await drain(container)
    d, o = tables.webhook_deliveries, tables.outbox_events
    past = datetime.now(UTC) - timedelta(days=31)
    async with container.engine.begin() as conn:
        await conn.execute(sa.update(d).where(d.c.id == old["id"]).values(updated_at=past))
        await conn.execute(sa.update(o).where(o.c.id == old["event_id"]).values(created_at=past))
    dispatcher = Dispatcher(container.engine, container.cipher, container.settings)
    try:
        pruned = await dispatcher.prune()
    finally:
        await dispatcher.close()
    assert pruned["webhook_deliveries"] >= 1 and pruned["outbox_events"] >= 1
    left = [x["id"] for x in await _log(p, endpoint, "deliveries")]
    assert left == [fresh["id"]]
    assert await _log(p, endpoint, "attempts") and all(
        a["delivery_id"] == fresh["id"] for a in await _log(p, endpoint, "attempts")
    )


async def test_a_delivery_never_overtakes_an_earlier_one_of_the_same_resource(
    client: httpx.AsyncClient, container: Container
) -> None:
    """The first event of product A fails once; A's second event waits for its retry, while
    product B's event, another resource, goes out at once."""
    from app.infra.webhooks.dispatcher import Dispatcher

    auth = await authorized(client)

    async def change(resource: str, step: str) -> None:
        async with container.uow() as uow:
            await uow.outbox.add(product_updated(auth.shop["id"], resource, step))
            await uow.commit()

    with receiver(statuses=[500]) as rx:
        await subscribe(client, auth.app, rx.url, ["product.*"])
        await drain(container)  # the app's own earlier events
        await change("prod_a", "a1")
        await change("prod_a", "a2")
        dispatcher = Dispatcher(container.engine, container.cipher, container.settings)
        try:
            assert await dispatcher.run_once() == (2, 1)  # a1 only, answered 500
        finally:
            await dispatcher.close()
        await change("prod_b", "b1")
        await drain(container)
    steps = [r.json["data"]["changed"][0] for r in rx.received]
    assert steps.count("a1") == 2 and steps.count("a2") == 1 and steps.count("b1") == 1
    # a2 only after a1's successful retry; b1 did not wait for product A.
    assert steps.index("a2") > len(steps) - 1 - steps[::-1].index("a1")
    assert steps.index("b1") < steps.index("a2")


async def test_a_redirect_is_a_failure_and_is_not_followed(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = Provider(client, await authorized(client))
    dev = p.auth.app.developer
    with receiver(statuses=[302]) as rx:
        endpoint = await subscribe(client, p.auth.app, rx.url, ["webhook.ping"])
        base = f"/v1/apps/{p.auth.app.id}/webhook-endpoints/{endpoint['id']}"
        await dev.client.post(f"{base}/test", headers=dev.h)
        await drain(container)
        assert [r.path for r in rx.received] == ["/hooks", "/hooks"]  # never /elsewhere
        attempts = await _log(p, endpoint, "attempts")
        assert [(a["status_code"], a["succeeded"]) for a in attempts] == [(200, True), (302, False)]


async def test_a_failure_inside_the_sender_is_a_failed_attempt_not_a_lost_batch(
    client: httpx.AsyncClient, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    """An endpoint whose stored secret cannot be decrypted (a bug or a key mix-up): its
    delivery gets a failed attempt and is retried; the rest of the batch goes out."""
    from app.infra.webhooks.dispatcher import Dispatcher

    p = Provider(client, await authorized(client))
    with receiver() as good, receiver() as other:
        broken = await subscribe(client, p.auth.app, other.url, ["product.*"])
        fine = await subscribe(client, p.auth.app, good.url, ["product.*"])
        async with container.engine.begin() as conn:
            await conn.execute(
                sa.update(tables.webhook_endpoints)
                .where(tables.webhook_endpoints.c.id == broken["id"])
                .values(secret_enc="not-a-fernet-token")
            )
        async with container.uow() as uow:
            await uow.outbox.add(product_updated(p.auth.shop["id"], "prod_x"))
            await uow.commit()
        dispatcher = Dispatcher(container.engine, container.cipher, container.settings)
        try:
            await dispatcher.run_once()
        finally:
            await dispatcher.close()
        assert len(good.received) == 1 and not other.received
    assert "sending a webhook failed" in caplog.text
    [attempt] = await _log(p, broken, "attempts")
    assert attempt["error"] == "internal error: InvalidToken" and attempt["status_code"] is None
    [delivery] = await _log(p, broken, "deliveries")
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert [d["status"] for d in await _log(p, fine, "deliveries")] == ["succeeded"]
