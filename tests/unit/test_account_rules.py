"""Account rules and use cases without a database, a web framework or a clock of their own."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain.accounts import services
from app.domain.accounts.errors import (
    InvalidCredentials,
    LoginThrottled,
    RegistrationThrottled,
    SessionRequired,
    UsernameTaken,
)
from app.domain.accounts.model import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    Account,
    Session,
    check_password_strength,
    normalize_username,
)
from app.domain.accounts.services import LoginLimits, authenticate, hash_token
from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.errors import ValidationFailed
from app.domain.ports import Quota

# --------------------------------------------------------------------------- usernames


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("li.wei", "li.wei"),
        ("Li.Wei", "li.wei"),
        ("  ZHANG_min  ", "zhang_min"),
        ("abc", "abc"),
        ("0day-shop", "0day-shop"),
        ("a" * 32, "a" * 32),
        ("a.b_c-d9", "a.b_c-d9"),
    ],
)
def test_normalize_username_accepts_and_lowercases(raw: str, expected: str) -> None:
    assert normalize_username(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ab",
        "a" * 33,
        "_abc",
        ".abc",
        "-abc",
        "has space",
        "tab\there",
        "semi;colon",
        "slash/name",
        "at@sign",
        "名字名字",
        "émile",
        "   ",
    ],
)
def test_normalize_username_rejects(raw: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        normalize_username(raw)
    assert e.value.status == 422
    assert e.value.code == "validation_error"
    assert e.value.errors[0]["loc"] == ["body", "username"]
    assert "3-32" in e.value.errors[0]["msg"]


# --------------------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    "password",
    [
        "Corr3ct-horse",
        "x1y2z3w4v5",  # exactly the minimum
        "abcd" * 32,  # exactly the maximum, four distinct characters
        "correct horse battery staple",
    ],
)
def test_password_strength_accepts(password: str) -> None:
    check_password_strength(password, "li.wei")


@pytest.mark.parametrize(
    ("password", "username", "message"),
    [
        ("a1b2c3d4e", "li.wei", "characters"),  # MIN - 1
        ("abcd" * 32 + "e", "li.wei", "characters"),  # MAX + 1
        ("", "li.wei", "characters"),
        ("my-li.wei-password", "li.wei", "username"),
        ("MY-LI.WEI-PASSWORD", "li.wei", "username"),
        ("li.wei2024!!", "li.wei", "username"),
        ("aaaaaaaaaaaa", "li.wei", "repetitive"),
        ("abababababab", "li.wei", "repetitive"),
        ("abcabcabcabc", "li.wei", "repetitive"),
        ("1111122222", "li.wei", "repetitive"),
    ],
)
def test_password_strength_rejects(password: str, username: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        check_password_strength(password, username)
    assert e.value.errors[0]["loc"] == ["body", "password"]
    assert message in e.value.errors[0]["msg"]


def test_password_limits_are_the_documented_ones() -> None:
    assert (MIN_PASSWORD, MAX_PASSWORD) == (10, 128)


def test_empty_username_does_not_forbid_every_password() -> None:
    check_password_strength("Corr3ct-horse", "")


# --------------------------------------------------------------------------- sessions


def _session(**kw: Any) -> Session:
    defaults: dict[str, Any] = {
        "account_id": "acct_x",
        "token_hash": "h",
        "csrf_token": "c",
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
    }
    return Session(**{**defaults, **kw})


def test_session_is_active_until_expiry_or_revocation() -> None:
    now = datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC)
    s = _session()
    assert s.is_active(now)
    assert not s.is_active(s.expires_at)  # the expiry instant itself is out
    assert not s.is_active(s.expires_at + timedelta(seconds=1))
    s.revoked_at = now
    assert not s.is_active(now)


def test_session_expiry_is_ttl_from_now() -> None:
    before = datetime.now(UTC)
    expires = Session.expiry(3600)
    after = datetime.now(UTC)
    assert before + timedelta(seconds=3600) <= expires <= after + timedelta(seconds=3600)
    assert expires.tzinfo is not None


def test_session_ids_are_prefixed_and_unique() -> None:
    a, b = _session(), _session()
    assert a.id.startswith("sess_")
    assert a.id != b.id


def test_hash_token_is_sha256_hex() -> None:
    assert hash_token("mss_abc") == hashlib.sha256(b"mss_abc").hexdigest()
    assert len(hash_token("x")) == 64
    assert hash_token("a") != hash_token("b")


# --------------------------------------------------------------------------- error contract


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UsernameTaken, 409, "username_taken"),
        (InvalidCredentials, 401, "invalid_credentials"),
        (LoginThrottled, 429, "login_throttled"),
        (RegistrationThrottled, 429, "registration_throttled"),
        (SessionRequired, 401, "session_required"),
    ],
)
def test_error_codes_are_stable(error: type[Any], status: int, code: str) -> None:
    assert (error.status, error.code) == (status, code)


# --------------------------------------------------------------------------- use cases with fakes


class FakeHasher:
    """Reversible 'hash' that records what it verified."""

    def __init__(self) -> None:
        self.verified: list[str] = []
        self.rehash = False
        self.scheme = "fake"

    async def hash(self, password: str) -> str:
        return f"{self.scheme}${password[::-1]}"

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return password_hash.partition("$")[2] == password[::-1]

    def needs_rehash(self, password_hash: str) -> bool:
        return self.rehash


@dataclass
class FakeThrottle:
    counts: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def reserve(self, key: str, quota: Quota) -> int | None:
        self.calls.append(("reserve", key))
        self.counts[key] = self.counts.get(key, 0) + 1
        return 42 if self.counts[key] > quota.limit else None

    async def release(self, key: str, quota: Quota) -> None:
        self.calls.append(("release", key))
        self.counts[key] -= 1

    async def clear(self, key: str, quota: Quota) -> None:
        self.calls.append(("clear", key))
        self.counts.pop(key, None)


class FakeAccounts:
    def __init__(self) -> None:
        self.by_id: dict[str, Account] = {}
        self.sessions: dict[str, Session] = {}

    def add(self, account: Account) -> None:
        self.by_id[account.id] = account

    async def get(self, account_id: str) -> Account | None:
        return self.by_id.get(account_id)

    async def get_by_username(self, username: str) -> Account | None:
        return next((a for a in self.by_id.values() if a.username == username), None)

    def add_session(self, session: Session) -> None:
        self.sessions[session.token_hash] = session

    async def get_session(self, token_hash: str) -> Session | None:
        return self.sessions.get(token_hash)


class FakeAudit:
    def __init__(self) -> None:
        self.rows: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.rows.append(entry)


class FakeUow:
    def __init__(self) -> None:
        self.accounts = FakeAccounts()
        self.audit = FakeAudit()
        self.flushes = 0
        self.rollbacks = 0

    async def flush(self) -> None:
        self.flushes += 1

    async def rollback(self) -> None:
        self.rollbacks += 1


LIMITS = LoginLimits(per_account=Quota(3, 60), per_ip=Quota(5, 60))
PASSWORD = "Corr3ct-horse-battery"


async def _registered(uow: FakeUow, hasher: FakeHasher, username: str = "li.wei") -> Account:
    return await services.register(uow, hasher, username=username, password=PASSWORD)  # type: ignore[arg-type]


async def _login(
    uow: FakeUow,
    hasher: FakeHasher,
    throttle: FakeThrottle,
    *,
    username: str = "li.wei",
    password: str = PASSWORD,
    ip: str | None = "10.0.0.1",
) -> services.LoginResult:
    return await services.login(
        uow,  # type: ignore[arg-type]
        hasher,
        throttle,
        LIMITS,
        username=username,
        password=password,
        ip=ip,
        user_agent="pytest",
        session_ttl_seconds=600,
    )


async def test_register_normalises_and_hashes() -> None:
    uow, hasher = FakeUow(), FakeHasher()
    account = await services.register(
        uow,  # type: ignore[arg-type]
        hasher,
        username="  Li.Wei ",
        password=PASSWORD,
        display_name="  ",
    )
    assert account.username == "li.wei"
    assert account.display_name == "li.wei"  # blank display name falls back to the username
    assert account.password_hash == await hasher.hash(PASSWORD)
    assert account.id.startswith("acct_")
    assert not account.is_operator
    assert uow.flushes == 1


async def test_register_rejects_taken_username_in_any_case() -> None:
    uow, hasher = FakeUow(), FakeHasher()
    await _registered(uow, hasher)
    with pytest.raises(UsernameTaken):
        await _registered(uow, hasher, username="LI.WEI")
    assert len(uow.accounts.by_id) == 1


async def test_register_checks_password_against_normalised_username() -> None:
    uow, hasher = FakeUow(), FakeHasher()
    with pytest.raises(ValidationFailed):
        await services.register(
            uow,  # type: ignore[arg-type]
            hasher,
            username="Li.Wei",
            password="xx-li.wei-yy-zz",
        )
    assert not uow.accounts.by_id


async def test_login_creates_session_with_hashed_token() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    account = await _registered(uow, hasher)
    result = await _login(uow, hasher, throttle, username=" LI.WEI ")
    assert result.account is account
    assert result.token.startswith(services.SESSION_TOKEN_PREFIX)
    assert result.session.token_hash == hash_token(result.token)
    assert result.token not in (result.session.token_hash, result.session.csrf_token)
    assert result.session.account_id == account.id
    assert result.session.ip == "10.0.0.1"
    assert result.session.user_agent == "pytest"
    assert list(uow.accounts.sessions) == [hash_token(result.token)]
    assert ("clear", "login:acct:li.wei") in throttle.calls
    # A success takes back its own attempt from the address, and no more: the IP counter
    # is not reset (that would let a sprayer reset it).
    assert throttle.calls[:2] == [
        ("reserve", "login:ip:10.0.0.1"),
        ("reserve", "login:acct:li.wei"),
    ]
    assert ("release", "login:ip:10.0.0.1") in throttle.calls
    assert not any(c == ("clear", "login:ip:10.0.0.1") for c in throttle.calls)
    assert throttle.counts == {"login:ip:10.0.0.1": 0}


async def test_no_transaction_is_open_while_a_password_is_checked() -> None:
    """The read of the hash ends before the slow verification (its pooled connection goes
    back to the pool), and the account is read again only once the password is right."""
    uow, throttle = FakeUow(), FakeThrottle()

    class WatchingHasher(FakeHasher):
        async def verify(self, password_hash: str, password: str) -> bool:
            assert uow.rollbacks == 1, "the read transaction is still open"
            return await super().verify(password_hash, password)

    hasher = WatchingHasher()
    await _registered(uow, hasher)
    with pytest.raises(InvalidCredentials):
        await _login(uow, hasher, throttle, password="Wrong-passw0rd")
    uow.rollbacks = 0
    with pytest.raises(InvalidCredentials):
        await _login(uow, hasher, throttle, username="ghost")
    uow.rollbacks = 0
    result = await _login(uow, hasher, throttle)
    assert result.account.username == "li.wei"


async def test_password_changed_during_the_check_is_refused() -> None:
    uow, throttle = FakeUow(), FakeThrottle()
    account: Account | None = None

    class RacingHasher(FakeHasher):
        async def verify(self, password_hash: str, password: str) -> bool:
            assert account is not None
            account.password_hash = await self.hash("An0ther-passw0rd!")
            return await super().verify(password_hash, password)

    hasher = RacingHasher()
    account = await _registered(uow, hasher)
    with pytest.raises(InvalidCredentials):
        await _login(uow, hasher, throttle)
    assert not uow.accounts.sessions


async def test_login_tokens_are_unique_per_login() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    await _registered(uow, hasher)
    a, b = await _login(uow, hasher, throttle), await _login(uow, hasher, throttle)
    assert a.token != b.token
    assert a.session.csrf_token != b.session.csrf_token


async def test_wrong_password_and_unknown_user_both_verify_and_count() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    await _registered(uow, hasher)
    with pytest.raises(InvalidCredentials):
        await _login(uow, hasher, throttle, password="Wrong-passw0rd")
    with pytest.raises(InvalidCredentials):
        await _login(uow, hasher, throttle, username="ghost")
    # A hash is verified for the unknown user too (equal timing), and both attempts count.
    assert len(hasher.verified) == 2
    assert throttle.counts == {
        "login:acct:li.wei": 1,
        "login:acct:ghost": 1,
        "login:ip:10.0.0.1": 2,
    }
    assert not uow.accounts.sessions


async def test_throttled_login_is_refused_before_checking_the_password() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    await _registered(uow, hasher)
    for _ in range(LIMITS.per_account.limit):
        with pytest.raises(InvalidCredentials):
            await _login(uow, hasher, throttle, password="Wrong-passw0rd")
    verified = len(hasher.verified)
    with pytest.raises(LoginThrottled) as e:
        await _login(uow, hasher, throttle)  # the right password
    assert e.value.headers == {"Retry-After": "42"}
    assert e.value.status == 429
    assert len(hasher.verified) == verified  # no password check while blocked
    assert not uow.accounts.sessions


async def test_attempt_refused_for_its_account_does_not_count_for_its_address() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    await _registered(uow, hasher)
    for _ in range(LIMITS.per_account.limit):
        with pytest.raises(InvalidCredentials):
            await _login(uow, hasher, throttle, password="Wrong-passw0rd")
    for _ in range(2 * LIMITS.per_ip.limit):
        with pytest.raises(LoginThrottled):
            await _login(uow, hasher, throttle)
    # Nothing was verified, so nothing was tried from the address.
    assert throttle.counts["login:ip:10.0.0.1"] == LIMITS.per_account.limit
    with pytest.raises(InvalidCredentials):
        await _login(uow, hasher, throttle, username="another")


SIGNUP = Quota(2, 3600)


async def _sign_up(
    uow: FakeUow, hasher: FakeHasher, throttle: FakeThrottle, username: str, password: str
) -> Account:
    return await services.sign_up(
        uow,  # type: ignore[arg-type]
        hasher,
        throttle,
        SIGNUP,
        ip="10.0.0.9",
        username=username,
        password=password,
    )


async def test_sign_up_counts_per_address_before_hashing() -> None:
    uow, throttle = FakeUow(), FakeThrottle()
    hashed: list[str] = []

    class CountingHasher(FakeHasher):
        async def hash(self, password: str) -> str:
            hashed.append(password)
            return await super().hash(password)

    hasher = CountingHasher()
    # A password the rules refuse costs no hash and no attempt.
    with pytest.raises(ValidationFailed):
        await _sign_up(uow, hasher, throttle, "weak.one", "short")
    assert throttle.counts == {}
    await _sign_up(uow, hasher, throttle, "first.one", PASSWORD)
    with pytest.raises(UsernameTaken):  # probing a taken name counts too
        await _sign_up(uow, hasher, throttle, "first.one", PASSWORD)
    with pytest.raises(RegistrationThrottled) as e:
        await _sign_up(uow, hasher, throttle, "third.one", PASSWORD)
    assert e.value.headers == {"Retry-After": "42"}
    assert len(hashed) == 2
    assert [a.username for a in uow.accounts.by_id.values()] == ["first.one"]


async def test_ip_limit_applies_across_usernames() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    await _registered(uow, hasher)
    for i in range(LIMITS.per_ip.limit):
        with pytest.raises(InvalidCredentials):
            await _login(uow, hasher, throttle, username=f"spray{i}")
    with pytest.raises(LoginThrottled):
        await _login(uow, hasher, throttle)
    await _login(uow, hasher, throttle, ip="10.0.0.2")  # another address is fine


async def test_missing_ip_shares_one_bucket() -> None:
    throttle = FakeThrottle()
    uow, hasher = FakeUow(), FakeHasher()
    with pytest.raises(InvalidCredentials):
        await _login(uow, hasher, throttle, username="ghost", ip=None)
    assert "login:ip:-" in throttle.counts


async def test_login_rehashes_outdated_hashes() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    account = await _registered(uow, hasher)
    assert account.password_hash.startswith("fake$")
    await _login(uow, hasher, throttle)
    assert account.password_hash.startswith("fake$")  # current: left alone
    hasher.rehash, hasher.scheme = True, "new"
    await _login(uow, hasher, throttle)
    assert account.password_hash == "new$" + PASSWORD[::-1]


async def test_authenticate() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    account = await _registered(uow, hasher)
    result = await _login(uow, hasher, throttle)
    got_account, got_session = await authenticate(uow, result.token)  # type: ignore[arg-type]
    assert got_account is account
    assert got_session is result.session

    for token in (None, "", "mss_unknown"):
        with pytest.raises(SessionRequired):
            await authenticate(uow, token)  # type: ignore[arg-type]

    result.session.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(SessionRequired):
        await authenticate(uow, result.token)  # type: ignore[arg-type]


async def test_logout_revokes() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    await _registered(uow, hasher)
    result = await _login(uow, hasher, throttle)
    actor = Actor(type=ActorType.ACCOUNT, id=result.account.id, surface=Surface.MERCHANT)
    services.logout(uow, actor, result.session)  # type: ignore[arg-type]
    assert result.session.revoked_at is not None
    assert [e.action for e in uow.audit.rows] == ["account.registered", "account.logged_out"]
    assert uow.audit.rows[-1].shop_id is None
    assert uow.audit.rows[-1].target_id == result.session.id
    with pytest.raises(SessionRequired):
        await authenticate(uow, result.token)  # type: ignore[arg-type]


async def test_session_of_deleted_account_is_refused() -> None:
    uow, hasher, throttle = FakeUow(), FakeHasher(), FakeThrottle()
    account = await _registered(uow, hasher)
    result = await _login(uow, hasher, throttle)
    del uow.accounts.by_id[account.id]
    with pytest.raises(SessionRequired):
        await authenticate(uow, result.token)  # type: ignore[arg-type]
