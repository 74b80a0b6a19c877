"""The buyers context's errors.

The token endpoint answers problem+json like the rest of `/v1`, and its refusals carry the
RFC 6749 §5.2 `error` and `error_description` members as well, so an OAuth client library
reads them as it reads `/oauth/token`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.errors import DomainError


class BuyerGrantInvalid(DomainError):
    """Wrong username or password, or a refresh token that is unknown, expired, revoked or
    already used (RFC 6749 `invalid_grant`, 400)."""

    code = "invalid_grant"
    status = 400
    title = "The credentials or the refresh token are not valid"

    def __init__(
        self,
        detail: str | None = None,
        *,
        revoked_family_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        detail = detail or self.title
        extra: dict[str, Any] = {"error": "invalid_grant", "error_description": detail}
        super().__init__(
            detail, extra=extra, headers={"Cache-Control": "no-store", **(headers or {})}
        )
        #: A family a reused refresh token revoked: the revocation must outlive this request's
        #: rolled-back transaction (the caller commits it apart).
        self.revoked_family_id = revoked_family_id
