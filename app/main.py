"""The composition root of the HTTP process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import auth, ops
from app.api.deps import CSRF_HEADER, SESSION_COOKIE, verified_session_account
from app.api.errors import install_error_handlers
from app.api.html import login
from app.api.idempotency import CallerResolver, IdempotencyMiddleware, caller_resolver
from app.api.merchant import members, shops
from app.api.middleware import (
    BodyLimitMiddleware,
    InvalidCharactersMiddleware,
    JsonOnlyMiddleware,
    RequestContextMiddleware,
)
from app.api.openapi import build_openapi
from app.api.platform import review
from app.container import Container, build_container
from app.infra import metrics
from app.infra.logging import configure_logging
from app.settings import Settings, get_settings

VERSION = "0.1.0"
FORM_PATHS = ("/login", "/oauth/")


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
        docs_url="/docs",
        redoc_url="/redoc",
        swagger_ui_parameters={"persistAuthorization": True, "displayOperationId": True},
    )
    app.state.container = container
    metrics.watch_pool(container.engine.sync_engine.pool)
    install_error_handlers(app)
    for router in (
        ops.router,
        auth.router,
        login.router,
        shops.router,
        members.router,
        review.router,
    ):
        app.include_router(router)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]

    # Added innermost first: the last one added runs first.
    app.add_middleware(
        IdempotencyMiddleware,
        store=container.idempotency,
        resolve_caller=idempotency_callers(container),
        session_cookie=SESSION_COOKIE,
        csrf_header=CSRF_HEADER,
    )
    app.add_middleware(JsonOnlyMiddleware, form_paths=FORM_PATHS)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(InvalidCharactersMiddleware, page_paths=FORM_PATHS)
    app.add_middleware(RequestContextMiddleware)
    return app


def idempotency_callers(container: Container) -> CallerResolver:
    """Whom an `Idempotency-Key` belongs to: sessions are checked against the database."""

    async def session_account(token: str, csrf: str | None) -> str | None:
        return await verified_session_account(container, token, csrf)

    return caller_resolver(session_account)


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory app.main:app_factory`."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
