"""The key ring seals bytes (stored `Idempotency-Key` responses) with AES-GCM under keys derived
from the ring's: any ring key opens them, a tampered or foreign token opens to None, and
bytes sealed as Fernet tokens before still open."""

from __future__ import annotations

from cryptography.fernet import Fernet

from app.infra.security.keys import FernetCipher


def _key() -> str:
    return Fernet.generate_key().decode()


def test_sealed_bytes_open_with_any_key_of_the_ring_and_with_no_other() -> None:
    old, new, foreign = _key(), _key(), _key()
    body = '{"id": "order_1", "total": 3000, "recipient": "王芳"}'.encode()
    sealed = FernetCipher([old]).encrypt_bytes(body)
    assert body not in sealed and old.encode() not in sealed
    assert FernetCipher([old]).decrypt_bytes(sealed) == body
    assert FernetCipher([new, old]).decrypt_bytes(sealed) == body  # rotated: still opens
    assert FernetCipher([foreign]).decrypt_bytes(sealed) is None
    # Sealed twice, never the same bytes (a fresh nonce each time).
    assert FernetCipher([old]).encrypt_bytes(body) != sealed


def test_tampered_truncated_or_garbage_tokens_open_to_none() -> None:
    ring = FernetCipher([_key()])
    sealed = bytearray(ring.encrypt_bytes(b"x" * 100))
    sealed[-1] ^= 1
    assert ring.decrypt_bytes(bytes(sealed)) is None
    assert ring.decrypt_bytes(bytes(sealed[:20])) is None
    for junk in (b"", b"\x01", b"garbage", b"gAAAAAnot-a-token"):
        assert ring.decrypt_bytes(junk) is None


def test_bytes_sealed_as_fernet_tokens_before_still_open() -> None:
    key = _key()
    legacy = Fernet(key.encode()).encrypt(b'{"status": "ok"}')
    assert FernetCipher([key]).decrypt_bytes(legacy) == b'{"status": "ok"}'
    assert FernetCipher([_key(), key]).decrypt_bytes(legacy) == b'{"status": "ok"}'
