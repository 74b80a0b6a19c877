"""Order records straight to JSON: the hot order reads (and the storefront's new order)
serialise once, without models.

The routes keep `response_model=Order` (the OpenAPI document is unchanged) and return a
`Response` built here (`json_response`), so FastAPI neither validates nor re-serialises it.
The documents follow the `Order` schema and its parts field for field and in their order;
the schema's own `Order.of` validates the same document, and `tests/test_order_documents.py`
holds the hot reads' output to the schema's, byte for byte.
"""

from __future__ import annotations

from typing import Any

from app.domain.orders.model import Order as OrderEntity
from app.domain.orders.model import OrderRecord, Shipment, order_record, timeline


def _address(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "recipient": a["recipient"],
        "phone": a["phone"],
        "region_code": a["region_code"],
        "province": a["province"],
        "city": a["city"],
        "district": a["district"],
        "detail": a["detail"],
    }


def _line(x: dict[str, Any]) -> dict[str, Any]:
    s = x["snapshot"]
    return {
        "id": x["id"],
        "product_id": x["product_id"],
        "sku_id": x["sku_id"],
        "quantity": x["quantity"],
        "unit_price": x["unit_price"],
        "total": x["unit_price"] * x["quantity"],
        "shipped_quantity": x["shipped_quantity"],
        "aftersale_quantity": x["aftersale_quantity"],
        "snapshot": {
            "title": s["title"],
            "image": s["image"],
            "sale_attrs": s["sale_attrs"],
            "out_product_id": s["out_product_id"],
            "out_sku_id": s["out_sku_id"],
        },
    }


def _pickup_point(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "name": p["name"],
        "region_code": p["region_code"],
        "province": p["province"],
        "city": p["city"],
        "district": p["district"],
        "detail": p["detail"],
        "hours": p["hours"],
        "contact_name": p["contact_name"],
        "contact_phone": p["contact_phone"],
    }


def _shipment(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": s["id"],
        "carrier": s["carrier"],
        "waybill_no": s["waybill_no"],
        "lines": [{"line_id": x["line_id"], "quantity": x["quantity"]} for x in s["lines"]],
        "created_at": s["created_at"],
        "updated_at": s["updated_at"],
    }


def order_document(r: OrderRecord) -> dict[str, Any]:
    # Literal dicts rather than loops over the schema's fields (half the cost; a page
    # builds fifty); tests/test_order_documents.py holds them to the schema.
    return {
        "id": r["id"],
        "shop_id": r["shop_id"],
        "buyer_id": r["buyer_id"],
        "status": r["status"],
        "product_total": r["product_total"],
        "freight": r["freight"],
        "discount_total": r["discount_total"],
        "total": r["total"],
        "lines": [_line(x) for x in r["lines"]],
        "address": None if r["address"] is None else _address(r["address"]),
        "delivery_method": r["delivery_method"],
        "pickup_point": None if r["pickup_point"] is None else _pickup_point(r["pickup_point"]),
        "buyer_note": r["buyer_note"],
        "merchant_note": r["merchant_note"],
        "cancel_reason": r["cancel_reason"],
        "cancel_note": r["cancel_note"],
        "shipments": [_shipment(s) for s in r["shipments"]],
        "aftersales": r.get("aftersales"),
        "insurance": r.get("insurance"),
        "timeline": timeline(r),
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "paid_at": r["paid_at"],
        "ready_for_pickup_at": r["ready_for_pickup_at"],
        "shipped_at": r["shipped_at"],
        "delivered_at": r["delivered_at"],
        "received_at": r["received_at"],
        "completed_at": r["completed_at"],
        "cancelled_at": r["cancelled_at"],
        "settled_at": r["settled_at"],
        "version": r["version"],
    }


def member_document(r: OrderRecord, *, personal: bool) -> dict[str, Any]:
    """As `MerchantOrder` shows it: a member whose role does not manage orders (finance)
    reads it without the buyer's address and the notes (the cancellation's too)."""
    doc = order_document(r)
    if not personal:
        doc.update(address=None, buyer_note=None, merchant_note=None, cancel_note=None)
    return doc


def entity_document(
    order: OrderEntity, shipments: list[Shipment], *, buyer: bool = False
) -> dict[str, Any]:
    """An order entity (a change just made) as the reads write it; `buyer`: as the
    storefront shows it (`BuyerOrder`), without the shop's own note, with the pickup code
    (which no record of the shop's reads carries)."""
    doc = order_document(order_record(order, shipments))
    if buyer:
        doc["merchant_note"] = None
        doc["pickup_code"] = order.pickup_code
    return doc
