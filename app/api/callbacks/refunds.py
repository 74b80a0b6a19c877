"""Payment gateways' refund notifications: the sandbox gateway tells the platform how a
refund it was asked for ended.

As for payments, the gateway's own signature is the authentication (401 otherwise, nothing
changed); a refund is settled once (a repeat gets the same answer), under its order's lock.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api.callbacks.payments import SandboxSigned
from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.routing import StrictRoute
from app.api.schemas.refunds import RefundNotificationAck, SandboxRefundNotification
from app.domain.aftersales import refunding
from app.domain.aftersales.errors import RefundAmountMismatch, RefundNotFound
from app.domain.orders.errors import SignatureInvalid

router = APIRouter(route_class=StrictRoute, tags=["Callbacks: payments"])


@router.post(
    "/callbacks/refunds/sandbox",
    operation_id="notifySandboxRefund",
    summary="The sandbox gateway's refund notification",
    description="Called by the sandbox payment gateway (the platform's worker plays it) when "
    "a refund it was asked for succeeded or failed; not by providers or buyers. Signed as "
    "its payment notifications are (a missing or wrong signature is a 401 and changes "
    "nothing). Settled once per refund: a repeat gets the same answer. A refund that "
    "succeeded completes its after-sale (`aftersale.refunded`), and closes the order (200, "
    "`order.closed`) when every unit of it has been refunded. One that failed is asked of "
    "the gateway again by the worker, later (5 minutes, then 10), the refund `pending` "
    "meanwhile; after the third failure the refund is `failed` and its after-sale "
    "`refund_failed`. An amount other than the refund's is refused (409).",
    response_model=RefundNotificationAck,
    responses=problem_responses(
        400, 413, 415, 422, SignatureInvalid, RefundNotFound, RefundAmountMismatch
    ),
)
async def notify_sandbox_refund(
    body: SandboxRefundNotification, _: SandboxSigned, uow: UoW
) -> RefundNotificationAck:
    refund = await refunding.settle(
        uow,
        body.shop_id,
        body.out_refund_no,
        succeeded=body.state == "succeeded",
        amount=body.amount,
    )
    return RefundNotificationAck(received=True, refund_id=refund.id, status=refund.status.value)
