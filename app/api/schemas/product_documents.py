"""Product records straight to JSON: the hot provider reads serialise once, without models.

The routes keep `response_model=Product` (the OpenAPI document is unchanged) but return a
`Response` built here, so FastAPI neither validates nor re-serialises it. The documents follow
the `Product` and `Sku` schemas field for field and in their order, and times are written as
pydantic writes them (RFC 3339, `Z` for UTC); `tests/test_product_documents.py` holds them to
the schema's own output, byte for byte.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import Response

from app.api.schemas.products import Product, Sku
from app.domain.catalog import products as model
from app.domain.catalog.products import ProductRecord, record_pending_view

#: Which content of a product a read shows: on sale, or with its pending revision applied.
View = Literal["live", "pending"]


def sku_document(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": s["id"],
        "product_id": s["product_id"],
        "shop_id": s["shop_id"],
        "sale_attrs": s["sale_attrs"],
        "price": s["price"],
        "market_price": s["market_price"],
        "currency": "CNY",
        "stock": s["stock"],
        "out_sku_id": s["out_sku_id"],
        "barcode": s["barcode"],
        "weight_g": s["weight_g"],
        "low_stock_threshold": s["low_stock_threshold"],
        "updated_at": s["updated_at"],
        "version": s["version"],
    }


def product_document(r: ProductRecord, view: View) -> dict[str, Any]:
    # Literal dicts rather than loops over the schema's fields: half the cost, and a page
    # builds fifty of them. `tests/test_product_documents.py` holds them to the schema.
    doc = {
        "id": r["id"],
        "shop_id": r["shop_id"],
        "title": r["title"],
        "subtitle": r["subtitle"],
        "description": r["description"],
        "images": r["images"],
        "category_id": r["category_id"],
        "brand_id": r["brand_id"],
        "brand": r["brand"],
        "attributes": r["attributes"],
        "condition": r["condition"],
        "regions": r["regions"],
        "out_product_id": r["out_product_id"],
        "freight_template_id": r["freight_template_id"],
        "status": r["status"],
        "rejection_reason": r["rejection_reason"],
        "ban_reason": r["ban_reason"],
        "submitted_at": r["submitted_at"],
        "reviewed_at": r["reviewed_at"],
        "listed_at": r["listed_at"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "version": r["version"],
        "view": view,
        "pending_revision": None,
        "skus": [sku_document(s) for s in r["skus"]],
    }
    if r["pending_changes"] is not None:
        doc["pending_revision"] = {
            "status": r["pending_status"],
            "changes": r["pending_changes"],
            "rejection_reason": r["pending_rejection_reason"],
        }
        if view == "pending":
            # As the schema would: only its own fields (the revision holds reviewed ones).
            doc.update((k, v) for k, v in record_pending_view(r).items() if k in doc)
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


# --- from the domain's entities ------------------------------------------------------------


def _sku_record(sku: model.Sku) -> dict[str, Any]:
    return {name: getattr(sku, name) for name in model.SKU_RECORD_FIELDS}


def sku_out(sku: model.Sku) -> Sku:
    return Sku.model_validate(sku_document(_sku_record(sku)))


def product_out(product: model.Product, skus: list[model.Sku], view: View = "live") -> Product:
    """The entity as the hot reads answer its record: one document builder for both."""
    record = {name: getattr(product, name) for name in model.PRODUCT_RECORD_FIELDS}
    record["skus"] = [_sku_record(s) for s in skus]
    return Product.model_validate(product_document(record, view))
