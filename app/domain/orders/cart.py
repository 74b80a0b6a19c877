"""A buyer's cart in a shop: SKUs and quantities, read back with the current prices and
whether each can still be ordered. Lines are set (a quantity of 0 removes one); placing an
order from the cart takes its lines and removes them once the order is placed."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.catalog.products import ProductStatus
from app.domain.clock import utcnow
from app.domain.orders.errors import (
    CartFull,
    OrderSkuNotFound,
    ProductNotListed,
    QuantityInvalid,
    ShopNotOpen,
)
from app.domain.orders.model import CartLine
from app.domain.orders.ports import OrdersUnitOfWork
from app.domain.orders.pricing import MAX_LINE_QUANTITY, MAX_LINES

#: As many lines as an order may carry.
MAX_CART_LINES = MAX_LINES


@dataclass(frozen=True)
class CartItem:
    """A line as the buyer reads it: what it is now, and whether it can be ordered."""

    line: CartLine
    title: str
    image: str | None
    sale_attrs: dict[str, str]
    unit_price: int
    #: Listed, and enough stock for the quantity.
    orderable: bool
    #: Units in stock, capped as the storefront shows them.
    stock_hint: int


STOCK_HINT_CAP = 99


async def _check_shop(uow: OrdersUnitOfWork, shop_id: str) -> None:
    shop = await uow.shops.get(shop_id)
    if shop is None or not shop.can_sell:
        raise ShopNotOpen(f"Shop {shop_id} does not take orders.")


async def set_line(
    uow: OrdersUnitOfWork, account_id: str, shop_id: str, sku_id: str, quantity: int
) -> list[CartItem]:
    """The buyer wants `quantity` units of the SKU (0: none); the cart as it then is."""
    if not 0 <= quantity <= MAX_LINE_QUANTITY:
        raise QuantityInvalid(f"Between 0 and {MAX_LINE_QUANTITY} units, not {quantity}.")
    await _check_shop(uow, shop_id)
    lines = {x.sku_id: x for x in await uow.carts.lines(shop_id, account_id)}
    if quantity == 0:
        if sku_id in lines:
            await uow.carts.remove(lines[sku_id])
        return await view(uow, account_id, shop_id)
    sku = await uow.products.find_sku(shop_id, sku_id=sku_id)
    if sku is None:
        raise OrderSkuNotFound(f"No SKU {sku_id} in this shop.", extra={"sku_id": sku_id})
    product = await uow.products.get(shop_id, sku.product_id)
    if product is None or product.status is not ProductStatus.LISTED:
        raise ProductNotListed(
            f"The product of SKU {sku_id} is not for sale.", extra={"sku_id": sku_id}
        )
    line = lines.get(sku_id)
    if line is None:
        if len(lines) >= MAX_CART_LINES:
            raise CartFull(f"A cart holds at most {MAX_CART_LINES} SKUs.")
        uow.carts.add(
            CartLine(
                shop_id=shop_id,
                account_id=account_id,
                sku_id=sku_id,
                product_id=sku.product_id,
                quantity=quantity,
            )
        )
    else:
        line.quantity = quantity
        line.updated_at = utcnow()
    await uow.flush()
    return await view(uow, account_id, shop_id)


async def view(uow: OrdersUnitOfWork, account_id: str, shop_id: str) -> list[CartItem]:
    """The cart's lines, oldest first, with current prices; a line whose SKU is gone is
    dropped from the cart as it is read."""
    items: list[CartItem] = []
    for line in await uow.carts.lines(shop_id, account_id):
        sku = await uow.products.find_sku(shop_id, sku_id=line.sku_id)
        product = await uow.products.get(shop_id, line.product_id) if sku else None
        if sku is None or product is None:
            await uow.carts.remove(line)
            continue
        listed = product.status is ProductStatus.LISTED
        items.append(
            CartItem(
                line=line,
                title=product.title,
                image=product.images[0] if product.images else None,
                sale_attrs=dict(sku.sale_attrs),
                unit_price=sku.price,
                orderable=listed and sku.stock >= line.quantity,
                stock_hint=min(sku.stock, STOCK_HINT_CAP),
            )
        )
    return items


async def take(uow: OrdersUnitOfWork, account_id: str, shop_id: str) -> dict[str, int]:
    """The cart's lines for an order (SKU id → units), removed from the cart; they come
    back if the order fails, since the unit of work then rolls back."""
    lines = await uow.carts.lines(shop_id, account_id)
    if not lines:
        raise QuantityInvalid("The cart is empty.")
    for line in lines:
        await uow.carts.remove(line)
    return {line.sku_id: line.quantity for line in lines}
