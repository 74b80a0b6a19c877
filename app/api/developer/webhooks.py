"""Developer surface: an app's webhook endpoints, secrets, delivery log and redelivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Path, Query, Response, status

from app.api.deps import (
    MERCHANT_ERRORS,
    SESSION_ERRORS,
    ContainerDep,
    CurrentAccount,
    MerchantSession,
    UoW,
    set_etag,
)
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import AppId
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.webhooks import (
    DELIVERY_EXAMPLE,
    ENDPOINT_EXAMPLE,
    Attempt,
    Delivery,
    Endpoint,
    EndpointCreate,
    EndpointUpdate,
    EndpointWithSecret,
    RedeliverFailed,
    RedeliverResult,
)
from app.domain.authz.errors import AppNotFound
from app.domain.errors import ValidationFailed
from app.domain.webhooks import model, services
from app.domain.webhooks.errors import DeliveryNotFound, EndpointNotFound

router = PrefixedRouter(
    route_class=StrictRoute,
    prefix="/v1/apps/{app_id}/webhook-endpoints",
    tags=["Developer: webhooks"],
)

EndpointId = Annotated[
    str, Path(max_length=40, description="The endpoint's id.", examples=[ENDPOINT_EXAMPLE])
]
DeliveryId = Annotated[
    str, Path(max_length=40, description="The delivery's id.", examples=[DELIVERY_EXAMPLE])
]

#: A page of an app's endpoints, or of an endpoint's deliveries or attempts.
_APP_PAGE = (*SESSION_ERRORS, *PAGE_ERRORS, AppNotFound)
_ENDPOINT_PAGE = problem_responses(*_APP_PAGE, EndpointNotFound)
#: A change to one endpoint: the session's errors, the app's, the endpoint's, the body's.
_CHANGE = (*MERCHANT_ERRORS, 422, AppNotFound, EndpointNotFound)
_BODY = (400, 409, 413, 415)


def endpoint_out(e: model.WebhookEndpoint) -> Endpoint:
    return Endpoint.model_validate(e)


def with_secret(e: model.WebhookEndpoint, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate({**endpoint_out(e).model_dump(), "secret": secret})


@router.post(
    "",
    operation_id="createWebhookEndpoint",
    summary="Subscribe an endpoint to events",
    description="Returns the signing `secret` once. URLs resolving to private, loopback, "
    "link-local or reserved addresses (IPv6 forms that embed one included), and ports other "
    "than 443 and 80, are refused (422 `url_refused`) unless the deployment allows them; the "
    "check is made again for every connection, which goes to the address checked.",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointWithSecret,
    responses=problem_responses(*MERCHANT_ERRORS, *_BODY, 422, AppNotFound),
)
async def create_endpoint(
    app_id: AppId,
    body: EndpointCreate,
    ctx: MerchantSession,
    uow: UoW,
    container: ContainerDep,
    response: Response,
) -> EndpointWithSecret:
    endpoint, secret = await services.create_endpoint(
        uow,
        container.cipher,
        container.webhook_guard,
        ctx.actor,
        app_id,
        url=body.url,
        topics=body.topics,
        description=body.description,
    )
    response.headers["Location"] = f"/v1/apps/{app_id}/webhook-endpoints/{endpoint.id}"
    set_etag(response, endpoint.version)
    return with_secret(endpoint, secret)


@router.get(
    "",
    operation_id="listWebhookEndpoints",
    summary="The app's webhook endpoints",
    response_model=ListResponse[Endpoint],
    responses=problem_responses(*_APP_PAGE),
)
async def list_endpoints(
    app_id: AppId, ctx: CurrentAccount, uow: UoW, page: PageParams
) -> ListResponse[Endpoint]:
    result = await services.list_endpoints(uow, ctx.actor, app_id, page)
    return ListResponse[Endpoint](
        data=[endpoint_out(e) for e in result.items], next_cursor=encode_cursor(result.next_after)
    )


@router.get(
    "/{endpoint_id}",
    operation_id="getWebhookEndpoint",
    summary="One webhook endpoint",
    response_model=Endpoint,
    responses=problem_responses(*SESSION_ERRORS, 422, AppNotFound, EndpointNotFound),
)
async def get_endpoint(
    app_id: AppId, endpoint_id: EndpointId, ctx: CurrentAccount, uow: UoW, response: Response
) -> Endpoint:
    endpoint = await services.own_endpoint(uow, ctx.actor, app_id, endpoint_id)
    set_etag(response, endpoint.version)
    return endpoint_out(endpoint)


@router.patch(
    "/{endpoint_id}",
    operation_id="updateWebhookEndpoint",
    summary="Change, pause or resume an endpoint",
    response_model=Endpoint,
    responses=problem_responses(*_CHANGE, *_BODY),
)
async def update_endpoint(
    app_id: AppId,
    endpoint_id: EndpointId,
    body: EndpointUpdate,
    ctx: MerchantSession,
    uow: UoW,
    container: ContainerDep,
    response: Response,
) -> Endpoint:
    nulls = [
        n
        for n in ("url", "topics", "enabled")
        if n in body.model_fields_set and getattr(body, n) is None
    ]
    if nulls:
        raise ValidationFailed(
            "These fields cannot be null.",
            errors=[{"loc": ["body", n], "msg": "Cannot be null.", "type": "null"} for n in nulls],
        )
    changes = {n: getattr(body, n) for n in body.model_fields_set}
    endpoint = await services.update_endpoint(
        uow, container.webhook_guard, ctx.actor, app_id, endpoint_id, changes
    )
    set_etag(response, endpoint.version)
    return endpoint_out(endpoint)


@router.delete(
    "/{endpoint_id}",
    operation_id="deleteWebhookEndpoint",
    summary="Remove an endpoint and its delivery log",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_CHANGE),
)
async def delete_endpoint(
    app_id: AppId, endpoint_id: EndpointId, ctx: MerchantSession, uow: UoW
) -> None:
    await services.delete_endpoint(uow, ctx.actor, app_id, endpoint_id)


@router.post(
    "/{endpoint_id}/secret",
    operation_id="rotateWebhookSecret",
    summary="Rotate the signing secret",
    description="Returns the new secret once. For the overlap (24 h by default) every "
    "delivery carries two signatures, one per secret, so receivers can switch at leisure.",
    response_model=EndpointWithSecret,
    responses=problem_responses(*_CHANGE),
)
async def rotate_secret(
    app_id: AppId,
    endpoint_id: EndpointId,
    ctx: MerchantSession,
    uow: UoW,
    container: ContainerDep,
    response: Response,
) -> EndpointWithSecret:
    overlap = timedelta(seconds=container.settings.webhook_secret_overlap_seconds)
    endpoint, secret = await services.rotate_secret(
        uow, container.cipher, ctx.actor, app_id, endpoint_id, overlap
    )
    set_etag(response, endpoint.version)
    return with_secret(endpoint, secret)


@router.post(
    "/{endpoint_id}/test",
    operation_id="testWebhookEndpoint",
    summary="Send a webhook.ping event to the endpoint",
    description="Queued like any delivery; watch it in the delivery log.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Delivery,
    responses=problem_responses(*_CHANGE),
)
async def test_endpoint(
    app_id: AppId, endpoint_id: EndpointId, ctx: MerchantSession, uow: UoW
) -> Delivery:
    delivery = await services.send_test(uow, ctx.actor, app_id, endpoint_id)
    return Delivery.model_validate(delivery)


@router.get(
    "/{endpoint_id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="The endpoint's deliveries, newest first",
    response_model=ListResponse[Delivery],
    responses=_ENDPOINT_PAGE,
)
async def list_deliveries(
    app_id: AppId,
    endpoint_id: EndpointId,
    ctx: CurrentAccount,
    uow: UoW,
    page: PageParams,
    status: Annotated[
        model.DeliveryStatus | None, Query(description="Only in this state.", examples=["failed"])
    ] = None,
) -> ListResponse[Delivery]:
    result = await services.list_deliveries(uow, ctx.actor, app_id, endpoint_id, page, status)
    return ListResponse[Delivery](
        data=[Delivery.model_validate(d) for d in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/{endpoint_id}/attempts",
    operation_id="listWebhookAttempts",
    summary="Every request made to the endpoint, newest first",
    description="Time, status code, latency, error and the first 1 KB of the response.",
    response_model=ListResponse[Attempt],
    responses=_ENDPOINT_PAGE,
)
async def list_attempts(
    app_id: AppId,
    endpoint_id: EndpointId,
    ctx: CurrentAccount,
    uow: UoW,
    page: PageParams,
    failed: Annotated[bool, Query(description="Only failed attempts.", examples=[True])] = False,
) -> ListResponse[Attempt]:
    result = await services.list_attempts(uow, ctx.actor, app_id, endpoint_id, page, failed)
    return ListResponse[Attempt](
        data=[Attempt.model_validate(a) for a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    operation_id="redeliverWebhook",
    summary="Send one delivery again now",
    description="Same `webhook-id`, a fresh attempt count.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Delivery,
    responses=problem_responses(*_CHANGE, DeliveryNotFound),
)
async def redeliver(
    app_id: AppId,
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    ctx: MerchantSession,
    uow: UoW,
) -> Delivery:
    delivery = await services.redeliver(uow, ctx.actor, app_id, endpoint_id, delivery_id)
    return Delivery.model_validate(delivery)


@router.post(
    "/{endpoint_id}/redeliveries",
    operation_id="redeliverFailedWebhooks",
    summary="Send every failed delivery since a time again",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RedeliverResult,
    responses=problem_responses(*_CHANGE, *_BODY),
)
async def redeliver_failed(
    app_id: AppId,
    endpoint_id: EndpointId,
    body: RedeliverFailed,
    ctx: MerchantSession,
    uow: UoW,
) -> RedeliverResult:
    if body.since.tzinfo is None:
        raise ValidationFailed.field("body.since", "Give a time zone, e.g. 2026-11-25T08:00:00Z.")
    count = await services.redeliver_failed(uow, ctx.actor, app_id, endpoint_id, body.since)
    return RedeliverResult(queued=count)
