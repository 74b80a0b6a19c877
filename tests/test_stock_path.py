"""The one stock path: every stock change is a conditional UPDATE in the stock repository, so
concurrent changes all count — a bulk import, a set, a delta, reservations and releases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.container import Container
from app.infra.db.bulk_repositories import SqlBulkRepository
from tests.bulk_support import NDJSON, imported, line, to_jsonl
from tests.product_support import provider, sku


async def test_a_price_only_import_line_keeps_a_stock_change_made_during_its_chunk(
    client: httpx.AsyncClient,
    container: Container,
    is_postgres: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stock 10; a -3 adjustment commits after the chunk has read the SKU and before it
    writes: the price-only line must not write back the 10 it read."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: no adjustment can commit mid-chunk")
    p = await provider(client)
    product = await p.create(
        out_product_id="erp-race",
        skus=[sku(sale_attrs={"size": "M"}, out_sku_id="erp-race-m", price=19900, stock=10)],
    )
    base = f"/v1/products/{product['id']}/skus/{product['skus'][0]['id']}"
    original = SqlBulkRepository.update_skus
    adjusted: list[int] = []

    async def adjust_then_write(
        self: SqlBulkRepository, updates: list[dict[str, Any]], now: Any
    ) -> None:
        # The chunk has read the SKU (stock 10); another request commits -3 now.
        r = await p.post(f"{base}/stock-adjustments", {"delta": -3})
        assert r.status_code == 200, r.text
        adjusted.append(r.json()["stock"])
        await original(self, updates, now)

    monkeypatch.setattr(SqlBulkRepository, "update_skus", adjust_then_write)
    job = await imported(
        p, container, to_jsonl([line("erp-race", out_sku_id="erp-race-m", price=15900)]), NDJSON
    )
    assert job["succeeded"] == 1 and job["skus_updated"] == 1
    assert adjusted == [7]
    [after] = (await p.get(f"/v1/products/{product['id']}")).json()["skus"]
    assert (after["price"], after["stock"]) == (15900, 7)
