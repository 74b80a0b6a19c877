"""The OpenAPI document: metadata, tags per surface, and a stable export."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

DESCRIPTION = """
MiniShop Open Platform: merchants open free shops in minutes; authorized service providers
run those shops' products, orders and logistics through the versioned open API.

**Conventions.** Errors are RFC 9457 `application/problem+json` with a stable `code`.
Lists use cursor pagination (`limit` ≤ 100, `cursor`, `{"data", "next_cursor"}`).
Money is integer fen. Times are RFC 3339 UTC. State-changing `POST`s accept
`Idempotency-Key`; mutable resources carry an `ETag` and honour `If-Match` (412).
Every response carries `X-Request-Id`.

**Merchant and operator sessions.** `POST /auth/login` sets an HttpOnly session cookie and
returns a `csrf_token`; send it as `X-CSRF-Token` on every state change.
"""

TAGS = [
    {"name": "Accounts", "description": "Register, log in and out."},
    {"name": "Merchant: shops", "description": "Open shops, qualifications, audit log."},
    {"name": "Merchant: members", "description": "Members, roles and ownership."},
    {"name": "Platform: review", "description": "Operator review queue and enforcement."},
    {"name": "Operations", "description": "Health, readiness and metrics."},
]


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="MiniShop Open Platform API",
        version=app.version,
        openapi_version="3.1.0",
        description=DESCRIPTION,
        routes=app.routes,
        tags=TAGS,
    )
    schema["info"]["contact"] = {"name": "MiniShop platform team"}
    app.openapi_schema = schema
    return schema


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
