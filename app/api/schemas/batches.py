"""Batches on the open API: up to 100 product operations, or up to 100 stock changes, in one
request. Each item gets its own result in order — the status and body its single call would
have answered — and one bad item does not stop the others.

An item that does not even match its schema is not a reason to refuse the whole batch: it is
reported in place, with the same field errors its single call would give (see `per_item`).
Only a request whose envelope is wrong (no list, an empty one, more than 100 items) is a 422
for the whole batch, with nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from app.api.errors import Problem
from app.api.schemas.base import Input, Output
from app.api.schemas.products import (
    IMAGE_EXAMPLE,
    LEAF_EXAMPLE,
    PRODUCT_EXAMPLE,
    SKU_EXAMPLE,
    Product,
    ProductCreate,
    ProductUpdate,
    StockAdjustment,
    StockLevel,
    StockSet,
)

MAX_BATCH = 100


@dataclass(frozen=True)
class InvalidItem:
    """An item that failed its schema: its pydantic errors, relative to the item."""

    errors: list[dict[str, Any]]
    #: Its `op`, when that names an operation.
    op: str | None = None


def per_item(
    operation_tag: Callable[[Any], str | None] | None = None, ops: frozenset[str] = frozenset()
) -> WrapValidator:
    """Validate one item; on failure keep its errors in its place instead of failing the
    request. `operation_tag` names the union's tag of an item (as its `Discriminator` does):
    locations lose it (`create.title` → `title`), so they read as the single call's. `ops`:
    the `op` values an `InvalidItem` may report."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as e:
            tag = operation_tag(value) if operation_tag is not None else None
            errors = []
            for err in e.errors(include_url=False, include_context=False, include_input=False):
                loc = tuple(err["loc"])
                if err["type"] == "invalid_operation":
                    loc = ("op",)
                elif tag is not None and loc[:1] == (tag,):
                    loc = loc[1:]
                errors.append({**err, "loc": loc})
            op = value.get("op") if isinstance(value, dict) else None
            return InvalidItem(errors, op if op in ops else None)

    return WrapValidator(validate)


def document_discriminator(
    field: str, ops_by_choice: Sequence[Sequence[str]]
) -> Callable[[dict[str, Any]], None]:
    """Tell OpenAPI readers that `op` picks the schema of `field`'s items (pydantic documents
    only a plain field discriminator, and the batches use a function). `ops_by_choice`: the
    `op` values of each choice of the union, in its order."""

    def document(schema: dict[str, Any]) -> None:
        items = schema["properties"][field]["items"]
        choices = items["oneOf"]
        mapping = {
            op: c["$ref"] for c, ops in zip(choices, ops_by_choice, strict=True) for op in ops
        }
        items["discriminator"] = {"propertyName": "op", "mapping": mapping}

    return document


_PRODUCT_ID = Field(
    min_length=1, max_length=40, description="The product's id.", examples=[PRODUCT_EXAMPLE]
)
_SKU_ID = Field(min_length=1, max_length=40, description="The SKU's id.", examples=[SKU_EXAMPLE])


class CreateOperation(ProductCreate):
    """`create`: a draft product with its SKUs, as `POST /v1/products` (201)."""

    op: Literal["create"] = Field(description="The operation.", examples=["create"])


class UpdateOperation(ProductUpdate):
    """`update`: edit a product, as `PATCH /v1/products/{product_id}` (200)."""

    op: Literal["update"] = Field(description="The operation.", examples=["update"])
    product_id: str = _PRODUCT_ID
    expected_version: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="As `If-Match`: the item fails with 412 unless the product is at this version.",
        examples=[3],
    )


class ActionOperation(Input):
    """`submit`, `list`, `delist` or `delete` one product, as `POST .../submit`,
    `POST .../listing`, `POST .../delisting` (200) and `DELETE /v1/products/{product_id}`
    (204)."""

    op: Literal["submit", "list", "delist", "delete"] = Field(
        description="The operation.", examples=["submit"]
    )
    product_id: str = _PRODUCT_ID


class SetStockOperation(StockSet):
    """`set_stock`: as `PUT /v1/products/{product_id}/skus/{sku_id}/stock` (200)."""

    op: Literal["set_stock"] = Field(description="The operation.", examples=["set_stock"])
    product_id: str = _PRODUCT_ID
    sku_id: str = _SKU_ID


class AdjustStockOperation(StockAdjustment):
    """`adjust_stock`: as `POST /v1/products/{product_id}/skus/{sku_id}/stock-adjustments`
    (200)."""

    op: Literal["adjust_stock"] = Field(description="The operation.", examples=["adjust_stock"])
    product_id: str = _PRODUCT_ID
    sku_id: str = _SKU_ID


_ACTIONS = ("submit", "list", "delist", "delete")
_ALL_OPS = frozenset({"create", "update", *_ACTIONS, "set_stock", "adjust_stock"})


def _operation_tag(value: Any) -> str | None:
    op = value.get("op") if isinstance(value, dict) else getattr(value, "op", None)
    return "action" if op in _ACTIONS else op if isinstance(op, str) else None


