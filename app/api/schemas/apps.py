"""Provider apps as developers, the market, merchants and operators see them."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, EmailStr, Field

from app.api.schemas.base import Input, Output
from app.domain.authz.model import App as AppEntity
from app.domain.authz.model import AppStatus, ServiceType
from app.domain.authz.scopes import Scope

APP_ID_EXAMPLE = "app_01jd8m3k2x9v7q4w5e6r7t8y9z"
CLIENT_ID_EXAMPLE = "msc_4f1c9a7e2b6d8f0a1c3e"
GRANT_ID_EXAMPLE = "grant_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"
REDIRECT_EXAMPLE = "https://erp.example.com/oauth/callback"

Url = AnyHttpUrl


class AppCreate(Input):
    """Register an app. It starts as a `draft`; publish it to list it in the service market."""

    name: str = Field(
        min_length=2,
        max_length=64,
        description="Shown to merchants.",
        examples=["Batch Order Helper"],
    )
    description: str = Field(
        default="",
        max_length=2000,
        description="What the app does, for the market listing.",
        examples=["Print waybills and ship hundreds of orders at once."],
    )
    logo_url: Url | None = Field(
        default=None,
        max_length=2048,
        description="Square logo URL.",
        examples=["https://cdn.example.com/app-logo.png"],
    )
    homepage_url: Url | None = Field(
        default=None,
        max_length=2048,
        description="The provider's page about the app.",
        examples=["https://erp.example.com"],
    )
    install_url: Url | None = Field(
        default=None,
        max_length=2048,
        description="Where the provider starts the authorization flow (with its own PKCE "
        "challenge) when a merchant installs the app from the market.",
        examples=["https://erp.example.com/install"],
    )
    support_email: EmailStr | None = Field(
        default=None, description="Where merchants get help.", examples=["support@erp.example.com"]
    )
    service_types: list[ServiceType] = Field(
        min_length=1,
        max_length=7,
        description="The market categories the app belongs to.",
        examples=[["batch_order", "batch_waybill"]],
    )
    redirect_uris: list[str] = Field(
        min_length=1,
        max_length=10,
        description="Exact redirect URIs: absolute https URLs with a host (http only on "
        "loopback), at most 2048 characters, no fragment, no credentials, no whitespace, `;`, "
        "`,` or quotes (percent-encode them). The authorization request must name one of them "
        "character for character.",
        examples=[[REDIRECT_EXAMPLE]],
    )
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(Scope),
        description="The scopes the app asks merchants for.",
        examples=[["shop:read", "orders:read", "orders:write"]],
    )


class AppUpdate(Input):
    """Change an app's listing, redirect URIs or scopes. Send only what changes."""

    name: str | None = Field(
        default=None,
        min_length=2,
        max_length=64,
        description="New name.",
        examples=["Batch Order Helper"],
    )
    description: str | None = Field(
        default=None,
        max_length=2000,
        description="New description.",
        examples=["Ship hundreds of orders at once."],
    )
    logo_url: Url | None = Field(
        default=None,
        max_length=2048,
        description="New logo URL.",
        examples=["https://cdn.example.com/app-logo.png"],
    )
    homepage_url: Url | None = Field(
        default=None,
        max_length=2048,
        description="New homepage.",
        examples=["https://erp.example.com"],
    )
    install_url: Url | None = Field(
        default=None,
        max_length=2048,
        description="New install URL.",
        examples=["https://erp.example.com/install"],
    )
    support_email: EmailStr | None = Field(
        default=None, description="New support e-mail.", examples=["support@erp.example.com"]
    )
    service_types: list[ServiceType] | None = Field(
        default=None,
        min_length=1,
        max_length=7,
        description="New market categories.",
        examples=[["batch_order"]],
    )
    redirect_uris: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="New exact redirect URIs, under the rules of `AppCreate.redirect_uris`.",
        examples=[[REDIRECT_EXAMPLE]],
    )
    scopes: list[Scope] | None = Field(
        default=None,
        min_length=1,
        max_length=len(Scope),
        description="New requested scopes.",
        examples=[["shop:read", "orders:read"]],
    )


