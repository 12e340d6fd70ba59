"""The one exception hierarchy of secure-auth.

Every exception the library raises on purpose derives from :class:`AuthError`,
which is never raised itself::

    AuthError
    ├── TokenError                    (HTTP 401)
    │   ├── InvalidToken              malformed, bad signature, wrong claims
    │   └── ExpiredToken              ``exp`` passed (or ``nbf`` not reached)
    ├── SessionError                  (HTTP 401)
    │   ├── SessionRevoked            the session is gone from the store
    │   │   └── RefreshReuseDetected  a rotated refresh token came back: theft
    │   └── SessionExpired            absolute or idle lifetime passed
    ├── InvalidCredentials            (HTTP 401) unknown user or wrong password
    ├── PasswordPolicyError           (HTTP 400) empty or over-long password
    ├── InvalidPasswordHash           (HTTP 500) the stored hash is not Argon2id
    ├── PasskeyError                  (HTTP 400/401) every WebAuthn failure
    ├── Throttled                     (HTTP 429) too many failures
    ├── StoreUnavailable              (HTTP 503) the store failed: fail closed
    ├── UnsupportedByStore            (HTTP 501) the store lacks a method
    └── ConfigurationError            (HTTP 500) keys, config, wiring

Each error has a stable machine ``code`` and a ``public_message`` that is safe
to show to anybody. What an attacker could learn from (which check failed) is
kept in ``reason`` for logs, never in ``str(error)`` beyond that safe message.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigurationError",
    "ExpiredToken",
    "InvalidCredentials",
    "InvalidPasswordHash",
    "InvalidToken",
    "PasskeyError",
    "PasswordPolicyError",
    "RefreshReuseDetected",
    "SessionError",
    "SessionExpired",
    "SessionRevoked",
    "StoreUnavailable",
    "Throttled",
    "TokenError",
    "UnsupportedByStore",
]


class AuthError(Exception):
    """Root of every secure-auth error. Never raised itself.

    Attributes:
        code: stable, machine-readable identifier (``"invalid_token"``...).
        public_message: text that is safe to show to the end user.
        reason: detail for logs (which check failed); never put secrets here.
        status: the HTTP status an adapter answers with.
    """

    code = "auth_error"
    public_message = "Authentication failed."
    status = 401

    def __init__(self, reason: str | None = None, *, public_message: str | None = None) -> None:
        self.reason = reason or self.code
        if public_message is not None:
            self.public_message = public_message
        super().__init__(self.public_message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class TokenError(AuthError):
    """The token is not acceptable. ``reason`` says why, for logs."""

    code = "invalid_token"
    public_message = "The access token is invalid."


class InvalidToken(TokenError):
    """Malformed, wrongly signed, wrong type, wrong issuer or audience."""


class ExpiredToken(TokenError):
    """The token's ``exp`` has passed, or its ``nbf`` is still ahead."""

    code = "token_expired"
    public_message = "The access token has expired."


class SessionError(AuthError):
    """The token was fine but its session is not."""

    code = "session_invalid"
    public_message = "The session is no longer valid."


class SessionRevoked(SessionError):
    """The session no longer exists in the store (logout, revocation)."""

    code = "session_revoked"
    public_message = "The session has ended. Please sign in again."


class RefreshReuseDetected(SessionRevoked):
    """A refresh token was used after its successor was issued.

    The session has been revoked: either the token was stolen, or a client
    kept an old copy beyond the grace window.
    """

    code = "refresh_reuse_detected"


class SessionExpired(SessionError):
    """The session passed its absolute or idle lifetime."""

    code = "session_expired"
    public_message = "The session has expired. Please sign in again."


class InvalidCredentials(AuthError):
    """Unknown user or wrong password: deliberately indistinguishable."""

    code = "invalid_credentials"
    public_message = "The login or password is incorrect."


class PasswordPolicyError(AuthError):
    """The new password breaks the policy (empty, or too long)."""

    code = "password_policy"
    public_message = "The password does not meet the policy."
    status = 400


class InvalidPasswordHash(AuthError):
    """The stored hash is not an Argon2id PHC string: a data problem."""

    code = "invalid_password_hash"
    public_message = "The stored password cannot be checked."
    status = 500


class PasskeyError(AuthError):
    """Every failure of a WebAuthn ceremony derives from this."""

    code = "passkey_error"
    public_message = "The passkey could not be verified."
    status = 400


class Throttled(AuthError):
    """Too many recent failures: try again after ``retry_after`` seconds."""

    code = "throttled"
    public_message = "Too many attempts. Please wait and try again."
    status = 429

    def __init__(self, reason: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.retry_after = max(1, int(-(-retry_after // 1)))


class StoreUnavailable(AuthError):
    """The store could not answer. Never treated as a valid session."""

    code = "store_unavailable"
    public_message = "The service is temporarily unavailable."
    status = 503


class UnsupportedByStore(AuthError):
    """The configured store lacks a method this feature needs."""

    code = "unsupported_by_store"
    public_message = "This operation is not available."
    status = 501

    def __init__(self, reason: str | None = None) -> None:
        # A wiring problem for the developer: the message names the methods.
        super().__init__(reason, public_message=reason)


class ConfigurationError(AuthError):
    """Keys, configuration or wiring are wrong. Raised at construction."""

    code = "configuration_error"
    public_message = "Authentication is misconfigured."
    status = 500

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason, public_message=reason)
