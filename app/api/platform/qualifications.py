"""Platform operator surface: the industry-qualification review queue."""

from __future__ import annotations

from app.api.deps import (
    OPERATOR_READ_ERRORS,
    OPERATOR_WRITE_ERRORS,
    OperatorRead,
    OperatorWrite,
    UoW,
)
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import QualificationId
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.catalog import IndustryQualification, qualification_out
from app.api.schemas.shops import ReasonInput
from app.domain.catalog import qualification_services as services
from app.domain.catalog.errors import QualificationNotFound
from app.domain.errors import InvalidTransition

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1/platform", tags=["Platform: review"])

_ERRORS = problem_responses(
    *OPERATOR_WRITE_ERRORS, 400, 413, 415, 422, QualificationNotFound, InvalidTransition
)


@router.get(
    "/review-queue/qualifications",
    operation_id="listQualificationReviewQueue",
    summary="Industry qualifications waiting for review, oldest first",
    response_model=ListResponse[IndustryQualification],
    responses=problem_responses(*OPERATOR_READ_ERRORS, *PAGE_ERRORS),
)
async def queue(
    ctx: OperatorRead, uow: UoW, page: PageParams
) -> ListResponse[IndustryQualification]:
    result = await services.review_queue(uow, page)
    return ListResponse[IndustryQualification](
        data=[qualification_out(q) for q in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.post(
    "/qualifications/{qualification_id}/approve",
    operation_id="approveQualification",
    summary="Approve an industry qualification",
    response_model=IndustryQualification,
    responses=_ERRORS,
)
async def approve(
    qualification_id: QualificationId, ctx: OperatorWrite, uow: UoW
) -> IndustryQualification:
    q = await services.review(uow, ctx.actor, qualification_id, "approve")
    return qualification_out(q)


@router.post(
    "/qualifications/{qualification_id}/reject",
    operation_id="rejectQualification",
    summary="Reject an industry qualification with a reason",
    response_model=IndustryQualification,
    responses=_ERRORS,
)
async def reject(
    qualification_id: QualificationId, body: ReasonInput, ctx: OperatorWrite, uow: UoW
) -> IndustryQualification:
    q = await services.review(uow, ctx.actor, qualification_id, "reject", reason=body.reason)
    return qualification_out(q)
