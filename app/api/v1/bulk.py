"""Open API: bulk import and export of the catalogue, run as jobs by the worker."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import IO, Annotated, Any, Literal

from fastapi import Header, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.idempotency import receiving_body_itself
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.provider import PROVIDER_ERRORS, PROVIDER_WRITE_ERRORS, ProductsRead, ProductsWrite
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.bulk import JOB_EXAMPLE, BulkExportCreate, BulkJob, BulkJobLinks
from app.api.uploads import (
    TooManyUploads,
    file_size,
    form_file,
    in_parts,
    spooled_body,
    upload_slots,
)
from app.domain.catalog import bulk_files, bulk_jobs
from app.domain.catalog import bulk_job_services as job_services
from app.domain.catalog.bulk_jobs import ImportFormat, JobItem, JobKind
from app.domain.catalog.errors import (
    BulkJobNotFound,
    BulkQueueFull,
    BulkStorageFull,
    FileNotReady,
    InvalidUpload,
)
from app.domain.errors import ValidationFailed
from app.domain.shops import services as shop_services

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: bulk jobs"])

IMPORT_PATH = "/v1/products/bulk-imports"
#: Media types of an import upload, by the format they carry.
UPLOAD_TYPES = {
    "text/csv": ImportFormat.CSV,
    "application/x-ndjson": ImportFormat.JSONL,
    "application/jsonl": ImportFormat.JSONL,
}
MULTIPART = "multipart/form-data"
#: What the upload route accepts: the file as the body, or as the `file` part of a form.
ACCEPTED_TYPES = (*UPLOAD_TYPES, MULTIPART)
_EXTENSIONS = {
    ".csv": ImportFormat.CSV,
    ".jsonl": ImportFormat.JSONL,
    ".ndjson": ImportFormat.JSONL,
}
DOWNLOAD_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

JobId = Annotated[str, Path(max_length=40, description="The job's id.", examples=[JOB_EXAMPLE])]

_READ_ERRORS = problem_responses(*PROVIDER_ERRORS, 422, BulkJobNotFound)
#: What queueing a job may answer: a malformed body, a key still in use, a full queue.
_JOB_WRITE = (*PROVIDER_WRITE_ERRORS, 400, 409, 413, 415, 422, BulkQueueFull, BulkStorageFull)

IMPORT_DESCRIPTION = """Scope `products:write`. Send the file itself as the body,
`Content-Type: text/csv` for `csv` and `shopify_csv`, `application/x-ndjson` for `jsonl`; or
as the `file` part of a `multipart/form-data` body (the part's Content-Type, else its file
name's `.csv` / `.jsonl` / `.ndjson`, gives the format unless `format` does). Uploads may be
up to 64 MiB (`MINISHOP_BULK_MAX_BODY_BYTES`), 100 000 SKU lines and more, and must arrive
within `MINISHOP_BODY_READ_TIMEOUT_SECONDS` (408 `body_read_timeout`). An app may send a few
uploads at once (`MINISHOP_BULK_UPLOADS_PER_APP`, else 429 `too_many_uploads`); a shop may have
a few jobs queued or running (`MINISHOP_BULK_MAX_PENDING_JOBS`, else 429 `bulk_queue_full`)
holding so many bytes of uploads (`MINISHOP_BULK_MAX_PENDING_BYTES`, else 429
`bulk_storage_full`). The file's shape is checked at once (UTF-8, the header's columns: a
wrong file is a 422 naming each bad column, and nothing is stored); its lines are checked by
the worker with the rules of `POST /v1/products`, and each bad line is reported without
stopping the others.
Answers 202 with the job; follow `Location` (`GET /v1/bulk-jobs/{job_id}`).

**Spreadsheet safety.** A CSV cell that a spreadsheet would run as a formula (starting
with `=`, `+`, `-`, `@`, a tab or CR, and not a number such as `-3`) is written with a leading
`'` by exports and error files; the importer removes that `'` again, so such values survive
an export → import round trip.

