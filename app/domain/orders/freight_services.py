"""Use cases of a shop's freight templates: create, read, replace, delete, make default.

Every use case takes the token's shop: another shop's template does not exist here (404).
One default per shop: making a template the default takes the mark from the one that had
it, in the same transaction, after locking the shop's default (`lock_default`), so changes
made at once take turns instead of colliding on the one-default index. A template products
still name is not deleted (409 `freight_template_in_use`): detaching them silently would
change what their orders pay. A change emits no event (templates are read, not subscribed
to).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.clock import utcnow
from app.domain.errors import ValidationFailed
from app.domain.orders.errors import FreightTemplateInUse, FreightTemplateNotFound
from app.domain.orders.freight import (
    MAX_FREE_CONDITIONS,
    MAX_NOT_DELIVERED,
    MAX_RATES,
    FreeShipping,
    FreightTemplate,
    Rate,
    RegionalRate,
    Valuation,
)
from app.domain.orders.ports import OrdersUnitOfWork
from app.domain.orders.regions import is_area
from app.domain.pagination import Page, PageRequest
from app.domain.shops.services import check_version


@dataclass(frozen=True)
class TemplateFields:
    """A template's content as a client gives it (whole: a replace gives it all again)."""

    name: str
    valuation: Valuation
    default_rate: Rate
    rates: tuple[RegionalRate, ...] = ()
    free_shipping: tuple[FreeShipping, ...] = ()
    not_delivered: tuple[str, ...] = ()
    is_default: bool = False


def _errors(f: TemplateFields) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []

    def codes(loc: str, values: tuple[str, ...]) -> None:
        for i, code in enumerate(values):
            if not is_area(code):
                errors.append(
                    {
                        "loc": ["body", *loc.split("."), i],
                        "msg": f"{code!r} is not a GB/T 2260 province (2 digits) or city "
                        "(4 digits) code.",
                        "type": "unknown_region",
                    }
                )

    if len(f.rates) > MAX_RATES or len(f.free_shipping) > MAX_FREE_CONDITIONS:
        errors.append({"loc": ["body"], "msg": "Too many rules.", "type": "too_many"})
    if len(f.not_delivered) > MAX_NOT_DELIVERED:
        errors.append({"loc": ["body", "not_delivered"], "msg": "Too many.", "type": "too_many"})
    for i, r in enumerate(f.rates):
        codes(f"rates.{i}.regions", r.regions)
    for i, c in enumerate(f.free_shipping):
        codes(f"free_shipping.{i}.regions", c.regions)
    codes("not_delivered", f.not_delivered)
    return errors


def _check(f: TemplateFields) -> None:
    errors = _errors(f)
    if errors:
        raise ValidationFailed(
            "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors[:5]),
            errors=errors,
        )


async def get(
    uow: OrdersUnitOfWork, shop_id: str, template_id: str, *, lock: bool = False
) -> FreightTemplate:
    found = await uow.freight_templates.get(shop_id, template_id, lock=lock)
    if found is None:
        raise FreightTemplateNotFound(f"No freight template {template_id} in this shop.")
    return found


async def page(uow: OrdersUnitOfWork, shop_id: str, p: PageRequest) -> Page[FreightTemplate]:
    return await uow.freight_templates.page(shop_id, p)


async def create(uow: OrdersUnitOfWork, shop_id: str, f: TemplateFields) -> FreightTemplate:
    _check(f)
    if f.is_default:
        await uow.freight_templates.lock_default(shop_id)
        await uow.freight_templates.clear_default(shop_id)
    template = FreightTemplate(shop_id=shop_id, **vars(f))
    await uow.freight_templates.add(template)
    return template


async def replace(
    uow: OrdersUnitOfWork,
    shop_id: str,
    template_id: str,
    f: TemplateFields,
    expected_version: int | None,
) -> FreightTemplate:
    """The template's content replaced whole; `is_default` true makes it the default, false
    leaves the shop without one when it was."""
    _check(f)
    if f.is_default:
        await uow.freight_templates.lock_default(shop_id)
    template = await get(uow, shop_id, template_id, lock=True)
    check_version(template.version, expected_version)
    if f.is_default and not template.is_default:
        await uow.freight_templates.clear_default(shop_id)
    for name, value in vars(f).items():
        setattr(template, name, value)
    template.updated_at = utcnow()
    template.version += 1
    await uow.freight_templates.save(template)
    return template


async def make_default(uow: OrdersUnitOfWork, shop_id: str, template_id: str) -> FreightTemplate:
    await uow.freight_templates.lock_default(shop_id)
    template = await get(uow, shop_id, template_id, lock=True)
    if template.is_default:
        return template
    await uow.freight_templates.clear_default(shop_id)
    template.is_default = True
    template.updated_at = utcnow()
    template.version += 1
    await uow.freight_templates.save(template)
    return template


async def delete(uow: OrdersUnitOfWork, shop_id: str, template_id: str) -> None:
    await get(uow, shop_id, template_id, lock=True)
    using = await uow.freight_templates.products_using(shop_id, template_id)
    if using:
        raise FreightTemplateInUse(
            f"{using} product(s) name freight template {template_id}; give them another "
            "template (or none) first.",
            extra={"products": using},
        )
    await uow.freight_templates.delete(shop_id, template_id)
