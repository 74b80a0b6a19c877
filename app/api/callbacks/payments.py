"""Payment gateways' notifications: the sandbox gateway tells the platform a payment was paid.

No credential of the platform's: the gateway's own signature is the authentication. It is
checked on the body's exact bytes before anything in it is believed (401 otherwise, nothing
changed); the notification is then settled once per gateway transaction (a repeat gets the
same answer), its amount checked against the payment's and the order's under the order's lock.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from app.api.deps import ContainerDep, UoW
from app.api.errors import problem_responses
from app.api.routing import StrictRoute
from app.api.schemas.payments import PaymentNotificationAck, SandboxPaymentNotification
from app.domain.orders import payment_services as payments
from app.domain.orders.errors import PaymentNotFound, SignatureInvalid
from app.domain.orders.payments import ChargeState, GatewayCharge

router = APIRouter(route_class=StrictRoute, tags=["Callbacks: payments"])

SANDBOX = "sandbox"


async def sandbox_signed(
    request: Request,
    container: ContainerDep,
    timestamp: Annotated[
        str | None,
        Header(
            alias="Sandbox-Timestamp",
            max_length=20,
            description="Unix seconds when the gateway signed; more than 5 minutes off is refused.",
            examples=["1764057600"],
        ),
    ] = None,
    signature: Annotated[
        str | None,
        Header(
            alias="Sandbox-Signature",
            max_length=400,
            description="`v1=` and the hex HMAC-SHA256, with the sandbox's secret, of "
            "`<Sandbox-Timestamp>.<body>` (several comma-separated during a secret rotation).",
            examples=["v1=5d41402abc4b2a76b9719d911017c592ae7f0d7e8a0b6d3c5f2e1a9b8c7d6e5f"],
        ),
    ] = None,
) -> None:
    body = await request.body()
    if not container.sandbox_signer.verify(timestamp, signature, body):
        raise SignatureInvalid(
            "The Sandbox-Signature does not match the body and Sandbox-Timestamp (or is "
            "missing, or older than 5 minutes)."
        )


SandboxSigned = Annotated[None, Depends(sandbox_signed)]


@router.post(
    "/callbacks/payments/sandbox",
    operation_id="notifySandboxPayment",
    summary="The sandbox gateway's payment notification",
    description="Called by the sandbox payment gateway (the platform's worker plays it) when "
    "a payment was paid; not by providers or buyers. Signed with the sandbox's own secret "
    "(`MINISHOP_SANDBOX_PAYMENT_SECRET`): a missing or wrong signature is a 401 and changes "
    "nothing. Settled once per `transaction_id`: a repeat gets the same answer. The order is "
    "paid (`order.paid`) only if it is still pending payment at the payment's amount; if it "
    "was cancelled (its payment timeout, say), paid otherwise or re-priced in the meantime, "
    "the payment is refunded through the gateway (`payment.refunded`) and the order left as "
    "it is. An amount other than the payment's is refused and recorded.",
    response_model=PaymentNotificationAck,
    responses=problem_responses(400, 413, 415, 422, SignatureInvalid, PaymentNotFound),
)
async def notify_sandbox_payment(
    body: SandboxPaymentNotification, _: SandboxSigned, uow: UoW
) -> PaymentNotificationAck:
    payment, outcome = await payments.settle(
        uow,
        body.shop_id,
        SANDBOX,
        GatewayCharge(
            reference=body.reference,
            state=ChargeState.PAID,
            amount=body.amount,
            transaction_id=body.transaction_id,
            paid_at=body.paid_at,
        ),
    )
    return PaymentNotificationAck(received=True, payment_id=payment.id, outcome=outcome.value)
