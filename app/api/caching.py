"""Public reads that browsers and shared caches may keep: a validator and a short lifetime.

The `ETag` is a digest of the body itself (weak: the same content, whatever encoding a proxy
gives it), so it changes with anything a reader would see — a product's edit, a SKU's price,
its stock crossing what the document shows — and with nothing else. `If-None-Match` with a
current tag answers 304 without a body. The digest costs no query of its own: the body is
built either way.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import Header, Response

#: Seconds a cache may serve a public read without asking again: short, since prices and
#: stock change at once (an order checks them again anyway).
PUBLIC_MAX_AGE = 30
PUBLIC_CACHE_CONTROL = f"public, max-age={PUBLIC_MAX_AGE}"

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="The `ETag` of the copy you hold (or several, comma-separated): 304 "
        "without a body while it is current.",
        examples=['W/"6f1c0e9a2b7d4c35a8e1f0b2c3d4e5f6"'],
    ),
]


def _tags(header: str) -> set[str]:
    """The opaque tags of an `If-None-Match` list, compared weakly (RFC 9110 §13.1.2)."""
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.add(tag)
    return tags


def cacheable_json(content: Any, if_none_match: str | None, injected: Response) -> Response:
    """`content` as JSON with its `ETag` and `Cache-Control`, or a 304 when the caller's copy
    is current; with the headers set on the route's injected `Response`."""
    body = orjson.dumps(content, option=orjson.OPT_UTC_Z)
    tag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    headers = {"ETag": f"W/{tag}", "Cache-Control": PUBLIC_CACHE_CONTROL}
    if if_none_match is not None:
        tags = _tags(if_none_match)
        if tag in tags or "*" in tags:
            response = Response(status_code=304, headers=headers)
            response.headers.raw.extend(injected.headers.raw)
            return response
    response = Response(body, media_type="application/json", headers=headers)
    response.headers.raw.extend(injected.headers.raw)
    return response