**`csv` and `jsonl`: one line per SKU.** Columns `out_product_id` (required), `title`,
`subtitle`, `category_id`, `brand_id`, `condition`, `regions` (space-separated codes), `images`
(space-separated URLs), `description` (JSON blocks, or plain text: one block per paragraph),
`attributes` (JSON), `freight_template_id` (one of the shop's freight templates, else the
product fails with `unknown_freight_template`), then the SKU's `out_sku_id`, `sale_attrs`
(JSON object), `price`, `market_price` (fen), `stock`, `barcode`, `weight_g`. Lines sharing an
`out_product_id` are one product; its fields come from its first line. In JSON Lines, the
same keys with JSON values. An export writes these columns, so an export imports back
unchanged.

**What a line does.** A new `out_product_id` creates a draft product with its SKUs (only if
every line of it is valid). An existing one is updated: product fields given on its first line
follow the rules of `PATCH /v1/products/{product_id}` (editable states only; reviewed content
sends an approved or delisted product back to draft; empty cells change nothing); each SKU line
matches a SKU by `out_sku_id`, else by `sale_attrs`, and updates its price, market_price, stock,
barcode, weight_g, or adds a new SKU.

**`shopify_csv`: Shopify's product CSV export.** Rows sharing a `Handle` are one product
(`Handle` → `out_product_id`); each variant row is a SKU (`Variant SKU` → `out_sku_id`,
`Option1..3 Name/Value` → `sale_attrs`, `Variant Price` / `Variant Compare At Price` in
currency units → `price` / `market_price` in fen, `Variant Inventory Qty` → `stock`,
`Variant Grams` → `weight_g`, `Variant Barcode` → `barcode`); `Title` → `title`,
`Body (HTML)` → description blocks, `Vendor` → `brand_id` (the catalogue's brand of that
name, else no brand), `Image Src` by `Image Position` → `images` (image-only rows add
images). Shopify's `Type` is free text: pass the target
`category_id`, or `type_category=Type=category_id` per Type. See docs/shopify-import.md."""


def job_out(job: bulk_jobs.BulkJob) -> BulkJob:
    base = f"/v1/bulk-jobs/{job.id}"
    data = {k: getattr(job, k) for k in BulkJob.model_fields if k != "links"}
    links = BulkJobLinks(
        self=base,
        errors=f"{base}/errors",
        report=f"{base}/report",
        file=f"{base}/file" if job.kind is JobKind.EXPORT else None,
    )
    return BulkJob.model_validate({**data, "links": links})


def _type_categories(values: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for i, value in enumerate(values or []):
        type_, sep, category = value.rpartition("=")
        if not sep or not type_.strip() or not category.strip():
            raise ValidationFailed.field(
                f"query.type_category.{i}",
                "Write each as Type=category_id, e.g. Dresses=cat_apparel_women_dresses.",
            )
        mapping[type_.strip()] = category.strip()
    return mapping


def _upload_format(
    carried: ImportFormat | None, ctype: str, given: ImportFormat | None
) -> ImportFormat:
    if carried is None:  # the middleware refuses other types; without a body there is none
        raise ValidationFailed.field(
            "body",
            "Send the file as the request body, or as the `file` part of a form.",
            type_="missing",
        )
    fmt = given or carried
    if (fmt is ImportFormat.JSONL) != (carried is ImportFormat.JSONL):
        raise ValidationFailed.field(
            "query.format",
            f"format={fmt} does not match Content-Type {ctype}: send CSV as text/csv and JSON "
            "Lines as application/x-ndjson.",
        )
    return fmt


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _part_format(part: UploadFile, given: ImportFormat | None) -> ImportFormat:
    ctype = _media_type(part.content_type)
    carried = UPLOAD_TYPES.get(ctype)
    if carried is None:
        name = (part.filename or "").lower()
        carried = next((f for ext, f in _EXTENSIONS.items() if name.endswith(ext)), given)
    if carried is None:
        raise ValidationFailed.field(
            "query.format",
            f"Neither the part's type ({ctype or 'none'}) nor its file name tells the file's "
            "format: send format=csv, jsonl or shopify_csv.",
            type_="missing",
        )
    return _upload_format(carried, ctype or "the part's", given)


_UPLOAD_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1}


@router.post(
    "/products/bulk-imports",
    operation_id="createBulkImport",
    summary="Import products and SKUs from a CSV or JSON Lines file (a job)",
    description=IMPORT_DESCRIPTION,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BulkJob,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS,
        400,
        408,
        409,
        413,
        415,
        422,
        InvalidUpload,
        BulkQueueFull,
        BulkStorageFull,
        TooManyUploads,
    )
    | sets_headers(202, location=True),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file: our CSV or Shopify's product CSV (`text/csv`), or JSON "
            "Lines (`application/x-ndjson`); or either as the `file` part of a form.",
            "content": {
                "text/csv": {
                    "schema": _UPLOAD_SCHEMA,
                    "example": "out_product_id,title,category_id,images,out_sku_id,sale_attrs,"
                    "price,stock\nerp-1,Linen dress,cat_apparel_women_dresses,https://cdn."
                    'example.com/a.jpg,erp-1-m,"{""size"":""M""}",19900,10\n',
                },
                "application/x-ndjson": {
                    "schema": _UPLOAD_SCHEMA,
                    "example": '{"out_product_id":"erp-1","title":"Linen dress","category_id":'
                    '"cat_apparel_women_dresses","images":["https://cdn.example.com/a.jpg"],'
                    '"out_sku_id":"erp-1-m","sale_attrs":{"size":"M"},"price":19900,"stock":10}'
                    "\n",
                },
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "The file: CSV or JSON Lines, as above.",
                            }
                        },
                    },
                    "encoding": {"file": {"contentType": "text/csv, application/x-ndjson"}},
                },
            },
        }
    },
)
@receiving_body_itself
async def create_bulk_import(
    request: Request,
    access: ProductsWrite,
    uow: UoW,
    response: Response,
    format: Annotated[
        ImportFormat | None,
        Query(
            description="`csv`, `jsonl` or `shopify_csv`; by default the Content-Type's.",
            examples=["shopify_csv"],
        ),
    ] = None,
    category_id: Annotated[
        str | None,
        Query(
            max_length=40,
            description="`shopify_csv`: the leaf category the products go in.",
            examples=["cat_apparel_women_dresses"],
        ),
    ] = None,
    type_category: Annotated[
        list[str] | None,
        Query(
            max_length=100,
            description="`shopify_csv`: a category per Shopify product Type, as "
            "`Type=category_id` (repeat the parameter); other Types go in `category_id`.",
            examples=[["Dresses=cat_apparel_women_dresses"]],
        ),
    ] = None,
) -> BulkJob:
    ctype = _media_type(request.headers.get("content-type"))
    if ctype != MULTIPART:  # refused before anything is received
        _upload_format(UPLOAD_TYPES.get(ctype), ctype, format)
    type_categories = _type_categories(type_category)
    job_services.check_import_options(format or ImportFormat.CSV, category_id, type_categories)
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0
    await job_services.check_room(uow, access.shop_id, bulk_limits(request), size)
    # Authenticated; no connection is held while the client sends the file.
    await uow.release()
    async with upload_slots(request).slot(access.app_id), _received(request, format) as got:
        fmt, content_type, file = got
        size = file_size(file)
        total = await run_in_threadpool(bulk_files.inspect, str(fmt), file)
        shop = await shop_services.shop_or_404(uow, access.shop_id)
        upload = bulk_jobs.Upload(
            content_type, size, total, in_parts(file, bulk_jobs.FILE_PART_BYTES)
        )
        job = await job_services.start_import(
            uow,
            access.actor,
            shop,
            fmt,
            upload,
            bulk_limits(request),
            category_id=category_id,
            type_categories=type_categories,
        )
    response.headers["Location"] = f"/v1/bulk-jobs/{job.id}"
    return job_out(job)


@asynccontextmanager
async def _received(
    request: Request, given: ImportFormat | None
) -> AsyncIterator[tuple[ImportFormat, str, IO[bytes]]]:
    """The uploaded file, spooled: the body itself, or a form's `file` part."""
    ctype = request.headers.get("content-type", "")
    if _media_type(ctype) == MULTIPART:
        async with form_file(request, "file") as (part, file):
            fmt = _part_format(part, given)
            stored_type = bulk_jobs.CONTENT_TYPES["jsonl" if fmt is ImportFormat.JSONL else "csv"]
            yield fmt, stored_type, file
        return
    async with spooled_body(request) as file:
        yield _upload_format(UPLOAD_TYPES.get(_media_type(ctype)), ctype, given), ctype, file


