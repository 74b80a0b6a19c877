"""A shop's freight templates, as Core rows made into `FreightTemplate`s (their rules are
JSON columns: `FreightTemplate.rules()`). Every statement names the shop."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import utcnow
from app.domain.orders.freight import FreightTemplate, Valuation, rules_of
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.locks import lock_shop, locked
from app.infra.db.paging import cut, keyset
from app.infra.db.tenancy import delete, select, update

_t = tables.freight_templates
_p = tables.products

#: The columns a template is made of, in `template_of`'s order (the offers read names them).
TEMPLATE_COLUMNS = (
    "id",
    "name",
    "valuation",
    "default_rate",
    "rates",
    "free_shipping",
    "not_delivered",
    "is_default",
    "created_at",
    "updated_at",
    "version",
)


def template_of(shop_id: str, row: Mapping[Any, Any]) -> FreightTemplate:
    return FreightTemplate(
        shop_id=shop_id,
        name=row["name"],
        valuation=Valuation(row["valuation"]),
        **rules_of(row["default_rate"], row["rates"], row["free_shipping"], row["not_delivered"]),
        is_default=bool(row["is_default"]),
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=int(row["version"]),
    )


def _values(t: FreightTemplate) -> dict[str, Any]:
    return {
        "name": t.name,
        "valuation": t.valuation,
        **t.rules(),
        "is_default": t.is_default,
        "updated_at": t.updated_at,
        "version": t.version,
    }


class SqlFreightTemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def existing(self, shop_id: str, template_ids: Collection[str]) -> set[str]:
        if not template_ids:
            return set()
        stmt = select(_t, shop_id, _t.c.id).where(_t.c.id.in_(sorted(set(template_ids))))
        return set((await self.s.execute(stmt)).scalars())

    async def add(self, template: FreightTemplate) -> None:
        await self.s.execute(
            sa.insert(_t).values(
                id=template.id,
                shop_id=template.shop_id,
                created_at=template.created_at,
                **_values(template),
            )
        )

    async def get(
        self, shop_id: str, template_id: str, *, lock: bool = False
    ) -> FreightTemplate | None:
        stmt = select(_t, shop_id).where(_t.c.id == template_id)
        if lock:
            stmt = locked(stmt)
        row = (await self.s.execute(stmt)).mappings().one_or_none()
        return None if row is None else template_of(shop_id, row)

    async def page(self, shop_id: str, page: PageRequest) -> Page[FreightTemplate]:
        stmt = keyset(select(_t, shop_id), page, [_t.c.id])
        rows = (await self.s.execute(stmt)).mappings().all()
        return cut([template_of(shop_id, r) for r in rows], page, lambda t: (t.id,))

    async def save(self, template: FreightTemplate) -> None:
        await self.s.execute(
            update(_t, template.shop_id).where(_t.c.id == template.id).values(**_values(template))
        )

    async def delete(self, shop_id: str, template_id: str) -> None:
        await self.s.execute(delete(_t, shop_id).where(_t.c.id == template_id))

    async def lock_default(self, shop_id: str) -> None:
        await lock_shop(self.s, shop_id)

    async def clear_default(self, shop_id: str) -> None:
        await self.s.execute(
            update(_t, shop_id)
            .where(_t.c.is_default.is_(True))
            .values(is_default=False, updated_at=utcnow(), version=_t.c.version + 1)
        )

    async def products_using(self, shop_id: str, template_id: str) -> int:
        stmt = select(_p, shop_id, sa.func.count()).where(_p.c.freight_template_id == template_id)
        return int((await self.s.execute(stmt)).scalar_one())
