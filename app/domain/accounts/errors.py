"""The accounts context's errors."""

from __future__ import annotations

from app.domain.errors import Conflict, ServiceBusy, TooManyRequests, Unauthenticated


class UsernameTaken(Conflict):
    code = "username_taken"
    title = "The username is taken"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Wrong username or password"


class LoginThrottled(TooManyRequests):
    code = "login_throttled"
    title = "Too many login attempts"


class RegistrationThrottled(TooManyRequests):
    code = "registration_throttled"
    title = "Too many registrations from this address"


class SessionRequired(Unauthenticated):
    code = "session_required"
    title = "Log in first"


class PasswordHashingBusy(ServiceBusy):
    """Every password-hashing slot is taken (the hasher's bounded concurrency): retry later."""

    code = "password_hashing_busy"
    title = "Too many logins and sign-ups at once"
