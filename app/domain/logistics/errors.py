"""The logistics context's errors, with code and status."""

from __future__ import annotations

from app.domain.errors import Conflict, DomainError, LimitExceeded, NotFound, ValidationFailed


class LogisticsAccountNotFound(NotFound):
    code = "logistics_account_not_found"
    title = "Logistics account not found"


class LogisticsAccountExists(Conflict):
    """The shop already bound this carrier's account of this customer code."""

    code = "logistics_account_exists"
    title = "This carrier account is already bound"


class LogisticsAccountRefused(ValidationFailed):
    """The carrier refused the credentials at binding; `extra.reason` says why."""

    code = "logistics_account_refused"
    title = "The carrier refused the account's credentials"


class CarrierNotSupported(ValidationFailed):
    """A catalogue carrier that no adapter serves: it can be named on a shipment, not bound."""

    code = "carrier_not_supported"
    title = "No carrier integration serves this carrier"


class SenderAddressNotFound(NotFound):
    code = "sender_address_not_found"
    title = "Sender address not found"


class SenderAddressLimitReached(LimitExceeded):
    code = "sender_address_limit_reached"
    title = "The shop's address book is full"


class DefaultSenderRequired(ValidationFailed):
    """The default sender stops being one only when another address becomes the default."""

    code = "default_sender_required"
    title = "The shop keeps a default sender address"


class WaybillNotCancellable(Conflict):
    """The carrier collected the parcel: its waybill can no longer be cancelled."""

    code = "waybill_not_cancellable"
    title = "The waybill can no longer be cancelled"


class WaybillUnknown(NotFound):
    """The carrier knows no such waybill (of this account)."""

    code = "waybill_unknown"
    title = "The carrier knows no such waybill"


class CarrierFailure(DomainError):
    """The carrier did not do what was asked; the request may be retried as it was (a
    creation with the same request id creates nothing twice)."""

    code = "carrier_unavailable"
    status = 502
    title = "The carrier did not answer as expected"


class CarrierUnavailable(CarrierFailure):
    """The carrier answered with an error of its own (down, overloaded)."""

    code = "carrier_unavailable"
    status = 503
    title = "The carrier is unavailable"


class CarrierTimeout(CarrierFailure):
    code = "carrier_timeout"
    status = 504
    title = "The carrier did not answer in time"


class CarrierResponseInvalid(CarrierFailure):
    """The carrier answered something that is not a valid answer (never trusted as-is)."""

    code = "carrier_response_invalid"
    status = 502
    title = "The carrier's answer was not valid"


class WaybillNotFound(NotFound):
    code = "waybill_not_found"
    title = "Waybill not found"


class WaybillCancelled(Conflict):
    """The waybill was cancelled: it prints no label and ships nothing."""

    code = "waybill_cancelled"
    title = "The waybill was cancelled"


class WaybillInUse(Conflict):
    """A shipment of the order travels under the waybill."""

    code = "waybill_in_use"
    title = "A shipment uses this waybill"


class ParcelWeightRequired(ValidationFailed):
    """No weight given and the SKUs in the parcel have none to add up."""

    code = "parcel_weight_required"
    title = "The parcel's weight is needed"


class DefaultSenderMissing(ValidationFailed):
    """No sender address given and the shop's address book is empty."""

    code = "sender_address_required"
    title = "A sender address is needed"


class WaybillBatchNotFound(NotFound):
    code = "waybill_batch_not_found"
    title = "Waybill batch not found"


class LabelsNotReady(Conflict):
    """The batch has not finished, or no order of it got a waybill."""

    code = "labels_not_ready"
    title = "The batch has no labels to download (yet)"


class LabelsExpired(DomainError):
    """The batch's labels were deleted once their time was up; its waybills remain."""

    code = "labels_expired"
    status = 410
    title = "The batch's labels have expired"
