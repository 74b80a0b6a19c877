"""Product records straight to JSON: the hot provider reads serialise once, without models.

The routes keep `response_model=Product` (the OpenAPI document is unchanged) but return a
`Response` built here, so FastAPI neither validates nor re-serialises it. The documents follow
the `Product` and `Sku` schemas field for field and in their order (the keys are taken from the
schemas), and times are written as pydantic writes them (RFC 3339, `Z` for UTC);
`tests/test_product_documents.py` holds them to the schema's own output.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import Response

from app.api.v1.schemas.products import Product, Sku
from app.domain.catalog.products import ProductRecord, record_pending_view

_COMPUTED = ("view", "pending_revision", "skus")
_PRODUCT_KEYS = tuple(k for k in Product.model_fields if k not in _COMPUTED)
_SKU_KEYS = tuple(Sku.model_fields)
_SKU_DEFAULTS = {"currency": "CNY"}


def sku_document(sku: dict[str, Any]) -> dict[str, Any]:
    return {k: sku[k] if k in sku else _SKU_DEFAULTS[k] for k in _SKU_KEYS}


def product_document(record: ProductRecord, view: Literal["live", "pending"]) -> dict[str, Any]:
    doc = {k: record[k] for k in _PRODUCT_KEYS}
    if view == "pending":
        doc.update(record_pending_view(record))
    doc["view"] = view
    doc["pending_revision"] = (
        {
            "status": record["pending_status"],
            "changes": record["pending_changes"],
            "rejection_reason": record["pending_rejection_reason"],
        }
        if record["pending_changes"] is not None
        else None
    )
    doc["skus"] = [sku_document(s) for s in record["skus"]]
    return doc


def json_response(content: Any, injected: Response, status_code: int = 200) -> Response:
    """`content` as JSON, with the headers set on the route's injected `Response` (rate
    limits, ETag): FastAPI drops them when a route returns a response of its own."""
    response = Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
    )
    response.headers.raw.extend(injected.headers.raw)
    return response
