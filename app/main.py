"""The composition root of the HTTP process."""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api import auth, market, ops
from app.api.callbacks import payments as payment_callbacks
from app.api.callbacks import refunds as refund_callbacks
from app.api.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    UnitOfWorkScope,
    session_cookie,
    verified_session_account,
)
from app.api.developer import apps as developer_apps
from app.api.developer import webhooks as developer_webhooks
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.html import authorize, login
from app.api.idempotency import CallerResolver, IdempotencyMiddleware, caller_resolver
from app.api.merchant import aftersales as merchant_aftersales
from app.api.merchant import funds as merchant_funds
from app.api.merchant import grants, members, shops
from app.api.merchant import orders as merchant_orders
from app.api.middleware import (
    BodyLimitMiddleware,
    FormAsJsonMiddleware,
    InvalidCharactersMiddleware,
    JsonOnlyMiddleware,
    RequestContextMiddleware,
    security_headers,
)
from app.api.oauth import server as oauth_server
from app.api.openapi import build_openapi
from app.api.platform import apps as platform_apps
from app.api.platform import products as platform_products
from app.api.platform import qualifications as platform_qualifications
from app.api.platform import review
from app.api.provider import OAUTH_SCHEME, verified_grant
from app.api.routing import AutoCommitRoute
from app.api.storefront import addresses as storefront_addresses
from app.api.storefront import aftersales as storefront_aftersales
from app.api.storefront import cart as storefront_cart
from app.api.storefront import freight as storefront_freight
from app.api.storefront import orders as storefront_orders
from app.api.storefront import payments as storefront_payments
from app.api.storefront import public as storefront_public
from app.api.storefront import tokens as storefront_tokens
from app.api.storefront.auth import BUYER_SCHEME, verified_buyer
from app.api.uploads import UploadSlots
from app.api.v1 import aftersales as provider_aftersales
from app.api.v1 import batches as provider_batches
from app.api.v1 import bulk as provider_bulk
from app.api.v1 import catalog as provider_catalog
from app.api.v1 import freight as provider_freight
from app.api.v1 import funds as provider_funds
from app.api.v1 import logistics as provider_logistics
from app.api.v1 import order_batches as provider_order_batches
from app.api.v1 import orders as provider_orders
from app.api.v1 import pickup as provider_pickup
from app.api.v1 import products as provider_products
from app.api.v1 import shop as provider_shop
from app.api.v1 import waybill_batches as provider_waybill_batches
from app.api.v1 import waybills as provider_waybills
from app.api.webhook_docs import install_webhook_docs
from app.container import Container, build_container
from app.infra import metrics
from app.infra.logging import configure_logging
from app.settings import Settings, get_settings

VERSION = "0.1.0"
FORM_PATHS = ("/login", "/oauth/")


