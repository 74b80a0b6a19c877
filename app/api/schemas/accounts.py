"""Accounts and sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from app.api.schemas.base import Input, Output


class AccountCreate(Input):
    """A new account. The same account can own shops, develop apps and buy."""

    username: str = Field(
        min_length=3,
        max_length=32,
        description="3-32 of a-z, 0-9, '.', '_', '-'.",
        examples=["li.wei"],
    )
    password: str = Field(
        min_length=10,
        max_length=128,
        description="10-128 characters.",
        examples=["correct horse battery"],
    )
    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Shown to shop members.",
        examples=["Li Wei"],
    )
    email: EmailStr | None = Field(
        default=None, description="For notices; optional.", examples=["li.wei@example.com"]
    )


class LoginRequest(Input):
    """Credentials for `POST /auth/login`."""

    username: str = Field(
        min_length=1, max_length=64, description="Your username.", examples=["li.wei"]
    )
    password: str = Field(
        min_length=1,
        max_length=128,
        description="Your password.",
        examples=["correct horse battery"],
    )


class Account(Output):
    """An account as its owner sees it."""

    id: str = Field(description="Account id.", examples=["acct_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    username: str = Field(description="Unique login name.", examples=["li.wei"])
    display_name: str = Field(description="Display name.", examples=["Li Wei"])
    email: str | None = Field(description="Contact e-mail.", examples=["li.wei@example.com"])
    is_operator: bool = Field(description="Whether this is a platform operator.", examples=[False])
    created_at: datetime = Field(
        description="When the account was created (UTC).", examples=["2026-11-25T08:00:00Z"]
    )


class LoginResponse(Output):
    """The session cookie is set on the response; send `csrf_token` as `X-CSRF-Token`."""

    account: Account = Field(description="The logged-in account.")
    csrf_token: str = Field(
        description="Send as the X-CSRF-Token header on every change.",
        examples=["Jx0Yw3d2b0b4S1n1mU9y5c1iX2Fh8v7q"],
    )
    expires_at: datetime = Field(
        description="When the session ends (UTC).", examples=["2026-12-09T08:00:00Z"]
    )


class SessionInfo(Output):
    """The current session: how a page logged in through the HTML form gets its CSRF token."""

    account: Account = Field(description="The logged-in account.")
    csrf_token: str = Field(
        description="Send as the X-CSRF-Token header on every change.",
        examples=["Jx0Yw3d2b0b4S1n1mU9y5c1iX2Fh8v7q"],
    )
    expires_at: datetime = Field(
        description="When the session ends (UTC).", examples=["2026-12-09T08:00:00Z"]
    )
