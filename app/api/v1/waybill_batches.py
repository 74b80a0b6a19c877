"""Open API: batch printing. Up to 500 orders get their e-waybills and one PDF of labels
through an asynchronous job (the bulk job machinery), polled for progress and per-order
results, its PDF downloaded until it expires. Another shop's batches are not found (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response, status

from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.provider import (
    PROVIDER_ERRORS,
    PROVIDER_WRITE_ERRORS,
    LogisticsRead,
    LogisticsWrite,
    require_scope,
)
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.waybills import (
    BATCH_ID_EXAMPLE,
    WaybillBatch,
    WaybillBatchCreate,
    WaybillBatchError,
    WaybillBatchLinks,
    WaybillBatchResult,
)
from app.api.v1.bulk import bulk_limits
from app.domain.authz.scopes import Scope
from app.domain.catalog import bulk_job_services as jobs
from app.domain.catalog.bulk_jobs import BulkJob, JobItem, JobKind, RowOutcome
from app.domain.catalog.errors import BulkQueueFull
from app.domain.logistics import label_batches as batches
from app.domain.logistics.errors import (
    DefaultSenderMissing,
    LabelsExpired,
    LabelsNotReady,
    LogisticsAccountNotFound,
    SenderAddressNotFound,
    WaybillBatchNotFound,
)

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: logistics"])

BatchId = Annotated[
    str,
    Path(min_length=1, max_length=64, description="The batch's id.", examples=[BATCH_ID_EXAMPLE]),
]


def _result(item: JobItem) -> WaybillBatchResult:
    error = item.errors[0] if item.errors else None
    return WaybillBatchResult(
        line=item.line,
        order_id=item.order_id or "",
        outcome="issued" if item.outcome is RowOutcome.CREATED else "failed",
        waybill_id=item.waybill_id,
        error=WaybillBatchError(code=error["code"], message=error["message"]) if error else None,
    )


def _out(job: BulkJob, items: list[JobItem]) -> WaybillBatch:
    base = f"/v1/waybill-batches/{job.id}"
    return WaybillBatch(
        id=job.id,
        status=job.status.value,
        ship=bool(job.options.get("ship")),
        total=job.total,
        processed=job.processed,
        succeeded=job.succeeded,
        failed=job.failed,
        error=job.error,
        results=[_result(i) for i in items],
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        links=WaybillBatchLinks(self=base, labels=f"{base}/labels.pdf"),
    )


@router.post(
    "/waybill-batches",
    operation_id="createWaybillBatch",
    summary="Issue waybills for many orders and print their labels (a job)",
    description="Scope `logistics:write` (and `orders:write` with `ship: true`). Answers 202 "
    "with the batch; a worker then issues each order's waybill as `POST "
    "/v1/orders/{order_id}/waybills` would (everything not yet shipped), in chunks that "
    "commit as they go, and prints every label into one PDF (100 × 150 mm pages, in "
    "`order_ids` order). Poll `GET /v1/waybill-batches/{batch_id}`: `processed` of "
    "`total`, and per order its waybill or the problem code it failed with (the batch goes "
    "on). A carrier failure is retried twice for the order, never issuing a second waybill. "
    "The account and the sender are checked now; the orders as the worker reaches them.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WaybillBatch,
    responses={
        **sets_headers(202, location=True),
        **problem_responses(
            *PROVIDER_WRITE_ERRORS,
            400,
            413,
            415,
            422,
            LogisticsAccountNotFound,
            SenderAddressNotFound,
            DefaultSenderMissing,
            BulkQueueFull,
        ),
    },
)
async def create_waybill_batch(
    body: WaybillBatchCreate,
    access: LogisticsWrite,
    uow: UoW,
    request: Request,
    response: Response,
) -> WaybillBatch:
    if body.ship:
        require_scope(access, Scope.ORDERS_WRITE)
    job = await batches.start(
        uow,
        access.actor,
        access.shop_id,
        batches.BatchRequest(
            account_id=body.logistics_account_id,
            sender_address_id=body.sender_address_id,
            order_ids=body.order_ids,
            ship=body.ship,
            weight_grams=body.weight_grams,
        ),
        bulk_limits(request),
    )
    response.headers["Location"] = f"/v1/waybill-batches/{job.id}"
    return _out(job, [])


@router.get(
    "/waybill-batches",
    operation_id="listWaybillBatches",
    summary="The shop's batch printing jobs",
    description="Scope `logistics:read`. Oldest first; each with its per-order results.",
    response_model=ListResponse[WaybillBatch],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_waybill_batches(
    access: LogisticsRead, uow: UoW, page: PageParams
) -> ListResponse[WaybillBatch]:
    result = await jobs.list_for_shop(uow, access.shop_id, page, JobKind.LABELS)
    lines = await batches.results_of(uow, access.shop_id, result.items)
    return ListResponse[WaybillBatch](
        data=[_out(j, lines[j.id]) for j in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/waybill-batches/{batch_id}",
    operation_id="getWaybillBatch",
    summary="A batch printing job: progress and per-order results",
    description="Scope `logistics:read`.",
    response_model=WaybillBatch,
    responses=problem_responses(*PROVIDER_ERRORS, 422, WaybillBatchNotFound),
)
async def get_waybill_batch(batch_id: BatchId, access: LogisticsRead, uow: UoW) -> WaybillBatch:
    job = await batches.get(uow, access.shop_id, batch_id)
    return _out(job, await batches.results(uow, job))


@router.get(
    "/waybill-batches/{batch_id}/labels.pdf",
    operation_id="getWaybillBatchLabels",
    summary="The batch's labels (one PDF)",
    description="Scope `logistics:read`. A page per order that got a waybill, in the "
    "batch's order. 409 `labels_not_ready` until the batch has succeeded (or when no order "
    "got a waybill); 410 `labels_expired` after `expires_at`.",
    response_class=Response,
    responses={
        200: {
            "description": "The labels.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(
            *PROVIDER_ERRORS, 422, WaybillBatchNotFound, LabelsNotReady, LabelsExpired
        ),
    },
)
async def get_waybill_batch_labels(
    batch_id: BatchId, access: LogisticsRead, uow: UoW, response: Response
) -> Response:
    stored = await batches.labels(uow, access.shop_id, batch_id)
    headers = dict(response.headers)
    headers["Content-Disposition"] = f'attachment; filename="labels-{batch_id}.pdf"'
    headers["Cache-Control"] = "private, no-cache"
    return Response(stored.content, media_type=stored.content_type, headers=headers)
