"""Opaque secrets: prefixed so a leak is greppable, stored only as a SHA-256 hash.

They carry 256 random bits, so a fast hash is enough (no dictionary to attack); the slow hash
is for passwords.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

CLIENT_ID_PREFIX = "msc_"
CLIENT_SECRET_PREFIX = "mss_"
CODE_PREFIX = "msac_"
REFRESH_PREFIX = "msr_"

_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(10)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def secret_matches(value: str, hashes: list[str]) -> bool:
    presented = hash_secret(value)
    # Compare with every candidate so timing does not tell which one matched.
    matched = False
    for h in hashes:
        matched |= hmac.compare_digest(presented, h)
    return matched


def valid_challenge(challenge: str) -> bool:
    """An S256 challenge is the unpadded base64url of 32 bytes: 43 characters."""
    return bool(_CHALLENGE_RE.fullmatch(challenge))


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge."""
    if not _VERIFIER_RE.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return hmac.compare_digest(computed, challenge)
