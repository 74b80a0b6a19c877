"""The after-sales context's errors, each with its code and status."""

from __future__ import annotations

from app.domain.errors import Conflict, NotFound, ValidationFailed


class AfterSaleNotFound(NotFound):
    code = "aftersale_not_found"
    title = "After-sale not found"


class InvalidAfterSaleTransition(Conflict):
    """An action the after-sale's current status does not allow; names that status."""

    code = "invalid_aftersale_transition"
    title = "The action is not allowed in the after-sale's current status"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(
            f"Cannot {action} an after-sale that is {status}.", extra={"current_status": status}
        )


class OrderNotRefundable(Conflict):
    """The order is not in a status an after-sale may be asked for (unpaid, cancelled,
    closed); names its status."""

    code = "order_not_refundable"
    title = "The order cannot have an after-sale"


class AfterSaleLinesInvalid(ValidationFailed):
    """A line that is not the order's, named twice, or more units than are left to claim
    (or, for a return, than have shipped)."""

    code = "aftersale_lines_invalid"
    title = "The lines asked for are not valid"


class RefundAmountExceeded(Conflict):
    """The amount asked for is more than what remains refundable on those lines; names
    that maximum."""

    code = "refund_amount_exceeded"
    title = "More than what remains refundable"


class FreightNotRefundable(Conflict):
    code = "freight_not_refundable"
    title = "The freight cannot be refunded"


class ReturnAddressRequired(ValidationFailed):
    """Accepting a return needs the address the goods go back to; a refund takes none."""

    code = "return_address_required"
    title = "A return address is required for a return (and only for one)"


class RefundNotFound(NotFound):
    code = "refund_not_found"
    title = "Refund not found"


class RefundAmountMismatch(Conflict):
    """The gateway reported another amount than the refund asked for; names the refund's."""

    code = "refund_amount_mismatch"
    title = "The amount is not the refund's"
