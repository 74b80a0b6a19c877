"""How an import upload is received: a cap on each app's uploads in flight, the file as the
raw body or as a `multipart/form-data` part, and a request body the spec describes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from app.api.uploads import UploadSlots
from app.container import Container
from tests.bulk_support import CSV, NDJSON, all_products, product_lines, run_job, to_csv, to_jsonl
from tests.bulk_support import upload as raw_upload
from tests.product_support import Provider, provider

NewClient = Callable[..., httpx.AsyncClient]
IMPORTS = "/v1/products/bulk-imports"


@pytest.fixture
def one_upload_per_app(app: Any) -> Iterator[UploadSlots]:
    # Not monkeypatch: its undo deletes a Starlette `State` attribute instead of restoring it.
    kept = app.state.upload_slots
    app.state.upload_slots = slots = UploadSlots(1)
    try:
        yield slots
    finally:
        app.state.upload_slots = kept


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "with-idempotency-key"])
async def test_an_app_may_send_so_many_uploads_at_once(
    client: httpx.AsyncClient,
    new_client: NewClient,
    one_upload_per_app: UploadSlots,
    keyed: bool,
) -> None:
    # With an Idempotency-Key too: the key is claimed when the route starts reading its body,
    # after the cap (and the quotas) said yes, never by receiving the upload before them.
    slots = one_upload_per_app

    def key() -> dict[str, str]:
        return {"Idempotency-Key": f"up-{uuid.uuid4()}"} if keyed else {}

    p = await provider(client)
    second_shop = await provider(new_client(), app=p.auth.app)
    other_app = await provider(new_client())
    gate = asyncio.Event()
    content = to_csv(product_lines("slow-1"))

    async def slow_body() -> AsyncIterator[bytes]:
        yield content[:10]
        await gate.wait()
        yield content[10:]

    first = asyncio.create_task(
        client.post(IMPORTS, content=slow_body(), headers={**p.h, "Content-Type": CSV, **key()})
    )
    for _ in range(500):
        if slots._in_flight:
            break
        await asyncio.sleep(0.01)
    assert slots._in_flight == {p.auth.app.id: 1}
    # The same app, even for another shop, waits for its upload in flight.
    for busy in (p, second_shop):
        r = await busy.client.post(
            IMPORTS,
            content=to_csv(product_lines("fast-1")),
            headers={**busy.h, "Content-Type": CSV, **key()},
        )
        assert r.status_code == 429, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "too_many_uploads" and r.json()["limit"] == 1
        assert int(r.headers["retry-after"]) > 0
    # Another app is not held back.
    assert (await raw_upload(other_app, to_csv(product_lines("o-1")), CSV)).status_code == 202
    gate.set()
    r = await first
    assert r.status_code == 202, r.text
    assert slots._in_flight == {}
    assert (await raw_upload(p, to_csv(product_lines("fast-1")), CSV)).status_code == 202


async def _form(p: Provider, files: dict[str, Any], **params: Any) -> httpx.Response:
    return await p.client.post(IMPORTS, files=files, params=params, headers=p.h)


async def test_the_file_may_be_sent_as_a_multipart_form_part(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    r = await _form(p, {"file": ("catalog.csv", to_csv(product_lines("m-1")), "text/csv")})
    assert r.status_code == 202, r.text
    assert (r.json()["format"], r.json()["total"]) == ("csv", 3)
    await run_job(container, r.json()["id"])
    # JSON Lines, told by the file name when the part's type says nothing.
    rows = to_jsonl(product_lines("m-2", sizes=("S",)))
    r = await _form(p, {"file": ("items.jsonl", rows, "application/octet-stream")})
    assert r.status_code == 202, r.text
    assert (r.json()["format"], r.json()["total"]) == ("jsonl", 1)
    await run_job(container, r.json()["id"])
    assert {x["out_product_id"] for x in await all_products(p)} == {"m-1", "m-2"}
    job = (await p.get(f"/v1/bulk-jobs/{r.json()['id']}")).json()
    assert job["status"] == "succeeded" and job["skus_created"] == 1


async def test_a_form_without_a_usable_file_part_is_refused(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    content = to_csv(product_lines("m-3"))
    r = await _form(p, {"upload": ("catalog.csv", content, "text/csv")})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "file"]
    # Without a file name the part is a plain form field, not a file.
    r = await _form(p, {"file": (None, content, "text/csv")})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "file"]
    r = await _form(p, {"file": ("catalog", content, "application/octet-stream")})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["query", "format"]
    r = await _form(p, {"file": ("catalog.csv", content, "text/csv")}, format="jsonl")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "format"]
    r = await _form(p, {"file": ("catalog.csv", b"title\nx\n", "text/csv")})
    assert r.status_code == 422 and r.json()["code"] == "invalid_upload"
    assert (await p.get("/v1/bulk-jobs")).json()["data"] == []


async def test_the_spec_documents_every_way_to_send_the_file(
    client: httpx.AsyncClient, app: Any
) -> None:
    operation = app.openapi()["paths"][IMPORTS]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"text/csv", "application/x-ndjson", "multipart/form-data"}
    # An empty body is answered 422: the schema says a body has at least one character.
    for raw in ("text/csv", "application/x-ndjson"):
        assert content[raw]["schema"] == {"type": "string", "minLength": 1}
    form = content["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert form["properties"]["file"]["format"] == "binary"
    assert {"408", "413", "415", "422", "429"} <= set(operation["responses"])
    p = await provider(client)
    for ctype in (CSV, NDJSON):
        r = await raw_upload(p, b"", ctype)
        assert r.status_code == 422 and r.json()["code"] == "invalid_upload"
