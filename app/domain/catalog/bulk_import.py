"""One chunk of a bulk import: validate its products with the single-product rules and write
them set-based (a few statements per chunk, not a round trip per row).

What a line does:
- a new `out_product_id` creates a draft product with its SKUs. The product is the unit: it
  is created only when every one of its lines is valid; otherwise each of its lines fails
  (the bad ones with their errors, the others with `product_failed`);
- an existing `out_product_id` is updated. Product fields given on its first line are
  applied with the rules of `PATCH /v1/products/{id}` (reviewed content sends an approved
  or delisted product back to draft, and waits in the pending revision of a listed one; in
  review the product takes no edit); empty
  cells leave a field as it is. If they are invalid, or the product cannot be edited now,
  none of its lines apply. Each SKU line is then matched by `out_sku_id`, else by its
  `sale_attrs`: a match updates price, market_price, stock, barcode, weight_g and
  out_sku_id (given cells only; `sale_attrs` never changes); no match adds a SKU. SKU lines
  of an existing product succeed or fail one by one. A banned product takes no change.

A stock cell of an existing SKU is set through `stock.set_many`, the one stock path; the
set-based update of the other columns never names `stock`, so a stock change committed while
the chunk runs is kept (a price-only line does not write back the stock read at chunk start).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.domain.catalog import product_rules as rules
from app.domain.catalog import product_services as services
from app.domain.catalog import stock
from app.domain.catalog.bulk_files import RawProduct, SkuLine, usable_id
from app.domain.catalog.bulk_jobs import BulkJob, JobItem, RowOutcome
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.product_rules import MAX_SKUS, ProductFields, ShopCatalog, SkuFields
from app.domain.catalog.products import (
    REVIEWED_FIELDS,
    Product,
    ProductStatus,
    Sku,
    attrs_key,
    new_values,
)
from app.domain.clock import utcnow
from app.domain.errors import InvalidTransition
from app.domain.events.model import Event

Errors = list[dict[str, Any]]


class RowValidator(Protocol):
    """The public contract's field rules (lengths, ranges, URLs, description blocks), the
    same the single-product API applies to its bodies. Error locations are relative:
    `["title"]`, or `["skus", i, "price"]` for `new_product`."""

    def new_product(
        self, fields: dict[str, Any], skus: list[dict[str, Any]]
    ) -> tuple[ProductFields | None, list[SkuFields], Errors]: ...
    def product_changes(self, fields: dict[str, Any]) -> tuple[dict[str, Any], Errors]: ...
    def new_sku(self, data: dict[str, Any]) -> tuple[SkuFields | None, Errors]: ...
    def sku_changes(self, data: dict[str, Any]) -> tuple[dict[str, Any], Errors]: ...


#: The SKU columns an import changes on an existing SKU with one set-based update. Never
#: `stock`: that goes through the stock path (`SKU_IMPORTABLE`).
SKU_UPDATABLE = ("price", "market_price", "out_sku_id", "barcode", "weight_g")
#: The cells of a line that may change an existing SKU.
SKU_IMPORTABLE = (*SKU_UPDATABLE, "stock")


def _public(e: dict[str, Any]) -> dict[str, Any]:
    """An error as the errors file shows it: the column, a machine code and a message."""
    loc = [x for x in e["loc"] if isinstance(x, str) and x not in ("row", "body", "skus")]
    return {"field": ".".join(loc) or None, "code": e["type"], "message": e["msg"]}


def _split_by_line(errors: Errors, raw: RawProduct) -> dict[int, Errors]:
    """Errors located at `skus.<i>` go to SKU line i, the rest to the product's first line."""
    out: dict[int, Errors] = {}
    for e in errors:
        loc = list(e["loc"])
        if loc and loc[0] in ("row", "body"):
            loc = loc[1:]
        line = raw.line
        if len(loc) >= 2 and loc[0] == "skus" and isinstance(loc[1], int | str):
            index = int(loc[1])
            if 0 <= index < len(raw.skus):
                line = raw.skus[index].line
            loc = loc[2:] or ["skus"]
        out.setdefault(line, []).append(_public({**e, "loc": loc}))
    return out


