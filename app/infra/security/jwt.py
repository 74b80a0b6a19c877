"""ES256 access tokens with python-jose: signed with the current key, verified by `kid`.

Key rotation: sign with the newest key; keep retired keys (`MINISHOP_JWT_RETIRED_KEYS`) for
verification until the tokens they signed have expired. `/.well-known/jwks.json` publishes the
public half of every key in use.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt
from jose.backends.cryptography_backend import CryptographyECKey
from jose.exceptions import ExpiredSignatureError, JOSEError

from app.domain.authz.errors import InvalidToken

ALGORITHM = "ES256"
#: Verified tokens remembered per process (a few MB at most).
VERIFIED_CACHE_SIZE = 10_000


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(32, "big")).decode().rstrip("=")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    jwk: dict[str, str]
    verifier: CryptographyECKey
    private_pem: str | None


def _load(pem: str) -> SigningKey:
    data = pem.encode()
    private_pem: str | None
    if "PRIVATE KEY" in pem:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ValueError("JWT keys must be EC P-256")
        public = private.public_key()
        private_pem = pem
    else:
        loaded = serialization.load_pem_public_key(data)
        if not isinstance(loaded, ec.EllipticCurvePublicKey):
            raise ValueError("JWT keys must be EC P-256")
        public, private_pem = loaded, None
    if not isinstance(public.curve, ec.SECP256R1):
        raise ValueError("JWT keys must be EC P-256")
    numbers = public.public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x), "y": _b64(numbers.y)}
    # RFC 7638 thumbprint: stable, derived from the key itself.
    canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode()[:16]
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return SigningKey(
        kid=kid,
        jwk={**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM},
        verifier=CryptographyECKey(public_pem, ALGORITHM),
        private_pem=private_pem,
    )


class JwtCodec:
    """Implements the domain's `AccessTokenCodec`."""

    def __init__(
        self, current_pem: str, retired_pems: list[str], *, issuer: str, audience: str
    ) -> None:
        self.current = _load(current_pem)
        if self.current.private_pem is None:
            raise ValueError("the current JWT key must be a private key")
        self._signer = CryptographyECKey(self.current.private_pem, ALGORITHM)
        self.keys = {self.current.kid: self.current}
        for pem in retired_pems:
            key = _load(pem)
            self.keys.setdefault(key.kid, key)
        self.issuer = issuer
        self.audience = audience
        self._verified: dict[str, dict[str, Any]] = {}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk for k in self.keys.values()]}

    def encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self._signer, algorithm=ALGORITHM, headers={"kid": self.current.kid}
        )

    def decode(self, token: str) -> dict[str, Any]:
        """Verified claims. A token verified before is answered from a bounded cache until
        its `exp`: the signature check is the costliest step of every provider request, and
        its result never changes. Revocation is not the codec's business: the caller checks
        the token's live state on every request."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached["exp"] > time.time():
                return dict(cached)
            self._verified.pop(token, None)
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # oldest first: dicts keep order
        self._verified[token] = claims
        return dict(claims)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as e:
            raise InvalidToken("The access token is malformed.") from e
        # Only our algorithm, whatever the header claims (`none`, HS256 with the public key…).
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("The access token uses an unexpected algorithm.")
        key = self.keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("The access token was signed by an unknown key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.verifier,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # python-jose skips the audience check when the token has no `aud` at all:
                # require it (and `iss`) so only tokens minted for this API pass.
                options={
                    "require_aud": True,
                    "require_iss": True,
                    "require_exp": True,
                    "require_iat": True,
                    "require_jti": True,
                },
            )
        except ExpiredSignatureError as e:
            raise InvalidToken("The access token has expired.") from e
        except JOSEError as e:
            raise InvalidToken("The access token is not valid.") from e
        return claims
