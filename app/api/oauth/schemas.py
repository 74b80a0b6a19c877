"""The OAuth endpoints' bodies, for the docs (the endpoints answer in RFC formats)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OAuthErrorBody(BaseModel):
    """An RFC 6749 §5.2 error: branch on `error`."""

    error: str = Field(
        description="`invalid_request`, `invalid_client`, `invalid_grant`, "
        "`unauthorized_client`, `unsupported_grant_type` or `invalid_scope`.",
        examples=["invalid_grant"],
    )
    error_description: str = Field(
        description="What went wrong, for the developer.",
        examples=["The authorization code was already used; its tokens are revoked."],
    )


class TokenBody(BaseModel):
    """A token pair bound to one shop (RFC 6749 §5.1)."""

    access_token: str = Field(description="ES256 JWT, valid 2 hours.", examples=["eyJhbGciOi..."])
    token_type: str = Field(description="Always `Bearer`.", examples=["Bearer"])
    expires_in: int = Field(description="Seconds until the access token expires.", examples=[7200])
    refresh_token: str = Field(
        description="Opaque, single use: each refresh returns a new one.", examples=["msr_3kT..."]
    )
    scope: str = Field(description="Granted scopes, space separated.", examples=["shop:read"])
    shop_id: str = Field(description="The shop the tokens act on.", examples=["shop_01jd8m3k2x"])
    grant_id: str = Field(description="The merchant's grant.", examples=["grant_01jd8m3k2x"])


class IntrospectionBody(BaseModel):
    """RFC 7662. An inactive token gives only `active: false`."""

    model_config = ConfigDict(extra="allow")

    active: bool = Field(description="Whether the token is usable now.", examples=[True])
    token_type: str | None = Field(
        default=None, description="`Bearer` or `refresh_token`.", examples=["Bearer"]
    )
    scope: str | None = Field(default=None, description="Scopes.", examples=["shop:read"])
    client_id: str | None = Field(default=None, description="The app.", examples=["msc_4f1c"])
    shop_id: str | None = Field(default=None, description="The shop.", examples=["shop_01jd8"])
    exp: int | None = Field(default=None, description="Expiry (epoch s).", examples=[1764061200])


OAUTH_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 error (`invalid_request`, …)"},
    401: {"model": OAuthErrorBody, "description": "`invalid_client`: client authentication failed"},
}