#: Chosen by `op` (a function, not `discriminator="op"`: every input field, `op` too, has the
#: control-character check, a before-validator pydantic refuses on a plain discriminator).
ProductOperation = Annotated[
    Annotated[CreateOperation, Tag("create")]
    | Annotated[UpdateOperation, Tag("update")]
    | Annotated[ActionOperation, Tag("action")]
    | Annotated[SetStockOperation, Tag("set_stock")]
    | Annotated[AdjustStockOperation, Tag("adjust_stock")],
    Discriminator(
        _operation_tag,
        custom_error_type="invalid_operation",
        custom_error_message="`op` must be one of create, update, submit, list, delist, "
        "delete, set_stock, adjust_stock.",
    ),
]

_OPERATIONS_EXAMPLE: list[dict[str, Any]] = [
    {
        "op": "create",
        "title": "Linen summer dress",
        "images": [IMAGE_EXAMPLE],
        "category_id": LEAF_EXAMPLE,
        "out_product_id": "erp-10086",
        "skus": [{"sale_attrs": {"size": "M"}, "price": 19900, "stock": 50}],
    },
    {"op": "update", "product_id": PRODUCT_EXAMPLE, "subtitle": "Breathable linen"},
    {"op": "submit", "product_id": PRODUCT_EXAMPLE},
    {"op": "adjust_stock", "product_id": PRODUCT_EXAMPLE, "sku_id": SKU_EXAMPLE, "delta": -2},
]


#: The `op` values of each choice of `ProductOperation`, in its order.
_OPS_BY_CHOICE = (("create",), ("update",), _ACTIONS, ("set_stock",), ("adjust_stock",))

#: Validated item by item (see `per_item`): an invalid item arrives as an `InvalidItem`.
PerItem = per_item(_operation_tag, _ALL_OPS)


class ProductBatch(Input):
    """Up to 100 product operations, run in order."""

    model_config = ConfigDict(
        json_schema_extra=document_discriminator("operations", _OPS_BY_CHOICE)
    )

    operations: list[Annotated[ProductOperation, PerItem]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="1 to 100 operations, each an object whose `op` says what it does.",
        examples=[_OPERATIONS_EXAMPLE],
    )


class ProductBatchItemResult(Output):
    """What one operation answered: the product (or stock level), or its problem."""

    index: int = Field(description="The operation's position in the request.", examples=[0])
    op: str | None = Field(
        description="The item's `op` (null when it names no operation).",
        examples=["create"],
    )
    status: int = Field(
        description="The HTTP status its single call would have answered.", examples=[201]
    )
    product: Product | None = Field(
        default=None,
        description="The product after `create`, `update`, `submit`, `list`, `delist`.",
        examples=[None],
    )
    stock: StockLevel | None = Field(
        default=None,
        description="The stock after `set_stock` or `adjust_stock`.",
        examples=[None],
    )
    problem: Problem | None = Field(
        default=None,
        description="The RFC 9457 problem of a failed operation: the same `code` and "
        "`errors` as its single call.",
        examples=[None],
    )


class ProductBatchResult(Output):
    """One result per operation, in the request's order."""

    data: list[ProductBatchItemResult] = Field(description="The results, in order.")


class StockChangeItem(Input):
    """One SKU (by `sku_id` or `out_sku_id`) and its new `stock` or a `delta`."""

    sku_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="The SKU's id; or give `out_sku_id`.",
        examples=[SKU_EXAMPLE],
    )
    out_sku_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Your own id for the SKU; or give `sku_id`.",
        examples=[None],
    )
    stock: int | None = Field(
        default=None,
        ge=0,
        le=10_000_000,
        description="The new stock; or give `delta`.",
        examples=[100],
    )
    delta: int | None = Field(
        default=None,
        ge=-10_000_000,
        le=10_000_000,
        description="Units to add (negative: take away); or give `stock`.",
        examples=[None],
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> StockChangeItem:
        if (self.sku_id is None) == (self.out_sku_id is None):
            raise ValueError("give exactly one of sku_id and out_sku_id")
        if (self.stock is None) == (self.delta is None):
            raise ValueError("give exactly one of stock and delta")
        return self


class StockBatch(Input):
    """Up to 100 stock changes, run in order."""

    items: list[Annotated[StockChangeItem, PerItem]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="1 to 100 changes.",
        examples=[
            [
                {"sku_id": SKU_EXAMPLE, "stock": 100},
                {"out_sku_id": "erp-sku-10086-red-m", "delta": -3},
            ]
        ],
    )


class StockBatchItemResult(Output):
    """What one stock change answered: the new level, or its problem."""

    index: int = Field(description="The change's position in the request.", examples=[0])
    status: int = Field(
        description="200, or the status of the problem (404, 409 `insufficient_stock`, 422).",
        examples=[200],
    )
    stock: StockLevel | None = Field(
        default=None, description="The stock after the change.", examples=[None]
    )
    problem: Problem | None = Field(
        default=None, description="The RFC 9457 problem of a failed change.", examples=[None]
    )


class StockBatchResult(Output):
    """One result per change, in the request's order."""

    data: list[StockBatchItemResult] = Field(description="The results, in order.")