@dataclass
class ChunkWriter:
    """What a chunk will write, collected while its products are checked."""

    job: BulkJob
    #: New rows as plain values (`products.new_values`), written set-based.
    products: list[dict[str, Any]] = field(default_factory=list)
    skus: list[dict[str, Any]] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)
    sku_updates: list[dict[str, Any]] = field(default_factory=list)
    #: SKU id → the stock a line sets, with the product and out id for `product.stock_low`.
    stock_levels: dict[str, tuple[int, Product, str | None]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    edited: set[str] = field(default_factory=set)
    events: list[Event] = field(default_factory=list)
    items: list[JobItem] = field(default_factory=list)

    def item(self, line: int, outcome: RowOutcome, **kw: Any) -> None:
        self.items.append(JobItem(self.job.id, self.job.shop_id, line, outcome, **kw))
        self.job.processed += 1
        if outcome is RowOutcome.FAILED:
            self.job.failed += 1
        else:
            self.job.succeeded += 1
        if kw.get("sku_id") is None:
            return
        if outcome is RowOutcome.CREATED:
            self.job.skus_created += 1
        elif outcome is RowOutcome.UPDATED:
            self.job.skus_updated += 1

    def fail_product(self, raw: RawProduct, by_line: dict[int, Errors]) -> None:
        first_bad = min(by_line) if by_line else raw.line
        fallback = [
            {
                "field": None,
                "code": "product_failed",
                "message": f"Product {raw.out_product_id!r} was not changed: see line {first_bad}.",
            }
        ]
        for sku in raw.skus:
            self.item(
                sku.line,
                RowOutcome.FAILED,
                out_product_id=raw.out_product_id,
                out_sku_id=_str(sku.data.get("out_sku_id")),
                errors=by_line.get(sku.line) or fallback,
            )
        if raw.line not in {s.line for s in raw.skus}:
            # A product without a SKU line of its own first line (Shopify image rows only).
            self.item(
                raw.line,
                RowOutcome.FAILED,
                out_product_id=raw.out_product_id,
                errors=by_line.get(raw.line) or fallback,
            )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sku_parse_errors(raw: RawProduct) -> Errors:
    """Problems of SKU lines found while reading the file, placed as validator errors are."""
    return [
        {**e, "loc": ["skus", i, *e["loc"][1:]]}
        for i, sku in enumerate(raw.skus)
        for e in sku.errors
    ]


def _line_errors(raw: RawProduct) -> Errors:
    return [dict(e) for e in raw.errors] + _sku_parse_errors(raw)


def create(
    w: ChunkWriter,
    sc: ShopCatalog,
    validator: RowValidator,
    raw: RawProduct,
    out_sku_owners: dict[str, str],
    templates: Collection[str] = (),
) -> None:
    errors = _line_errors(raw)
    fields, skus, field_errors = validator.new_product(
        {**raw.fields, "out_product_id": raw.out_product_id}, [s.data for s in raw.skus]
    )
    # A cell that could not be read is reported once, not again as missing.
    unreadable = {tuple(e["loc"]) for e in errors}
    field_errors = [e for e in field_errors if tuple(e["loc"]) not in unreadable]
    errors += field_errors
    if fields is not None and not field_errors:
        errors += rules.new_product_errors(sc, fields, skus, prefix="row")
        errors += rules.template_errors(fields.freight_template_id, templates, prefix="row")
        for i, given in enumerate(skus):
            if given.out_sku_id and given.out_sku_id in out_sku_owners:
                errors.append(_out_sku_taken(i, given.out_sku_id))
    if errors or fields is None:
        w.fail_product(raw, _split_by_line(errors, raw))
        return
    stamp = {"created_at": w.now, "updated_at": w.now}
    product = new_values(Product, shop_id=w.job.shop_id, **vars(fields), **stamp)
    w.products.append(product)
    w.job.products_created += 1
    for line, sku_given in zip(raw.skus, skus, strict=True):
        sku = new_values(
            Sku, shop_id=w.job.shop_id, product_id=product["id"], **vars(sku_given), **stamp
        )
        w.skus.append(sku)
        w.item(
            line.line,
            RowOutcome.CREATED,
            out_product_id=raw.out_product_id,
            out_sku_id=sku["out_sku_id"],
            product_id=product["id"],
            sku_id=sku["id"],
        )


def _out_sku_taken(index: int, out_sku_id: str) -> dict[str, Any]:
    return rules.err(
        f"row.skus.{index}.out_sku_id",
        f"Another product of the shop has the SKU out_sku_id {out_sku_id!r}.",
        "out_sku_id_taken",
    )


def update(
    w: ChunkWriter,
    sc: ShopCatalog,
    validator: RowValidator,
    raw: RawProduct,
    product: Product,
    existing: list[Sku],
    out_sku_owners: dict[str, str],
    templates: Collection[str] = (),
) -> None:
    errors = [dict(e) for e in raw.errors]
    changes, field_errors = validator.product_changes(raw.fields)
    errors += field_errors
    changed = services.content_changes(product, changes) if not field_errors else {}
    if product.status is ProductStatus.BANNED:
        errors.append(rules.err("row", "A banned product takes no change.", "product_banned"))
    elif changed:
        try:
            services.ensure_editable(product)
        except InvalidTransition as e:
            errors.append(rules.err("row", e.detail, "product_not_editable"))
        errors += services.changed_errors(sc, product, changed, prefix="row")
        if "freight_template_id" in changed:
            errors += rules.template_errors(changed["freight_template_id"], templates, "row")
    if errors:
        w.fail_product(raw, _split_by_line(errors + _sku_parse_errors(raw), raw))
        return
    if changed:
        # A listed product keeps selling: reviewed content waits in its pending revision,
        # like a PATCH; the rest applies at once.
        if services.apply_content(product, changed) is not None:
            changed = {k: v for k, v in changed.items() if k not in REVIEWED_FIELDS}
        w.edited.add(product.id)
    by_out = {s.out_sku_id: s for s in existing if s.out_sku_id}
    by_attrs = {s.attrs_key: s for s in existing}
    by_id = {s.id: s for s in existing}
    count = len(existing)
    sku_changes: set[str] = set()
    for line in raw.skus:
        if not line.data and not line.errors:
            # A line with product fields only: it changes the product, no SKU.
            w.item(
                line.line,
                RowOutcome.UPDATED if changed else RowOutcome.UNCHANGED,
                out_product_id=raw.out_product_id,
                product_id=product.id,
            )
            continue
        outcome, sku, line_errors = _sku_line(
            w, validator, line, product, by_out, by_attrs, by_id, count, out_sku_owners
        )
        if outcome is RowOutcome.CREATED:
            count += 1
        if outcome in (RowOutcome.CREATED, RowOutcome.UPDATED):
            sku_changes.add("skus")
        w.item(
            line.line,
            outcome,
            out_product_id=raw.out_product_id,
            out_sku_id=sku.out_sku_id if sku else _str(line.data.get("out_sku_id")),
            product_id=product.id,
            sku_id=sku.id if sku else None,
            errors=line_errors,
        )
    if changed or sku_changes:
        w.job.products_updated += 1
        if not changed:
            w.touched.add(product.id)
        w.events.append(
            services.product_event(
                "product.updated", product, changed=sorted(set(changed) | sku_changes)
            )
        )


def _sku_line(
    w: ChunkWriter,
    validator: RowValidator,
    line: SkuLine,
    product: Product,
    by_out: dict[str, Sku],
    by_attrs: dict[str, Sku],
    by_id: dict[str, Sku],
    count: int,
    out_sku_owners: dict[str, str],
) -> tuple[RowOutcome, Sku | None, Errors]:
    def failed(errors: Errors) -> tuple[RowOutcome, Sku | None, Errors]:
        return RowOutcome.FAILED, None, [_public(e) for e in errors]

    if line.errors:
        return failed(line.errors)
    out_id = _str(line.data.get("out_sku_id"))
    target = by_out.get(out_id) if out_id else None
    data = line.data
    if target is None and out_id and out_id in by_id:
        # An export names a SKU without out_sku_id by its id: that SKU, its out id unset.
        target = by_id[out_id]
        data = {k: v for k, v in data.items() if k != "out_sku_id"}
    if target is None and out_id and out_sku_owners.get(out_id, product.id) != product.id:
        return failed([_out_sku_taken(0, out_id)])
    attrs = line.data.get("sale_attrs", {})
    if target is None and isinstance(attrs, dict) and not out_id:
        try:
            target = by_attrs.get(attrs_key(attrs))
        except TypeError:
            target = None
    if target is not None:
        changes, errors = validator.sku_changes(
            {k: v for k, v in data.items() if k in SKU_IMPORTABLE}
        )
        if errors:
            return failed(errors)
        changed = {k: v for k, v in changes.items() if getattr(target, k) != v}
        price_errors = rules.price_errors(
            "row.",
            changed.get("price", target.price),
            changed.get("market_price", target.market_price),
        )
        if price_errors:
            return failed(price_errors)
        if not changed:
            return RowOutcome.UNCHANGED, target, []
        if "out_sku_id" in changed:
            by_out[str(changed["out_sku_id"])] = target
        # Written with one statement per chunk; the loaded SKU itself stays untouched.
        if "stock" in changed:
            w.stock_levels[target.id] = (
                int(changed["stock"]),
                product,
                changed.get("out_sku_id", target.out_sku_id),
            )
        if changed.keys() - {"stock"}:
            w.sku_updates.append(
                {"id": target.id}
                | {k: changed.get(k, getattr(target, k)) for k in SKU_UPDATABLE}
                # One version per changed SKU: the stock path adds it when it sets the stock.
                | {"version_step": 0 if "stock" in changed else 1}
            )
        return RowOutcome.UPDATED, target, []
    fields, errors = validator.new_sku(line.data)
    if errors or fields is None:
        return failed(errors)
    errors = rules.price_errors("row.", fields.price, fields.market_price)
    key = attrs_key(fields.sale_attrs)
    if key in by_attrs:
        errors.append(rules.duplicate_attrs_error("row.sale_attrs", by_attrs[key].id))
    if count >= MAX_SKUS:
        errors.append(rules.sku_count_error("row"))
    if errors:
        return failed(errors)
    sku = Sku(shop_id=w.job.shop_id, product_id=product.id, **vars(fields))
    w.skus.append(
        new_values(
            Sku,
            **{k: getattr(sku, k) for k in vars(fields)},
            id=sku.id,
            shop_id=sku.shop_id,
            product_id=sku.product_id,
        )
    )
    by_attrs[key] = sku
    if sku.out_sku_id:
        by_out[sku.out_sku_id] = sku
    return RowOutcome.CREATED, sku, []


async def import_chunk(
    uow: CatalogUnitOfWork,
    job: BulkJob,
    sc: ShopCatalog,
    validator: RowValidator,
    chunk: list[RawProduct],
    orphans: list[SkuLine],
) -> None:
    """Validate and write one chunk, its line outcomes and the job's progress (the caller
    commits them together)."""
    shop_id = job.shop_id
    existing = await uow.bulk.products_by_out_ids(shop_id, [p.out_product_id for p in chunk])
    current = await uow.products.skus_of(shop_id, [p.id for p in existing.values()])
    wanted = [
        s.data["out_sku_id"] for p in chunk for s in p.skus if usable_id(s.data.get("out_sku_id"))
    ]
    owners = await uow.bulk.sku_owners(shop_id, wanted)
    named = {t for p in chunk if isinstance(t := p.fields.get("freight_template_id"), str)}
    templates = await uow.freight_templates.existing(shop_id, named)
    w = ChunkWriter(job)
    for raw in chunk:
        product = existing.get(raw.out_product_id)
        if product is None:
            # An out_sku_id twice in the file is refused while reading it, so only earlier
            # chunks (committed) and other products can hold one: `owners` has them.
            create(w, sc, validator, raw, owners, templates)
        else:
            update(w, sc, validator, raw, product, current.get(product.id, []), owners, templates)
    for orphan in orphans:
        w.item(orphan.line, RowOutcome.FAILED, errors=[_public(e) for e in orphan.errors])
    now = w.now
    await uow.bulk.insert_catalog(w.products, w.skus)
    # Rows in id order, as every multi-SKU write takes them: concurrent ones cannot deadlock.
    await uow.bulk.update_skus(shop_id, sorted(w.sku_updates, key=lambda u: str(u["id"])), now)
    levels = {sku_id: level for sku_id, (level, _, _) in w.stock_levels.items()}
    for done in await stock.set_many(uow, shop_id, levels):
        _, product, out_sku_id = w.stock_levels[done.sku_id]
        event = stock.stock_low_event(product, done, out_sku_id)
        if event is not None:
            w.events.append(event)
    await uow.bulk.touch_products(shop_id, sorted(w.touched - w.edited), now)
    await uow.outbox.add_many(w.events)
    await uow.bulk.add_items(w.items)
    await uow.flush()  # content edits of existing products, through the ORM (version checked)
    job.next_chunk += 1
    job.heartbeat_at = job.updated_at = now
    await uow.bulk.save_progress(job)
