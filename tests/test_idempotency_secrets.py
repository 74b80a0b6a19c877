"""Responses that carry a secret shown once (client secrets, webhook signing secrets) are stored
for `Idempotency-Key` replays encrypted with the key ring: no query over the table reads them,
and a replay still gives the secret back."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

from app.container import Container
from app.infra.db import tables
from tests.oauth_support import make_app
from tests.test_idempotency import IK, assert_problem, key, run_and_find_row, update_key_row

t = tables.idempotency_keys


async def _stored(container: Container) -> list[Any]:
    async with container.engine.connect() as conn:
        return list((await conn.execute(sa.select(t.c.scope_key, t.c.response_body))).all())


async def test_secrets_are_not_readable_in_the_store_and_replays_return_them(
    client: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(client)
    dev = app.developer
    base = f"/v1/apps/{app.id}"
    calls: list[tuple[str, dict[str, Any] | None, str]] = [
        (
            "/v1/apps",
            {
                "name": f"App {secrets.token_hex(3)}",
                "description": "Another app.",
                "service_types": ["batch_order"],
                "redirect_uris": ["https://app.example.com/cb"],
                "scopes": ["products:read"],
            },
            "client_secret",
        ),
        (f"{base}/secret", None, "client_secret"),
        (
            f"{base}/webhook-endpoints",
            {"url": "http://127.0.0.1:8009/hooks", "topics": ["*"]},
            "secret",
        ),
    ]
    firsts: list[tuple[str, dict[str, Any] | None, str, httpx.Response]] = []
    for path, body, _ in calls:
        k = key()
        r = await dev.client.post(path, json=body, headers={**dev.h, IK: k})
        assert r.status_code in (200, 201), r.text
        firsts.append((path, body, k, r))
    endpoint_id = firsts[-1][3].json()["id"]
    rotate = f"{base}/webhook-endpoints/{endpoint_id}/secret"
    k = key()
    r = await dev.client.post(rotate, headers={**dev.h, IK: k})
    assert r.status_code == 200, r.text
    firsts.append((rotate, None, k, r))
    calls.append((rotate, None, "secret"))

    shown = [r.json()[field] for (_, _, field), (_, _, _, r) in zip(calls, firsts, strict=True)]
    assert shown[2].startswith("whsec_") and shown[3].startswith("whsec_")
    # One query over the whole table: no secret, no response in the clear.
    dump = b"\n".join(bytes(body or b"") for _, body in await _stored(container))
    for secret in shown:
        assert secret.encode() not in dump
    assert b"whsec_" not in dump and b"client_secret" not in dump
    # A replay gives the same response back, secret included.
    for (path, body, k, first), secret in zip(firsts, shown, strict=True):
        again = await dev.client.post(path, json=body, headers={**dev.h, IK: k})
        assert again.status_code == first.status_code, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json() and secret in again.text


async def test_a_response_no_key_opens_is_a_409_not_a_rerun(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A key ring that lost the key the response was sealed with: the client is told, and the
    operation does not run a second time."""
    app = await make_app(client)
    dev = app.developer
    k = key()
    path = f"/v1/apps/{app.id}/secret"
    r, row = await run_and_find_row(container, dev.client.post(path, headers={**dev.h, IK: k}))
    assert r.status_code == 200, r.text
    hash_after_first = await _secret_hash(container, app.id)
    lost = Fernet(Fernet.generate_key()).encrypt(r.content)
    await update_key_row(container, row, response_body=lost)
    again = await dev.client.post(path, headers={**dev.h, IK: k})
    assert_problem(again, 409, "idempotency_response_unavailable")
    assert r.json()["client_secret"] not in again.text
    # The rotation did not run a second time.
    assert await _secret_hash(container, app.id) == hash_after_first


async def _secret_hash(container: Container, app_id: str) -> str:
    a = tables.apps
    async with container.engine.connect() as conn:
        return str(
            (await conn.execute(sa.select(a.c.secret_hash).where(a.c.id == app_id))).scalar_one()
        )
