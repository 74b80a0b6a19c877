"""The password-hash profile: production keeps argon2id's RFC 9106 parameters; the cheap
profile the test suite runs with is refused in production."""

from __future__ import annotations

import pytest
from argon2 import Type, extract_parameters
from pydantic import ValidationError

from app.container import build_container
from app.infra.security.passwords import Argon2PasswordHasher
from app.settings import Settings


def test_production_hashes_with_rfc_9106_low_memory_parameters() -> None:
    hasher = Argon2PasswordHasher()  # the default profile is production
    params = hasher.parameters
    assert params.type is Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 64 * 1024, 4)
    assert (params.salt_len, params.hash_len) == (16, 32)


async def test_a_production_hash_carries_those_parameters_and_verifies() -> None:
    hasher = Argon2PasswordHasher()
    stored = await hasher.hash("a-Long-test-passw0rd")
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    assert await hasher.verify(stored, "a-Long-test-passw0rd")
    assert not await hasher.verify(stored, "a-Long-test-passw0rX")
    assert not hasher.needs_rehash(stored)


def test_settings_default_to_the_production_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(_env_file=None, var_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.password_hash_profile == "production"


async def test_the_container_builds_the_hasher_of_its_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for profile, memory in (("production", 65536), ("fast", 8)):
        c = build_container(
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                var_dir=tmp_path / profile,
                password_hash_profile=profile,  # type: ignore[arg-type]
            )
        )
        try:
            assert c.hasher.parameters.memory_cost == memory
        finally:
            await c.close()


async def test_a_fast_hash_verifies_and_is_rehashed_by_a_production_hasher() -> None:
    stored = await Argon2PasswordHasher(profile="fast").hash("pw-123456789")
    production = Argon2PasswordHasher()
    assert await production.verify(stored, "pw-123456789")
    assert production.needs_rehash(stored)


def test_the_fast_profile_is_refused_in_production(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="MINISHOP_PASSWORD_HASH_PROFILE"):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="production",
            var_dir=tmp_path,
            public_base_url="https://shop.example.com",
            password_hash_profile="fast",  # type: ignore[arg-type]
        )
