"""Domain errors carry a stable machine code and the HTTP status that renders them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class DomainError(Exception):
    """Base class: one subclass per failure a client can act on."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.errors = list(errors or [])
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Resource not found"


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422
    title = "The request is not valid"

    @classmethod
    def field(cls, loc: str, message: str, *, type_: str = "invalid") -> ValidationFailed:
        return cls(message, errors=[{"loc": loc.split("."), "msg": message, "type": type_}])


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "The request conflicts with the current state"


class IntegrityConflict(Conflict):
    """A write collided with a row another request stored first (a unique key, usually).

    The unit of work raises it when the database refuses the write; a use case that knows
    which rule the key stands for catches it and raises its own, specific error, so the loser
    of a race gets the same answer as a sequential duplicate.
    """

    title = "The change conflicts with existing data"


class InvalidTransition(Conflict):
    code = "invalid_state_transition"
    title = "The action is not allowed in the current state"

    def __init__(self, action: str, current: str) -> None:
        super().__init__(
            f"Cannot {action} while the status is '{current}'.",
            extra={"current_status": current},
        )


class LimitExceeded(Conflict):
    code = "limit_exceeded"
    title = "A limit has been reached"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    status = 412
    title = "The resource has changed"


class TooManyRequests(DomainError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class ServiceBusy(DomainError):
    """The server cannot take the work now; the client may retry (after `Retry-After`)."""

    code = "server_busy"
    status = 503
    title = "The server is busy"
