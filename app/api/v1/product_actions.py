"""The product operations as the open API runs them: the request's conversion into the
domain's terms, the use case, and the response body. The single routes (`products.py`) and
the batch (`batches.py`) both call these, so a batch item answers exactly what its
single call would. None of them commits: the route does, once.
"""

from __future__ import annotations

from typing import Any

from app.api.provider import ShopAccess
from app.api.schemas import products as schemas
from app.api.schemas.product_documents import View, product_out
from app.api.schemas.products import (
    Product,
    ProductCreate,
    ProductUpdate,
    StockLevel,
)
from app.domain.catalog import product_lifecycle as lifecycle
from app.domain.catalog import product_services as services
from app.domain.catalog import products as model
from app.domain.catalog import stock
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.errors import ValidationFailed
from app.domain.shops import services as shop_services

#: Fields of `ProductUpdate` that cannot be cleared with null.
_REQUIRED_ON_PRODUCT = (
    "title",
    "subtitle",
    "description",
    "images",
    "category_id",
    "brand_id",
    "attributes",
    "condition",
    "regions",
)


async def full(uow: CatalogUnitOfWork, product: model.Product, view: View = "live") -> Product:
    skus = await services.skus_of(uow, [product])
    return product_out(product, skus[product.id], view)


def product_changes(body: ProductUpdate) -> dict[str, Any]:
    """The fields the client sent, in the domain's terms; null only where it clears."""
    given = body.model_fields_set & set(ProductUpdate.model_fields)
    errors: list[dict[str, Any]] = [
        {"loc": ["body", name], "msg": "This field cannot be null.", "type": "null"}
        for name in _REQUIRED_ON_PRODUCT
        if name in given and getattr(body, name) is None
    ]
    if errors:
        raise ValidationFailed(
            "Only out_product_id can be cleared (brand_id takes brand_none).", errors=errors
        )
    return {k: v for k, v in schemas.product_changes(body).items() if k in given}


async def create(uow: CatalogUnitOfWork, access: ShopAccess, body: ProductCreate) -> Product:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    product, skus = await services.create(
        uow,
        access.actor,
        shop,
        schemas.product_fields(body),
        [schemas.sku_fields(s) for s in body.skus],
    )
    return product_out(product, skus)


async def update(
    uow: CatalogUnitOfWork,
    access: ShopAccess,
    product_id: str,
    body: ProductUpdate,
    expected_version: int | None,
    *,
    auto_approve: bool = False,
) -> Product:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    changes = product_changes(body)
    product = await services.update(
        uow, access.actor, shop, product_id, changes, expected_version, auto_approve=auto_approve
    )
    return await full(uow, product)


async def discard_revision(uow: CatalogUnitOfWork, access: ShopAccess, product_id: str) -> Product:
    product = await services.discard_revision(uow, access.actor, access.shop_id, product_id)
    return await full(uow, product)


async def delete(uow: CatalogUnitOfWork, access: ShopAccess, product_id: str) -> None:
    await services.delete(uow, access.actor, access.shop_id, product_id)


async def submit(
    uow: CatalogUnitOfWork, access: ShopAccess, product_id: str, *, auto_approve: bool
) -> Product:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    product = await lifecycle.submit(uow, access.actor, shop, product_id, auto_approve=auto_approve)
    return await full(uow, product)


async def list_for_sale(uow: CatalogUnitOfWork, access: ShopAccess, product_id: str) -> Product:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    product = await lifecycle.list_for_sale(uow, access.actor, shop, product_id)
    return await full(uow, product)


async def delist(uow: CatalogUnitOfWork, access: ShopAccess, product_id: str) -> Product:
    product = await lifecycle.delist(uow, access.actor, access.shop_id, product_id)
    return await full(uow, product)


async def change_stock(
    uow: CatalogUnitOfWork,
    access: ShopAccess,
    product_id: str,
    sku_id: str,
    *,
    delta: int | None = None,
    absolute: int | None = None,
) -> StockLevel:
    done = await stock.change_in_product(
        uow, access.actor, access.shop_id, product_id, sku_id, delta=delta, absolute=absolute
    )
    return StockLevel(product_id=done.product_id, sku_id=done.sku_id, stock=done.after)


async def change_stock_by_ref(
    uow: CatalogUnitOfWork,
    access: ShopAccess,
    *,
    sku_id: str | None,
    out_sku_id: str | None,
    delta: int | None = None,
    absolute: int | None = None,
) -> StockLevel:
    done = await stock.change_by_ref(
        uow,
        access.actor,
        access.shop_id,
        sku_id=sku_id,
        out_sku_id=out_sku_id,
        delta=delta,
        absolute=absolute,
    )
    return StockLevel(product_id=done.product_id, sku_id=done.sku_id, stock=done.after)
