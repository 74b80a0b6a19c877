"""The storefront's token endpoint: a first-party login for the merchant's mini program.

Shaped like an OAuth 2.0 token endpoint (RFC 6749 §4.3 password grant, §6 refresh, RFC 7009
revocation) for a client that is no browser: no cookie, no CSRF token, a bearer token
instead. Bodies are JSON or form-encoded (`FormAsJsonMiddleware` turns the latter into the
former). Answers are `Cache-Control: no-store`; refusals are problem+json whose `code` is
stable and which carry RFC 6749's `error` and `error_description` too.
"""

from __future__ import annotations

from fastapi import Request, Response, status

from app.api.deps import ContainerDep, UoW, client_ip, commit_apart, login_limits
from app.api.errors import problem_responses
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.buyers import BuyerToken, BuyerTokenRequest, BuyerTokenRevocation
from app.container import SqlUnitOfWork
from app.domain.accounts.errors import LoginThrottled, PasswordHashingBusy
from app.domain.buyers import services as buyers
from app.domain.buyers.errors import BuyerGrantInvalid
from app.domain.errors import ValidationFailed

TOKEN_PATH = "/v1/storefront/token"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"


def _form_too(model: type) -> dict[str, object]:
    """The same body form-encoded, as OAuth client libraries send it."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"content": {FORM: {"schema": ref}}}}


router = PrefixedRouter(route_class=StrictRoute, prefix=TOKEN_PATH, tags=["Storefront: buyers"])


def _required(body: BuyerTokenRequest, *names: str) -> None:
    missing = [n for n in names if getattr(body, n) is None]
    if missing:
        raise ValidationFailed(
            f"grant_type={body.grant_type} needs {', '.join(missing)}.",
            errors=[
                {"loc": ["body", n], "msg": "Field required", "type": "missing"} for n in missing
            ],
        )


@router.post(
    "",
    operation_id="createBuyerToken",
    summary="Log a buyer in, or renew the tokens",
    description="`grant_type=password` with `username` and `password`: a new login, throttled "
    "exactly as `POST /auth/login` (the same counters per account and per address: 429 "
    "`login_throttled` with `Retry-After`). `grant_type=refresh_token` with `refresh_token`: "
    "a new pair; the refresh token is spent, and presenting a spent one again revokes every "
    "token of that login. Both answer an access token for `Authorization: Bearer` "
    "(`expires_in` seconds) and a refresh token (30 days). A refused grant is 400 "
    "`invalid_grant` (also as RFC 6749 `error`). JSON or form-encoded.",
    response_model=BuyerToken,
    openapi_extra=_form_too(BuyerTokenRequest),
    responses=problem_responses(
        400, 413, 415, 422, BuyerGrantInvalid, LoginThrottled, PasswordHashingBusy
    ),
)
async def create_token(
    body: BuyerTokenRequest,
    request: Request,
    response: Response,
    uow: UoW,
    container: ContainerDep,
) -> BuyerToken:
    response.headers.update(NO_STORE)
    if body.grant_type == "password":
        _required(body, "username", "password")
        assert body.username is not None and body.password is not None
        tokens = await buyers.password_grant(
            uow,
            container.hasher,
            container.throttle,
            login_limits(container),
            container.buyer_tokens,
            container.buyer_auth,
            username=body.username,
            password=body.password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    else:
        _required(body, "refresh_token")
        assert body.refresh_token is not None
        try:
            tokens = await buyers.refresh_grant(
                uow, container.buyer_tokens, container.buyer_auth, refresh_token=body.refresh_token
            )
        except BuyerGrantInvalid as e:
            family_id = e.revoked_family_id
            if family_id is not None:
                # The one refusal that must persist (a reused refresh token revokes its
                # login): committed in a unit of work of its own, while this request's
                # transaction rolls back like any error's.
                async def revoke(own: SqlUnitOfWork) -> None:
                    await buyers.record_reuse(own, family_id)

                await commit_apart(request, revoke)
            raise
    return BuyerToken(
        access_token=tokens.access_token,
        token_type="Bearer",
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        account_id=tokens.account_id,
    )


@router.post(
    "/revoke",
    operation_id="revokeBuyerToken",
    summary="Log a buyer out",
    description="RFC 7009: the refresh token or an access token of a login revokes that whole "
    "login (its refresh token and every access token minted in it, on their next use). An "
    "unknown, expired or already revoked token is no error: 204 all the same. JSON or "
    "form-encoded.",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=_form_too(BuyerTokenRevocation),
    responses=problem_responses(400, 413, 415, 422),
)
async def revoke_token(body: BuyerTokenRevocation, uow: UoW, container: ContainerDep) -> Response:
    await buyers.revoke(uow, container.buyer_tokens, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
