"""The order context's errors: what a buyer or a provider can act on, with code and status."""

from __future__ import annotations

from app.domain.errors import (
    Conflict,
    LimitExceeded,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    ValidationFailed,
)


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"
    title = "Shipment not found"


class InvalidOrderTransition(Conflict):
    """An action the order's current status does not allow; names that status."""

    code = "invalid_order_transition"
    title = "The action is not allowed in the order's current status"

    def __init__(
        self, action: str, status: int, status_name: str, *, delivery_method: str | None = None
    ) -> None:
        """`delivery_method`: the action is not one of the order's way of delivery (a pickup
        order is not shipped, an express one not collected), whatever its status."""
        extra: dict[str, object] = {"current_status": status, "current_status_name": status_name}
        detail = f"Cannot {action} an order in status {status} ({status_name})."
        if delivery_method is not None:
            detail = f"Cannot {action} an order delivered by {delivery_method}."
            extra["delivery_method"] = delivery_method
        super().__init__(detail, extra=extra)


class ProductNotListed(Conflict):
    code = "product_not_listed"
    title = "The product is not for sale"


class OrderSkuNotFound(NotFound):
    """A line names a SKU the shop does not have (the storefront's `sku_not_found`)."""

    code = "sku_not_found"
    title = "SKU not found"


class OutOfStock(Conflict):
    """Not enough units of a SKU to order; `extra` names the SKU and what is left."""

    code = "out_of_stock"
    title = "Out of stock"


class QuantityInvalid(ValidationFailed):
    code = "quantity_invalid"
    title = "The quantity is not valid"


class ShopNotOpen(Conflict):
    code = "shop_not_open"
    title = "The shop does not take orders"


class RegionNotSellable(Conflict):
    code = "region_not_sellable"
    title = "The product is not sold to the address's region"


class RegionUnknown(ValidationFailed):
    code = "region_unknown"
    title = "Not a GB/T 2260 district code"


class WaybillInvalid(ValidationFailed):
    code = "waybill_invalid"
    title = "The waybill number does not match the carrier's format"


class CarrierUnknown(ValidationFailed):
    code = "carrier_unknown"
    title = "Unknown carrier code"


class AddressNotFound(NotFound):
    """No such address among the buyer's own (another buyer's is not found either)."""

    code = "address_not_found"
    title = "Address not found"


class PhoneInvalid(ValidationFailed):
    code = "phone_invalid"
    title = "Not a mainland China mobile number"


class AddressLimitReached(Conflict):
    code = "address_limit_reached"
    title = "The buyer has as many addresses as allowed"


class IdempotencyKeyRequired(ValidationFailed):
    """Placing an order (and paying one) takes an `Idempotency-Key`: a retry after a lost
    answer must not order twice."""

    code = "idempotency_key_required"
    status = 400
    title = "Send an Idempotency-Key"


class CartFull(Conflict):
    code = "cart_full"
    title = "The cart holds no more SKUs"


class PaymentNotFound(NotFound):
    """No payment of the gateway with that reference (a notification's, or a query's)."""

    code = "payment_not_found"
    title = "Payment not found"


class SignatureInvalid(Unauthenticated):
    """A gateway notification without its gateway's valid signature: nothing is read from it."""

    code = "signature_invalid"
    title = "The notification's signature is missing or wrong"


class NoPaymentToRefund(Conflict):
    """A paid order with no succeeded payment on record: refunding it needs an operator."""

    code = "no_payment_to_refund"
    title = "The order's payment is not on record"


class FreightTemplateNotFound(NotFound):
    code = "freight_template_not_found"
    title = "Freight template not found"


class FreightTemplateInUse(Conflict):
    """Products still name the template: point them elsewhere first."""

    code = "freight_template_in_use"
    title = "Products still use the freight template"


class PickupPointNotFound(NotFound):
    """No such pickup point in the shop (or, when ordering, none that is enabled)."""

    code = "pickup_point_not_found"
    title = "Pickup point not found"


class PickupPointLimitReached(LimitExceeded):
    code = "pickup_point_limit_reached"
    title = "The shop has as many pickup points as allowed"


class PickupCodeInvalid(ValidationFailed):
    """The same answer for every code that does not complete an order: unknown, another
    shop's, an order not ready for pickup yet, already collected, cancelled."""

    code = "pickup_code_invalid"
    title = "The pickup code is not valid"


class PickupCodeThrottled(TooManyRequests):
    """Too many wrong pickup codes for the shop lately; retry after `Retry-After` seconds."""

    code = "pickup_code_throttled"
    title = "Too many wrong pickup codes"
