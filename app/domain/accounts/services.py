"""Use cases: register, log in, authenticate a session, log out."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from app.domain.accounts.errors import (
    InvalidCredentials,
    LoginThrottled,
    RegistrationThrottled,
    SessionRequired,
    UsernameTaken,
)
from app.domain.accounts.model import (
    Account,
    Session,
    check_password_strength,
    normalize_username,
)
from app.domain.accounts.ports import AccountsUnitOfWork
from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.clock import utcnow
from app.domain.errors import IntegrityConflict
from app.domain.ports import PasswordHasher, Quota, Throttle

SESSION_TOKEN_PREFIX = "mss_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def register(
    uow: AccountsUnitOfWork,
    hasher: PasswordHasher,
    *,
    username: str,
    password: str,
    display_name: str | None = None,
    email: str | None = None,
    is_operator: bool = False,
    registered_by: Actor | None = None,
    request_id: str | None = None,
) -> Account:
    """Create an account. Recorded in the audit log (no shop) as done by `registered_by`, or
    by the new account itself when it signed up through the API."""
    username = normalize_username(username)
    check_password_strength(password, username)
    # Hashed before the first read, so no pooled connection waits through the slow hash.
    password_hash = await hasher.hash(password)
    if await uow.accounts.get_by_username(username) is not None:
        raise UsernameTaken(f"The username '{username}' is taken.")
    account = Account(
        username=username,
        display_name=(display_name or username).strip() or username,
        email=email,
        password_hash=password_hash,
    )
    uow.accounts.add(account)
    actor = registered_by or Actor(
        type=ActorType.ACCOUNT, id=account.id, surface=Surface.MERCHANT, request_id=request_id
    )
    uow.audit.add(
        AuditEntry.record(
            actor,
            "account.registered",
            target_type="account",
            target_id=account.id,
            shop_id=None,
            after={"username": account.username, "display_name": account.display_name},
        )
    )
    if is_operator:
        grant_operator(uow, actor, account)
    try:
        await uow.flush()
    except IntegrityConflict as e:
        # Another registration of the same name committed between our check and our insert.
        raise UsernameTaken(f"The username '{username}' is taken.") from e
    return account


async def sign_up(
    uow: AccountsUnitOfWork,
    hasher: PasswordHasher,
    throttle: Throttle,
    quota: Quota,
    *,
    ip: str | None,
    username: str,
    password: str,
    display_name: str | None = None,
    email: str | None = None,
    request_id: str | None = None,
) -> Account:
    """Self-service registration: each attempt that passes the input checks counts against
    its address before the slow hash runs (a name already taken counts too: it probes)."""
    check_password_strength(password, normalize_username(username))
    retry_after = await throttle.reserve(f"register:ip:{ip or '-'}", quota)
    if retry_after is not None:
        raise RegistrationThrottled(
            f"Too many registrations from this address; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
    return await register(
        uow,
        hasher,
        username=username,
        password=password,
        display_name=display_name,
        email=email,
        request_id=request_id,
    )


@dataclass(frozen=True)
class LoginLimits:
    per_account: Quota
    per_ip: Quota


@dataclass(frozen=True)
class LoginResult:
    account: Account
    session: Session
    token: str


async def login(
    uow: AccountsUnitOfWork,
    hasher: PasswordHasher,
    throttle: Throttle,
    limits: LoginLimits,
    *,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    session_ttl_seconds: int,
) -> LoginResult:
    """A browser login: the password checked (`check_login`), then a session opened."""
    account = await check_login(
        uow, hasher, throttle, limits, username=username, password=password, ip=ip
    )
    result = open_session(
        uow, account, ip=ip, user_agent=user_agent, session_ttl_seconds=session_ttl_seconds
    )
    await uow.flush()
    return result


async def check_login(
    uow: AccountsUnitOfWork,
    hasher: PasswordHasher,
    throttle: Throttle,
    limits: LoginLimits,
    *,
    username: str,
    password: str,
    ip: str | None,
) -> Account:
    """The account whose password this is, or `InvalidCredentials`; every credential login
    (the merchant's session, the buyer's token) goes through here, on the same counters.

    Every attempt is counted, per address and then per account, before its password is
    verified: concurrent guesses cannot all pass a limit that none of them has counted yet."""
    username = username.strip().lower()
    account_key, ip_key = f"login:acct:{username}", f"login:ip:{ip or '-'}"
    await _reserve(throttle, ip_key, limits.per_ip)
    try:
        await _reserve(throttle, account_key, limits.per_account)
    except LoginThrottled:
        await throttle.release(ip_key, limits.per_ip)  # nothing was tried
        raise
    found = await uow.accounts.get_by_username(username)
    account_id, stored = (found.id, found.password_hash) if found else (None, None)
    # Nothing is written yet: end the read, so no pooled connection waits through the slow
    # hash (a burst of logins would otherwise hold them all and stall every other request).
    await uow.rollback()
    # Verify against a dummy hash when the account does not exist so timing tells nothing.
    ok = await hasher.verify(stored or await _DUMMY.get(hasher), password)
    account = await uow.accounts.get(account_id) if account_id and ok else None
    if account is None or account.password_hash != stored:
        raise InvalidCredentials()
    # A success ends the account's run of failures and does not count against its address.
    await throttle.clear(account_key, limits.per_account)
    await throttle.release(ip_key, limits.per_ip)
    if hasher.needs_rehash(account.password_hash):
        account.password_hash = await hasher.hash(password)
    return account


def open_session(
    uow: AccountsUnitOfWork,
    account: Account,
    *,
    ip: str | None,
    user_agent: str | None,
    session_ttl_seconds: int,
) -> LoginResult:
    """A new session of an account whose password was just checked: the cookie's token (only
    its hash is stored) and the CSRF token that goes with it."""
    token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = Session(
        account_id=account.id,
        token_hash=hash_token(token),
        csrf_token=secrets.token_urlsafe(24),
        expires_at=Session.expiry(session_ttl_seconds),
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    uow.accounts.add_session(session)
    return LoginResult(account=account, session=session, token=token)


async def _reserve(throttle: Throttle, key: str, quota: Quota) -> None:
    retry_after = await throttle.reserve(key, quota)
    if retry_after is not None:
        raise LoginThrottled(
            f"Too many failed logins; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


async def authenticate(uow: AccountsUnitOfWork, token: str | None) -> tuple[Account, Session]:
    if not token:
        raise SessionRequired()
    session = await uow.accounts.get_session(hash_token(token))
    if session is None or not session.is_active(utcnow()):
        raise SessionRequired("The session has expired or was ended; log in again.")
    account = await uow.accounts.get(session.account_id)
    if account is None:
        raise SessionRequired()
    return account, session


def logout(uow: AccountsUnitOfWork, actor: Actor, session: Session) -> None:
    session.revoked_at = utcnow()
    uow.audit.add(
        AuditEntry.record(
            actor,
            "account.logged_out",
            target_type="session",
            target_id=session.id,
            shop_id=None,
        )
    )


def grant_operator(uow: AccountsUnitOfWork, actor: Actor, account: Account) -> None:
    """Make the account a platform operator; a no-op (and no audit entry) if it is one."""
    if account.is_operator:
        return
    account.is_operator = True
    uow.audit.add(
        AuditEntry.record(
            actor,
            "account.operator_granted",
            target_type="account",
            target_id=account.id,
            shop_id=None,
            before={"is_operator": False},
            after={"is_operator": True},
        )
    )


class _DummyHash:
    """One real hash per hasher instance, made lazily, to burn equal time for unknown users.
    Made once: a burst of logins for unknown names must not each hash a dummy first."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}
        self._lock = asyncio.Lock()

    async def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._cache:
            async with self._lock:
                if key not in self._cache:
                    self._cache[key] = await hasher.hash(secrets.token_urlsafe(16))
        return self._cache[key]


_DUMMY = _DummyHash()
