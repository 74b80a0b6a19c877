"""Errors of the authorization server, with RFC 6749 §5.2 / RFC 6750 §3.1 error codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.domain.errors import DomainError, Forbidden, NotFound, Unauthenticated


@dataclass(frozen=True)
class Aftermath:
    """What a refused token request must leave behind although its own transaction rolls
    back: the authorization code it spent (single use, RFC 6749 §4.1.2), the token family a
    replay revoked. `oauth.record_aftermath` writes it in a unit of work of its own."""

    spent_code_hash: str | None = None
    revoked_family_id: str | None = None
    reason: str = ""


class OAuthError(DomainError):
    """Rendered as `{"error", "error_description"}` by the token, introspection and revocation
    endpoints, and as a redirect (`?error=…&state=…`) by the authorization endpoint."""

    error: ClassVar[str] = "invalid_request"
    status = 400
    code = "oauth_error"
    title = "OAuth request failed"
    aftermath: Aftermath | None = None

    def leaving(self, aftermath: Aftermath) -> OAuthError:
        self.aftermath = aftermath
        return self


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScopeError(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"


class InvalidToken(Unauthenticated):
    """RFC 6750: the bearer token is missing, malformed, expired, revoked or not ours."""

    code = "invalid_token"
    title = "The access token is not valid"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    title = "The access token lacks the scope this operation needs"


class AppNotFound(NotFound):
    code = "app_not_found"
    title = "App not found"


class GrantNotFound(NotFound):
    code = "grant_not_found"
    title = "The app is not authorized for this shop"


class AuthorizePageError(DomainError):
    """Client or redirect URI cannot be trusted: show an error page, never redirect."""

    code = "invalid_authorization_request"
    status = 400
    title = "This authorization request cannot be completed"
