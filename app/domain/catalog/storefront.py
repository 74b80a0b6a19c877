"""The storefront's public reads of a catalogue: what anyone may see, with no credential.

Only a listed product of a shop whose storefront is open, and only as it is on sale: the
records carry a pending revision too, which the storefront's documents leave out. A product
that is not listed (draft, in review, delisted, banned) is not found, like another shop's.
"""

from __future__ import annotations

from app.domain.catalog.errors import ProductNotFound
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.products import ProductRecord, ProductStatus
from app.domain.pagination import Page, PageRequest
from app.domain.shops.services import storefront_shop


async def listed_product(uow: CatalogUnitOfWork, shop_id: str, product_id: str) -> ProductRecord:
    await storefront_shop(uow, shop_id)
    record = await uow.product_reads.get(shop_id, product_id)
    if record is None or record["status"] != ProductStatus.LISTED:
        raise ProductNotFound(f"No product {product_id} on sale in this shop.")
    return record


async def listed_page(
    uow: CatalogUnitOfWork, shop_id: str, page: PageRequest
) -> Page[ProductRecord]:
    await storefront_shop(uow, shop_id)
    return await uow.product_reads.list_listed(shop_id, page)


#: A SKU's stock as buyers see it is capped: enough to say "only 3 left", not the
#: merchant's inventory to whoever asks.
STOCK_HINT_CAP = 99


def stock_hint(stock: int) -> int:
    return min(max(stock, 0), STOCK_HINT_CAP)