def bulk_limits(request: Request) -> bulk_jobs.BulkLimits:
    settings = request.app.state.container.settings
    return bulk_jobs.BulkLimits(settings.bulk_max_pending_jobs, settings.bulk_max_pending_bytes)


@router.post(
    "/products/bulk-exports",
    operation_id="createBulkExport",
    summary="Export the shop's whole catalogue to a file (a job)",
    description="Scope `products:read`. One line per SKU with its product's fields, in the "
    "importer's columns (a product without `out_product_id` gets its id there, a SKU without "
    "`out_sku_id` its id), so the file imports back as it is, into this shop or another. "
    "Answers 202 with the job; when it has succeeded, download `GET /v1/bulk-jobs/{job_id}/file`.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BulkJob,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS, 400, 409, 413, 415, 422, BulkQueueFull, BulkStorageFull
    )
    | sets_headers(202, location=True),
)
async def create_bulk_export(
    body: BulkExportCreate, access: ProductsRead, uow: UoW, request: Request, response: Response
) -> BulkJob:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    job = await job_services.start_export(
        uow, access.actor, shop, body.format, bulk_limits(request)
    )
    response.headers["Location"] = f"/v1/bulk-jobs/{job.id}"
    return job_out(job)


@router.get(
    "/bulk-jobs",
    operation_id="listBulkJobs",
    summary="The shop's bulk jobs, oldest first",
    description="Scope `products:read`.",
    response_model=ListResponse[BulkJob],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_bulk_jobs(
    access: ProductsRead,
    uow: UoW,
    page: PageParams,
    kind: Annotated[
        Literal["import", "export"] | None,
        Query(description="Only imports or exports.", examples=["import"]),
    ] = None,
) -> ListResponse[BulkJob]:
    result = await job_services.list_for_shop(
        uow, access.shop_id, page, JobKind(kind) if kind else None
    )
    return ListResponse[BulkJob](
        data=[job_out(j) for j in result.items], next_cursor=encode_cursor(result.next_after)
    )


@router.get(
    "/bulk-jobs/{job_id}",
    operation_id="getBulkJob",
    summary="A bulk job: status, progress and counts",
    description="Scope `products:read`. Poll it: `processed` of `total` lines; when the "
    "status is `succeeded`, `failed` counts the lines that did not apply.",
    response_model=BulkJob,
    responses=_READ_ERRORS,
)
async def get_bulk_job(job_id: JobId, access: ProductsRead, uow: UoW) -> BulkJob:
    return job_out(await job_services.get(uow, access.shop_id, job_id))


def _download_format(accept: str | None, given: str | None) -> str:
    if given is not None:
        return given
    return "csv" if accept and "text/csv" in accept else "jsonl"


def _table(rows: Iterable[dict[str, Any]], columns: tuple[str, ...], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    # Out ids and messages quote what the provider sent: never a formula in a spreadsheet.
    writer.writerows(
        {k: bulk_files.spreadsheet_safe(v) if isinstance(v, str) else v for k, v in r.items()}
        for r in rows
    )
    return out.getvalue()


def _download(content: str | bytes, fmt: str, name: str, injected: Response) -> Response:
    # Our own Response: copy the injected one's headers (the rate-limit headers).
    headers = dict(injected.headers)
    headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return Response(content, media_type=DOWNLOAD_TYPES[fmt], headers=headers)


DownloadFormat = Annotated[
    str | None,
    Query(
        pattern="^(csv|jsonl)$",
        description="`csv` or `jsonl`; by default from `Accept` (`text/csv` gives CSV), else "
        "JSON Lines.",
        examples=["csv"],
    ),
]
AcceptHeader = Annotated[
    str | None,
    Header(
        description="`text/csv` or `application/x-ndjson`, when `format` is not given.",
        examples=["text/csv"],
    ),
]


def _download_responses(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": what,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    }


ERROR_COLUMNS = ("line", "out_product_id", "out_sku_id", "field", "code", "message")
REPORT_COLUMNS = (
    "line",
    "outcome",
    "out_product_id",
    "out_sku_id",
    "product_id",
    "sku_id",
    "errors",
)


def _error_rows(items: list[JobItem]) -> Iterable[dict[str, Any]]:
    for item in items:
        for e in item.errors:
            yield {
                "line": item.line,
                "out_product_id": item.out_product_id,
                "out_sku_id": item.out_sku_id,
                "field": e.get("field"),
                "code": e.get("code"),
                "message": e.get("message"),
            }


@router.get(
    "/bulk-jobs/{job_id}/errors",
    operation_id="getBulkJobErrors",
    summary="The lines of an import that failed, with why",
    description="Scope `products:read`. One row per error: the file's `line`, its out ids, "
    "the `field` (column), a machine `code` (the same codes as the single-product API's "
    "field errors: `missing_qualifications`, `duplicate_sale_attrs`...) and a `message`. "
    "Empty for an export or a clean import.",
    response_class=Response,
    responses=_READ_ERRORS | _download_responses("The errors, as CSV or JSON Lines."),
)
async def get_bulk_job_errors(
    job_id: JobId,
    access: ProductsRead,
    uow: UoW,
    response: Response,
    format: DownloadFormat = None,
    accept: AcceptHeader = None,
) -> Response:
    fmt = _download_format(accept, format)
    items = await job_services.items(uow, access.shop_id, job_id, failed_only=True)
    return _download(
        _table(_error_rows(items), ERROR_COLUMNS, fmt), fmt, f"{job_id}-errors", response
    )


@router.get(
    "/bulk-jobs/{job_id}/report",
    operation_id="getBulkJobReport",
    summary="What every line of an import did: your ids → ours",
    description="Scope `products:read`. One row per line: `outcome` (`created`, `updated`, "
    "`unchanged` or `failed`), your `out_product_id` / `out_sku_id` and the `product_id` / "
    "`sku_id` they created or matched; `errors` counts a failed line's errors (see "
    "`/errors`).",
    response_class=Response,
    responses=_READ_ERRORS | _download_responses("The report, as CSV or JSON Lines."),
)
async def get_bulk_job_report(
    job_id: JobId,
    access: ProductsRead,
    uow: UoW,
    response: Response,
    format: DownloadFormat = None,
    accept: AcceptHeader = None,
) -> Response:
    fmt = _download_format(accept, format)
    items = await job_services.items(uow, access.shop_id, job_id, failed_only=False)
    rows = (
        {
            "line": i.line,
            "outcome": str(i.outcome),
            "out_product_id": i.out_product_id,
            "out_sku_id": i.out_sku_id,
            "product_id": i.product_id,
            "sku_id": i.sku_id,
            "errors": len(i.errors),
        }
        for i in items
    )
    return _download(_table(rows, REPORT_COLUMNS, fmt), fmt, f"{job_id}-report", response)


@router.get(
    "/bulk-jobs/{job_id}/file",
    operation_id="getBulkJobFile",
    summary="Download the file of a finished export",
    description="Scope `products:read`. 409 `file_not_ready` until the export has succeeded "
    "(and for an import).",
    response_class=Response,
    responses=problem_responses(*PROVIDER_ERRORS, 422, BulkJobNotFound, FileNotReady)
    | _download_responses("The exported catalogue."),
)
async def get_bulk_job_file(
    job_id: JobId, access: ProductsRead, uow: UoW, response: Response
) -> Response:
    stored = await job_services.result_file(uow, access.shop_id, job_id)
    fmt = "csv" if stored.content_type.startswith("text/csv") else "jsonl"
    return _download(stored.content, fmt, f"{job_id}-catalogue", response)
