"""Accounts (people who log in) and their browser sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.clock import utcnow
from app.domain.errors import ValidationFailed
from app.domain.ids import new_id

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 128


def normalize_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise ValidationFailed.field(
            "body.username",
            "3-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.",
        )
    return username


def check_password_strength(password: str, username: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationFailed.field(
            "body.password", f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters."
        )
    if username and username in password.lower():
        raise ValidationFailed.field("body.password", "The password must not contain the username.")
    if len(set(password)) < 4:
        raise ValidationFailed.field("body.password", "The password is too repetitive.")


@dataclass(eq=False)
class Account:
    username: str
    display_name: str
    password_hash: str
    email: str | None = None
    is_operator: bool = False
    id: str = field(default_factory=lambda: new_id("acct"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1


@dataclass(eq=False)
class Session:
    """A login. The cookie carries `token`; only its hash is stored (`token_hash`)."""

    account_id: str
    token_hash: str
    csrf_token: str
    expires_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    id: str = field(default_factory=lambda: new_id("sess"))
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    @staticmethod
    def expiry(ttl_seconds: int) -> datetime:
        return utcnow() + timedelta(seconds=ttl_seconds)
