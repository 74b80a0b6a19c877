"""Open API: the shop's freight templates (scopes `logistics:read` / `logistics:write`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from app.api.deps import IfMatch, UoW, set_etag
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.provider import (
    PROVIDER_ERRORS,
    PROVIDER_WRITE_ERRORS,
    LogisticsRead,
    LogisticsWrite,
)
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.freight import (
    TEMPLATE_ID_EXAMPLE,
    FreightTemplateFields,
    FreightTemplateOut,
    template_out,
)
from app.domain.errors import PreconditionFailed
from app.domain.orders import freight_services as services
from app.domain.orders.errors import FreightTemplateInUse, FreightTemplateNotFound

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: freight templates"])

TemplateId = Annotated[
    str,
    Path(max_length=40, description="The freight template's id.", examples=[TEMPLATE_ID_EXAMPLE]),
]
_BODY = (400, 413, 415, 422)


@router.get(
    "/freight-templates",
    operation_id="listFreightTemplates",
    summary="The shop's freight templates, oldest first",
    description="Scope `logistics:read`.",
    response_model=ListResponse[FreightTemplateOut],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_freight_templates(
    access: LogisticsRead, uow: UoW, page: PageParams
) -> ListResponse[FreightTemplateOut]:
    result = await services.page(uow, access.shop_id, page)
    return ListResponse[FreightTemplateOut](
        data=[template_out(t) for t in result.items], next_cursor=encode_cursor(result.next_after)
    )


@router.post(
    "/freight-templates",
    operation_id="createFreightTemplate",
    summary="Create a freight template",
    description="Scope `logistics:write`. Rates count pieces or grams (`valuation`); a regional "
    "rate names GB/T 2260 province (`44`) or city (`4403`) codes and the most precise one "
    "covering a destination wins, else `default_rate`. `is_default: true` makes it the "
    "shop's default (for products naming no template). Unknown codes are field-level 422s.",
    status_code=status.HTTP_201_CREATED,
    response_model=FreightTemplateOut,
    responses=problem_responses(*PROVIDER_WRITE_ERRORS, *_BODY),
)
async def create_freight_template(
    body: FreightTemplateFields, access: LogisticsWrite, uow: UoW, response: Response
) -> FreightTemplateOut:
    t = await services.create(uow, access.shop_id, body.fields())
    response.headers["Location"] = f"/v1/freight-templates/{t.id}"
    set_etag(response, t.version)
    return template_out(t)


@router.get(
    "/freight-templates/{template_id}",
    operation_id="getFreightTemplate",
    summary="One freight template",
    description="Scope `logistics:read`. Another shop's template is not found.",
    response_model=FreightTemplateOut,
    responses=problem_responses(*PROVIDER_ERRORS, 422, FreightTemplateNotFound),
)
async def get_freight_template(
    template_id: TemplateId, access: LogisticsRead, uow: UoW, response: Response
) -> FreightTemplateOut:
    t = await services.get(uow, access.shop_id, template_id)
    set_etag(response, t.version)
    return template_out(t)


@router.put(
    "/freight-templates/{template_id}",
    operation_id="replaceFreightTemplate",
    summary="Replace a freight template",
    description="Scope `logistics:write`. Every field given again; orders already placed keep "
    "their freight, new orders and quotes use the new rules. `is_default: false` on the "
    "default leaves the shop without one (flat freight for products naming none). Honours "
    "`If-Match`.",
    response_model=FreightTemplateOut,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS, *_BODY, FreightTemplateNotFound, PreconditionFailed
    ),
)
async def replace_freight_template(
    template_id: TemplateId,
    body: FreightTemplateFields,
    access: LogisticsWrite,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> FreightTemplateOut:
    t = await services.replace(uow, access.shop_id, template_id, body.fields(), expected)
    set_etag(response, t.version)
    return template_out(t)


@router.post(
    "/freight-templates/{template_id}/default",
    operation_id="setDefaultFreightTemplate",
    summary="Make a freight template the shop's default",
    description="Scope `logistics:write`. Products naming no template pay it; the former "
    "default stops being it. Making the default the default again changes nothing.",
    response_model=FreightTemplateOut,
    responses=problem_responses(*PROVIDER_WRITE_ERRORS, 400, 422, FreightTemplateNotFound),
)
async def set_default_freight_template(
    template_id: TemplateId, access: LogisticsWrite, uow: UoW, response: Response
) -> FreightTemplateOut:
    t = await services.make_default(uow, access.shop_id, template_id)
    set_etag(response, t.version)
    return template_out(t)


@router.delete(
    "/freight-templates/{template_id}",
    operation_id="deleteFreightTemplate",
    summary="Delete a freight template",
    description="Scope `logistics:write`. Refused while products name it (409 "
    "`freight_template_in_use`, with their count): give them another template, or none, "
    "first; detaching them silently would change what their orders pay. Deleting the "
    "default leaves the shop without one (flat freight for products naming none).",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS, 400, 422, FreightTemplateNotFound, FreightTemplateInUse
    ),
)
async def delete_freight_template(
    template_id: TemplateId, access: LogisticsWrite, uow: UoW
) -> None:
    # No Response of our own: the injected one carries the rate-limit headers.
    await services.delete(uow, access.shop_id, template_id)
