"""Bulk jobs as providers read them, and the row validator the importer uses: the lines of an
upload go through the very schemas the single-product API validates bodies with."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, ValidationError

from app.api.schemas.base import Input, Output
from app.api.schemas.catalog import TIME_EXAMPLE
from app.api.schemas.products import (
    SHOP_EXAMPLE,
    ProductCreate,
    ProductUpdate,
    SkuCreate,
    SkuUpdate,
    StockSet,
    product_changes,
    product_fields,
    sku_fields,
)
from app.domain.catalog.bulk_jobs import ExportFormat, JobStatus
from app.domain.catalog.product_rules import ProductFields, SkuFields

JOB_EXAMPLE = "job_01jd8m3k2x9v7q4w5e6r7t8y9z"


class BulkExportCreate(Input):
    """What to export: the shop's whole catalogue, one line per SKU."""

    format: ExportFormat = Field(
        description="`csv` (the importer's columns, so the file imports back as it is) or "
        "`jsonl` (one JSON object per line, same keys).",
        examples=["csv"],
    )


class BulkJobLinks(Output):
    """Where to follow the job and fetch its outcome."""

    self: str = Field(description="This job.", examples=[f"/v1/bulk-jobs/{JOB_EXAMPLE}"])
    errors: str = Field(
        description="Per-line errors (CSV or JSON Lines).",
        examples=[f"/v1/bulk-jobs/{JOB_EXAMPLE}/errors"],
    )
    report: str = Field(
        description="What every line did: out ids → created or updated ids.",
        examples=[f"/v1/bulk-jobs/{JOB_EXAMPLE}/report"],
    )
    file: str | None = Field(
        description="The exported file, for an export job.",
        examples=[f"/v1/bulk-jobs/{JOB_EXAMPLE}/file"],
    )


class BulkJob(Output):
    """An asynchronous import or export, with its progress and counts."""

    id: str = Field(description="Its id.", examples=[JOB_EXAMPLE])
    shop_id: str = Field(description="The shop.", examples=[SHOP_EXAMPLE])
    kind: Literal["import", "export"] = Field(
        description="`import` or `export`.", examples=["import"]
    )
    format: str = Field(description="`csv`, `jsonl` or `shopify_csv` (imports).", examples=["csv"])
    status: JobStatus = Field(
        description="`queued`, `running`, `succeeded` (finished; `failed` counts the lines "
        "that did not apply) or `failed` (the job could not run: see `error`).",
        examples=["running"],
    )
    total: int = Field(description="Lines (SKUs) to process.", examples=[100000])
    processed: int = Field(description="Lines processed so far.", examples=[42000])
    succeeded: int = Field(description="Lines that applied.", examples=[41990])
    failed: int = Field(description="Lines that failed (see `errors`).", examples=[10])
    products_created: int = Field(description="Products created.", examples=[14000])
    products_updated: int = Field(description="Existing products changed.", examples=[0])
    skus_created: int = Field(description="SKUs created.", examples=[41990])
    skus_updated: int = Field(description="Existing SKUs changed.", examples=[0])
    error: str | None = Field(description="Why a failed job stopped.", examples=[None])
    created_at: datetime = Field(description="Queued.", examples=[TIME_EXAMPLE])
    started_at: datetime | None = Field(description="First picked up.", examples=[None])
    finished_at: datetime | None = Field(description="Finished.", examples=[None])
    updated_at: datetime = Field(description="Last progress.", examples=[TIME_EXAMPLE])
    links: BulkJobLinks = Field(description="Related downloads.")


# --- the row validator --------------------------------------------------------------------------

Errors = list[dict[str, Any]]


def _errors(e: ValidationError) -> Errors:
    return [{"loc": list(x["loc"]), "msg": x["msg"], "type": x["type"]} for x in e.errors()]


class SchemaRowValidator:
    """`RowValidator` on the public schemas (`ProductCreate`, `ProductUpdate`, `SkuCreate`...)."""

    def new_product(
        self, fields: dict[str, Any], skus: list[dict[str, Any]]
    ) -> tuple[ProductFields | None, list[SkuFields], Errors]:
        try:
            body = ProductCreate.model_validate({**fields, "skus": skus})
        except ValidationError as e:
            return None, [], _errors(e)
        return product_fields(body), [sku_fields(s) for s in body.skus], []

    def product_changes(self, fields: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
        try:
            return product_changes(ProductUpdate.model_validate(fields)), []
        except ValidationError as e:
            return {}, _errors(e)

    def new_sku(self, data: dict[str, Any]) -> tuple[SkuFields | None, Errors]:
        try:
            return sku_fields(SkuCreate.model_validate(data)), []
        except ValidationError as e:
            return None, _errors(e)

    def sku_changes(self, data: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
        errors: Errors = []
        changes: dict[str, Any] = {}
        try:
            body = SkuUpdate.model_validate({k: v for k, v in data.items() if k != "stock"})
            changes = {k: getattr(body, k) for k in body.model_fields_set}
        except ValidationError as e:
            errors += _errors(e)
        if "stock" in data:
            try:
                changes["stock"] = StockSet.model_validate({"stock": data["stock"]}).stock
            except ValidationError as e:
                errors += _errors(e)
        return changes, errors
