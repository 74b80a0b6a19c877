"""The order batch of the open API: up to 100 notes, cancellations and shipments in one
request, each item with its own result — the status and body its single call would have
answered. Items are validated one by one as the product batch's are (`per_item`): an item that
does not match its schema is that item's 422, not the request's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag

from app.api.errors import Problem
from app.api.schemas.base import Input, Output
from app.api.schemas.batches import MAX_BATCH, document_discriminator, per_item
from app.api.schemas.orders import (
    LINE_EXAMPLE,
    ORDER_EXAMPLE,
    MerchantNote,
    Order,
    Shipment,
    ShipmentCreate,
)
from app.api.schemas.payments import OrderCancellation

_ORDER_ID = Field(
    min_length=1, max_length=40, description="The order's id.", examples=[ORDER_EXAMPLE]
)


class SetMerchantNoteOperation(MerchantNote):
    """`set_merchant_note`: the shop's note on an order, as
    `PUT /v1/orders/{order_id}/merchant-note` (200)."""

    op: Literal["set_merchant_note"] = Field(
        description="The operation.", examples=["set_merchant_note"]
    )
    order_id: str = _ORDER_ID
    expected_version: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="As `If-Match`: the item fails with 412 unless the order is at this version.",
        examples=[3],
    )


class CancelOrderOperation(OrderCancellation):
    """`cancel`: cancel an order before it ships, as `POST /v1/orders/{order_id}/cancellation`
    (200): stock back, a paid order refunded."""

    op: Literal["cancel"] = Field(description="The operation.", examples=["cancel"])
    order_id: str = _ORDER_ID


class ShipOrderOperation(ShipmentCreate):
    """`ship`: a shipment of the order, as `POST /v1/orders/{order_id}/shipments` (201)."""

    op: Literal["ship"] = Field(description="The operation.", examples=["ship"])
    order_id: str = _ORDER_ID


#: The `op` values of each choice of `OrderOperation`, in its order.
_OPS_BY_CHOICE = (("set_merchant_note",), ("cancel",), ("ship",))
_ALL_OPS = frozenset(op for ops in _OPS_BY_CHOICE for op in ops)


def _operation_tag(value: Any) -> str | None:
    op = value.get("op") if isinstance(value, dict) else getattr(value, "op", None)
    return op if isinstance(op, str) else None


#: Chosen by `op` (a function, not `discriminator="op"`, for the reason `ProductOperation`
#: gives: every input field has a before-validator).
OrderOperation = Annotated[
    Annotated[SetMerchantNoteOperation, Tag("set_merchant_note")]
    | Annotated[CancelOrderOperation, Tag("cancel")]
    | Annotated[ShipOrderOperation, Tag("ship")],
    Discriminator(
        _operation_tag,
        custom_error_type="invalid_operation",
        custom_error_message="`op` must be one of set_merchant_note, cancel, ship.",
    ),
]

_OPERATIONS_EXAMPLE: list[dict[str, Any]] = [
    {"op": "set_merchant_note", "order_id": ORDER_EXAMPLE, "note": "VIP, gift wrap"},
    {
        "op": "ship",
        "order_id": ORDER_EXAMPLE,
        "carrier": "SF",
        "waybill_no": "SF1234567890123",
        "lines": [{"line_id": LINE_EXAMPLE, "quantity": 1}],
    },
    {"op": "cancel", "order_id": ORDER_EXAMPLE, "reason": "The buyer asked by phone"},
]


class OrderBatch(Input):
    """Up to 100 order operations, run in order."""

    model_config = ConfigDict(
        json_schema_extra=document_discriminator("operations", _OPS_BY_CHOICE)
    )

    operations: list[Annotated[OrderOperation, per_item(_operation_tag, _ALL_OPS)]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="1 to 100 operations, each an object whose `op` says what it does.",
        examples=[_OPERATIONS_EXAMPLE],
    )


class OrderBatchItemResult(Output):
    """What one operation answered: the order (and the shipment of a `ship`), or its problem."""

    index: int = Field(description="The operation's position in the request.", examples=[0])
    op: str | None = Field(
        description="The item's `op` (null when it names no operation).",
        examples=["ship"],
    )
    status: int = Field(
        description="The HTTP status its single call would have answered: 200, 201 for "
        "`ship`, or the problem's.",
        examples=[201],
    )
    order: Order | None = Field(
        default=None,
        description="The order after the operation (null when it failed).",
        examples=[None],
    )
    shipment: Shipment | None = Field(
        default=None,
        description="The shipment a `ship` made: the body of its single call.",
        examples=[None],
    )
    problem: Problem | None = Field(
        default=None,
        description="The RFC 9457 problem of a failed operation: the same `code` and "
        "`errors` as its single call.",
        examples=[None],
    )


class OrderBatchResult(Output):
    """One result per operation, in the request's order."""

    data: list[OrderBatchItemResult] = Field(description="The results, in order.")
