"""Storefront: the buyer's cart in a shop. Lines are named by the shop and the SKU, both
public ids, in the body or the query: a buyer only ever reaches their own cart."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.orders import Cart, CartLineOut, CartLineSet
from app.api.storefront.auth import BUYER_ERRORS, BuyerAuth
from app.domain.orders import cart
from app.domain.orders.errors import (
    CartFull,
    OrderSkuNotFound,
    ProductNotListed,
    QuantityInvalid,
    ShopNotOpen,
)

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/storefront/cart", tags=["Storefront: orders"]
)


def cart_out(shop_id: str, items: list[cart.CartItem]) -> Cart:
    lines = [
        CartLineOut(
            sku_id=i.line.sku_id,
            product_id=i.line.product_id,
            quantity=i.line.quantity,
            title=i.title,
            image=i.image,
            sale_attrs=i.sale_attrs,
            unit_price=i.unit_price,
            total=i.unit_price * i.line.quantity,
            orderable=i.orderable,
            stock_hint=i.stock_hint,
        )
        for i in items
    ]
    return Cart(shop_id=shop_id, lines=lines, subtotal=sum(x.total for x in lines if x.orderable))


@router.get(
    "",
    operation_id="getMyCart",
    summary="The buyer's cart in a shop",
    description="With the current prices, and whether each line can be ordered now.",
    response_model=Cart,
    responses=problem_responses(*BUYER_ERRORS, 422),
)
async def get_cart(
    buyer: BuyerAuth,
    uow: UoW,
    shop_id: Annotated[
        str,
        Query(max_length=64, description="The shop.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"]),
    ],
) -> Cart:
    return cart_out(shop_id, await cart.view(uow, buyer.account_id, shop_id))


@router.put(
    "",
    operation_id="setMyCartLine",
    summary="Set a line of the cart",
    description="The units of one SKU the buyer wants (0 removes the line). The SKU must be "
    "on sale; a cart holds up to 50 SKUs.",
    response_model=Cart,
    responses=problem_responses(
        *BUYER_ERRORS,
        400,
        413,
        415,
        422,
        ShopNotOpen,
        OrderSkuNotFound,
        ProductNotListed,
        QuantityInvalid,
        CartFull,
    ),
)
async def set_cart_line(body: CartLineSet, buyer: BuyerAuth, uow: UoW) -> Cart:
    items = await cart.set_line(uow, buyer.account_id, body.shop_id, body.sku_id, body.quantity)
    return cart_out(body.shop_id, items)
