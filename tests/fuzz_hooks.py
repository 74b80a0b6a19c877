"""Schemathesis hooks for `tests/test_fuzz.py`, loaded by `st` through SCHEMATHESIS_HOOKS.

Bodies of the raw-file upload (`application/x-ndjson`) go on the wire as text. No check is
relaxed here: every answer an operation gives must be declared in the spec.
"""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