class App(Output):
    """An app as its developer sees it. The client secret is never shown again after creation
    or rotation."""

    id: str = Field(description="The app's id.", examples=[APP_ID_EXAMPLE])
    client_id: str = Field(description="Public OAuth client id.", examples=[CLIENT_ID_EXAMPLE])
    name: str = Field(description="Shown to merchants.", examples=["Batch Order Helper"])
    description: str = Field(
        description="Market description.", examples=["Ship hundreds of orders at once."]
    )
    logo_url: str | None = Field(
        description="Logo URL.", examples=["https://cdn.example.com/app-logo.png"]
    )
    homepage_url: str | None = Field(description="Homepage.", examples=["https://erp.example.com"])
    install_url: str | None = Field(
        description="Where installation starts.", examples=["https://erp.example.com/install"]
    )
    support_email: str | None = Field(
        description="Support e-mail.", examples=["support@erp.example.com"]
    )
    service_types: list[ServiceType] = Field(
        description="Market categories.", examples=[["batch_order"]]
    )
    redirect_uris: list[str] = Field(
        description="Registered redirect URIs.", examples=[[REDIRECT_EXAMPLE]]
    )
    scopes: list[Scope] = Field(
        description="Requested scopes.", examples=[["shop:read", "orders:read"]]
    )
    status: AppStatus = Field(
        description="`draft`, `published` or `suspended`.", examples=["published"]
    )
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation, until when the previous secret still works.",
        examples=[TIME_EXAMPLE],
    )
    rate_limit_burst: int | None = Field(
        description="Per-app override of the bucket size (null: the platform default).",
        examples=[None],
    )
    rate_limit_per_second: float | None = Field(
        description="Per-app override of the drain rate (null: the platform default).",
        examples=[None],
    )
    published_at: datetime | None = Field(
        description="When it was published.", examples=[TIME_EXAMPLE]
    )
    suspension_reason: str | None = Field(
        description="Why the platform suspended it.", examples=[None]
    )
    created_at: datetime = Field(description="When it was registered.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="Last change.", examples=[TIME_EXAMPLE])
    version: int = Field(description="Optimistic-lock version (also the ETag).", examples=[1])


class AppWithSecret(App):
    """The app with its client secret: returned once, at creation or rotation. Store it now."""

    client_secret: str = Field(
        description="Shown only this once; stored hashed.",
        examples=["mss_Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV4cXV1eA"],
    )


class ScopeInfo(Output):
    """A scope and what it lets an app do, in plain words."""

    scope: Scope = Field(description="The scope name.", examples=["orders:read"])
    description: str = Field(
        description="What it allows.",
        examples=["See your orders, including buyers' delivery addresses"],
    )


class MarketApp(Output):
    """A published app in the service market."""

    id: str = Field(description="The app's id.", examples=[APP_ID_EXAMPLE])
    client_id: str = Field(description="Public OAuth client id.", examples=[CLIENT_ID_EXAMPLE])
    name: str = Field(description="App name.", examples=["Batch Order Helper"])
    description: str = Field(
        description="What it does.", examples=["Ship hundreds of orders at once."]
    )
    logo_url: str | None = Field(
        description="Logo URL.", examples=["https://cdn.example.com/app-logo.png"]
    )
    homepage_url: str | None = Field(description="Homepage.", examples=["https://erp.example.com"])
    developer: str = Field(description="Who makes it.", examples=["Liu Yang"])
    service_types: list[ServiceType] = Field(
        description="Market categories.", examples=[["batch_order"]]
    )
    published_at: datetime | None = Field(
        description="When it was listed.", examples=[TIME_EXAMPLE]
    )


class MarketAppDetail(MarketApp):
    """A market listing with the scopes the app asks for and where installation starts."""

    support_email: str | None = Field(
        description="Support e-mail.", examples=["support@erp.example.com"]
    )
    scopes: list[ScopeInfo] = Field(
        description="The scopes it asks merchants for.",
        examples=[[{"scope": "orders:read", "description": "See your orders"}]],
    )
    install_url: str | None = Field(
        description="Opens the provider's installation, which starts the authorization flow "
        "(`/oauth/authorize`) with its own PKCE challenge.",
        examples=["https://erp.example.com/install"],
    )
    authorization_endpoint: str = Field(
        description="The platform's authorization endpoint.",
        examples=["http://127.0.0.1:8000/oauth/authorize"],
    )


class AuthorizedApp(Output):
    """An app that holds a grant for the shop."""

    grant_id: str = Field(description="The grant's id.", examples=[GRANT_ID_EXAMPLE])
    app_id: str = Field(description="The app's id.", examples=[APP_ID_EXAMPLE])
    client_id: str = Field(description="Its OAuth client id.", examples=[CLIENT_ID_EXAMPLE])
    name: str = Field(description="App name.", examples=["Batch Order Helper"])
    logo_url: str | None = Field(
        description="Logo URL.", examples=["https://cdn.example.com/app-logo.png"]
    )
    app_status: AppStatus = Field(description="The app's status.", examples=["published"])
    scopes: list[Scope] = Field(
        description="What the shop granted.", examples=[["shop:read", "orders:read"]]
    )
    granted_at: datetime = Field(description="First authorization.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(
        description="Last change of the grant (e.g. more scopes).", examples=[TIME_EXAMPLE]
    )
    last_used_at: datetime | None = Field(
        description="Last API call (to the minute).", examples=[TIME_EXAMPLE]
    )


class AppSuspend(Input):
    """Why the app is suspended; shown to its developer."""

    reason: str = Field(
        min_length=1,
        max_length=500,
        description="The reason.",
        examples=["Collected buyer data beyond its scopes."],
    )


class RateLimitUpdate(Input):
    """Per-app rate limit; null restores the platform default."""

    burst: int | None = Field(
        ge=1, le=100_000, description="Bucket size (requests).", examples=[80]
    )
    per_second: float | None = Field(
        ge=0.01, le=100_000, description="Drain rate (requests/s).", examples=[4.0]
    )


def app_out(app: AppEntity) -> App:
    return App.model_validate(app)
