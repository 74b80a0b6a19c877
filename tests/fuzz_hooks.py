"""Schemathesis hooks for `tests/test_fuzz.py`, loaded by `st` through SCHEMATHESIS_HOOKS.

Bodies of the raw-file upload (`application/x-ndjson`) go on the wire as text. The payment
gateway's callback is signed as the sandbox gateway signs it. No check is relaxed here:
every answer an operation gives must be declared in the spec.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from schemathesis.core import NotSet

from app.infra.payments.sandbox import CALLBACK_PATH, signed_headers

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

#: The sandbox gateway's secret the server under test was started with (tests/test_fuzz.py).
SANDBOX_SECRET = os.environ.get("MINISHOP_SANDBOX_PAYMENT_SECRET", "")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Sign the callback's generated bodies, so they reach their own checks (unsigned, each
    would only ever get its 401). The body goes on the wire as `requests` serializes `json=`:
    `json.dumps` with its defaults."""
    if case.path != CALLBACK_PATH or not SANDBOX_SECRET or isinstance(case.body, NotSet):
        return
    try:
        raw = json.dumps(case.body, allow_nan=False).encode()
    except (TypeError, ValueError):
        return  # not JSON: refused before the signature is looked at
    case.headers = {**(case.headers or {}), **signed_headers(SANDBOX_SECRET, raw)}