def swagger_oauth(settings: Settings) -> dict[str, object]:
    """The docs' Authorize button runs the code flow with PKCE; in development it is
    pre-filled with the demo app's client id."""
    config: dict[str, object] = {"usePkceWithAuthorizationCodeGrant": True}
    demo = settings.var_dir / "demo.json"
    if not settings.is_production and demo.exists():
        try:
            client_id = (json.loads(demo.read_text()).get("app") or {}).get("client_id")
        except (OSError, ValueError):
            client_id = None
        if client_id:
            config["clientId"] = client_id
    return config


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else get_settings())
    owns_container = container is None
    container = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_container:
            await container.close()

    app = FastAPI(
        title="MiniShop Open Platform API",
        version=VERSION,
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
        swagger_ui_parameters={"persistAuthorization": True, "displayOperationId": True},
        swagger_ui_init_oauth=swagger_oauth(settings),
        # The platform measures itself (`/metrics`, the access log); FastAPI's OpenTelemetry
        # hooks would only look for a provider nobody configured, on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Routes added on the app itself commit at the edge too (routers name their own class).
    app.router.route_class = AutoCommitRoute
    app.state.container = container
    # What this app was built with; the edge reads it (`/metrics`), as the middleware below do.
    app.state.settings = settings
    app.state.upload_slots = UploadSlots(settings.bulk_uploads_per_app)
    metrics.watch_pool(container.engine.sync_engine.pool)
    install_error_handlers(app)
    if settings.docs_enabled:
        install_docs(app)
    install_webhook_docs(app)
    # The router tries routes in order, and matching is not free (~1-2 µs a route, several
    # times over with included routers; a `PrefixedRouter` is skipped at once for paths
    # outside its prefix): the hottest routes come first, the storefront's orders and
    # freight quote (their routers' own prefixes pass other paths on at once), the
    # provider's products and orders, then their batches. No other
    # router's paths start with theirs (/v1/products, /v1/orders, /v1/storefront/orders),
    # and no POST of theirs takes a bare `/{id}` that `/batch` could match, so no match
    # changes; the OpenAPI document lists the same operations (sorted keys).
    for router in (
        storefront_orders.router,
        storefront_freight.router,
        provider_products.router,
        provider_orders.router,
        provider_batches.router,
        provider_order_batches.router,
        provider_bulk.router,
        ops.router,
        auth.router,
        login.router,
        shops.router,
        members.router,
        merchant_orders.router,
        grants.router,
        review.router,
        platform_apps.router,
        developer_apps.router,
        developer_webhooks.router,
        market.router,
        storefront_public.router,
        provider_shop.router,
        provider_catalog.router,
        platform_qualifications.router,
        platform_products.router,
        oauth_server.router,
        authorize.router,
        storefront_tokens.router,
        storefront_addresses.router,
        storefront_cart.router,
        storefront_payments.router,
        storefront_aftersales.router,
        provider_aftersales.router,
        provider_funds.router,
        provider_logistics.router,
        provider_waybills.router,
        provider_waybill_batches.router,
        provider_freight.router,
        provider_pickup.router,
        merchant_funds.router,
        merchant_aftersales.router,
        payment_callbacks.router,
        refund_callbacks.router,
    ):
        app.include_router(router)
    app.openapi = lambda: build_openapi(app, page_paths=FORM_PATHS)  # type: ignore[method-assign]

    # Added innermost first: the last one added runs first.
    app.add_middleware(UnitOfWorkScope)
    app.add_middleware(
        IdempotencyMiddleware,
        store=container.idempotency,
        resolve_caller=idempotency_callers(),
        routes=lambda: app.router.routes,
        session_cookie=SESSION_COOKIE,
        csrf_header=CSRF_HEADER,
    )
    app.add_middleware(
        JsonOnlyMiddleware,
        form_paths=FORM_PATHS,
        raw_paths={provider_bulk.IMPORT_PATH: provider_bulk.ACCEPTED_TYPES},
    )
    # The storefront's token endpoint takes what OAuth clients send too (form-encoded).
    app.add_middleware(FormAsJsonMiddleware, paths=(storefront_tokens.TOKEN_PATH,))
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        overrides={provider_bulk.IMPORT_PATH: settings.bulk_max_body_bytes},
        timeout=settings.body_read_timeout_seconds,
    )
    app.add_middleware(InvalidCharactersMiddleware, page_paths=FORM_PATHS)
    app.add_middleware(RequestContextMiddleware, headers=security_headers(https=settings.https))
    if settings.forwarded_allow_ips:
        # Outermost, so every layer (logs, limits, sessions) sees the client the proxy saw.
        # Here rather than in the server: the app decides whom to believe, whatever serves it.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    return app


def idempotency_callers() -> CallerResolver:
    """Whom an `Idempotency-Key` belongs to: the credential is checked in the request's unit
    of work, and the result kept for the route (one authentication per request)."""
    return caller_resolver(
        verified_session_account,
        verified_grant,
        verified_buyer,
        session_scheme=session_cookie.scheme_name,
        bearer_scheme=OAUTH_SCHEME,
        buyer_scheme=BUYER_SCHEME,
    )


#: The API process's young-generation threshold (Python's default is 700).
YOUNG_COLLECTION_OBJECTS = 50_000


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory --no-proxy-headers app.main:app_factory` (the app
    applies `MINISHOP_FORWARDED_ALLOW_IPS` itself; uvicorn's own default trusts 127.0.0.1)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    # What start-up built (modules, routes, schemas, the ORM mapping: ~150 000 objects) lives
    # as long as the process. Frozen, a full collection does not walk it; otherwise one takes
    # ~100 ms under load, a pause that every request in flight waits out (the p99).
    gc.freeze()
    # A young collection every 700 new objects ran about once in 40 requests under load,
    # each walking what the first requests had cached since: 60 µs of every freight quote's
    # ~750 µs of CPU and 180 µs of every order's (measured with `gc.callbacks`). An order
    # leaves ~60 objects in reference cycles (the unit of work's, SQLAlchemy's dispatch
    # objects), so collecting every 50 000 objects keeps a few MiB of garbage waiting at
    # most and collects once in several hundred orders (8 times in 5 000, measured).
    gc.set_threshold(YOUNG_COLLECTION_OBJECTS, *gc.get_threshold()[1:])
    return app
