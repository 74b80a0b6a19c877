"""Access-token key rotation: sign with the newest key, keep verifying with retired ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.domain.authz.errors import InvalidToken
from app.infra.security.jwt import JwtCodec
from app.infra.security.keys import load_keys
from app.settings import Settings

ISS, AUD = "http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"


def pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def claims() -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "app_1", "jti": "at_1", "iat": now, "exp": now + 60}


def test_retired_keys_verify_and_are_published(tmp_path: Path) -> None:
    old, new = pem(), pem()
    before = JwtCodec(old, [], issuer=ISS, audience=AUD)
    token = before.encode(claims())
    settings = Settings(
        env="test",
        var_dir=tmp_path,
        jwt_private_key=new,
        jwt_retired_keys=old,
        encryption_keys=None,
    )
    keys = load_keys(settings)
    after = JwtCodec(keys.jwt_private_pem, keys.jwt_retired_pems, issuer=ISS, audience=AUD)
    assert after.decode(token)["sub"] == "app_1"  # issued before the rotation
    assert after.current.kid != before.current.kid
    fresh = after.encode(claims())
    assert after.decode(fresh)["sub"] == "app_1"
    assert {k["kid"] for k in after.jwks()["keys"]} == {before.current.kid, after.current.kid}
    # Once the old key is dropped, its tokens stop verifying; new ones keep working.
    dropped = JwtCodec(new, [], issuer=ISS, audience=AUD)
    with pytest.raises(InvalidToken):
        dropped.decode(token)
    assert dropped.decode(fresh)["sub"] == "app_1"


def test_verified_tokens_are_remembered_until_they_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.infra.security import jwt as jwt_module

    codec = JwtCodec(pem(), [], issuer=ISS, audience=AUD)
    token = codec.encode(claims())
    first = codec.decode(token)
    first["sub"] = "changed by the caller"  # callers get a copy, the cache is untouched
    assert codec.decode(token)["sub"] == "app_1"
    assert token in codec._verified
    # A tampered token is a different string: verified afresh, and refused.
    with pytest.raises(InvalidToken):
        codec.decode(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    # Past `exp` the remembered answer is dropped and the token refused.
    later = time.time() + 3600
    monkeypatch.setattr(jwt_module.time, "time", lambda: later)
    monkeypatch.setattr("jose.jwt.timegm", lambda _t: int(later))
    with pytest.raises(InvalidToken):
        codec.decode(token)
    assert token not in codec._verified
