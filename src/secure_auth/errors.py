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
    │   ├── MalformedPasskeyResponse  (400) not JSON, a field missing or not base64url
    │   ├── PasskeyChallengeError     (400) challenge unknown, expired, used, or issued
    │   │                             for another ceremony or user
    │   ├── UnsafePasskeyKey          (400) registration: key off its curve, of small or
    │   │                             mixed order, too weak, or of an unsupported type
    │   ├── PasskeyAlreadyRegistered  (400) registration: the credential id is taken
    │   ├── InvalidPasskeyLabel       (400) empty, over-long or control characters
    │   ├── UnknownCredential         (401) no such passkey (or not this user's)
    │   ├── PasskeyUserMismatch       (401) passkey or userHandle of another user
    │   ├── PasskeyVerificationFailed (401) signature, origin, RP id, flags, attestation
    │   │   ├── CrossOriginPasskey    (401) ``crossOrigin: true`` and not allowed
    │   │   └── UserVerificationRequired (401) policy "required", the UV flag unset
    │   └── SignCountRegression       (401) the counter went backwards: a clone?
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
    "CrossOriginPasskey",
    "ExpiredToken",
    "InvalidCredentials",
    "InvalidPasskeyLabel",
    "InvalidPasswordHash",
    "InvalidToken",
    "MalformedPasskeyResponse",
    "PasskeyAlreadyRegistered",
    "PasskeyChallengeError",
    "PasskeyError",
    "PasskeyUserMismatch",
    "PasskeyVerificationFailed",
    "PasswordPolicyError",
    "RefreshReuseDetected",
    "SessionError",
    "SessionExpired",
    "SessionRevoked",
    "SignCountRegression",
    "StoreUnavailable",
    "Throttled",
    "TokenError",
    "UnknownCredential",
    "UnsafePasskeyKey",
    "UnsupportedByStore",
    "UserVerificationRequired",
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
        # Reasons quote client input (a passkey's origin, a content type): a
        # CR/LF in it must not forge a log line, so control characters are
        # escaped here, once for every log that prints a reason.
        self.reason = _printable(reason or self.code)
        if public_message is not None:
            self.public_message = public_message
        super().__init__(self.public_message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


def _printable(text: str) -> str:
    """``text`` with every non-printable character as its escape (``\\r``, ``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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


# -- passkeys (WebAuthn) -------------------------------------------------------
# ``reason`` says which check failed, for logs; the public message stays vague
# where detail would help an attacker, and is precise where it helps the user.


class MalformedPasskeyResponse(PasskeyError):
    """The browser's response is not the expected JSON: a field is missing,
    of the wrong type, not base64url, or the whole thing is too large."""

    code = "passkey_malformed"


class PasskeyChallengeError(PasskeyError):
    """The response's challenge is unknown, expired, already used, or was
    issued for another ceremony (registration vs. sign-in) or another user.

    Challenges are single-use: a replayed response always lands here.
    """

    code = "passkey_challenge_invalid"
    public_message = "The passkey request has expired or was already used. Please try again."


class UnsafePasskeyKey(PasskeyError):
    """Registration offered a public key that must not be trusted: an EC point
    off its curve, an Ed25519 key of small or mixed order, an RSA key that is
    too short, or a key type or algorithm we do not accept."""

    code = "passkey_unsafe_key"
    public_message = "This passkey cannot be used with this site."


class PasskeyAlreadyRegistered(PasskeyError):
    """Registration: a credential with this id is already stored (for this or
    for another user). Nothing was changed."""

    code = "passkey_already_registered"
    public_message = "This passkey is already registered."


class InvalidPasskeyLabel(PasskeyError):
    """A passkey label is empty, too long, or holds control characters."""

    code = "passkey_label_invalid"
    public_message = "The passkey name is not valid."


class UnknownCredential(PasskeyError):
    """No stored passkey has this credential id, or it is not the user's.

    Attributes:
        credential_id: the base64url id that was presented (not a secret).
    """

    code = "passkey_unknown_credential"
    public_message = "This passkey is not registered."
    status = 401

    def __init__(self, reason: str | None = None, *, credential_id: str | None = None) -> None:
        super().__init__(reason)
        self.credential_id = credential_id


class PasskeyUserMismatch(PasskeyError):
    """The passkey, or the ``userHandle`` the authenticator returned, belongs
    to another user than the one the ceremony was for."""

    code = "passkey_user_mismatch"
    status = 401


class PasskeyVerificationFailed(PasskeyError):
    """py_webauthn rejected the response: signature, origin, RP id, user
    presence, attestation statement, ceremony type or flags."""

    code = "passkey_verification_failed"
    status = 401


class CrossOriginPasskey(PasskeyVerificationFailed):
    """``clientDataJSON`` says ``crossOrigin: true`` (the ceremony ran in a
    cross-origin iframe) and ``passkey_allow_cross_origin`` is off."""

    code = "passkey_cross_origin"


class UserVerificationRequired(PasskeyVerificationFailed):
    """The policy is ``"required"`` but the authenticator did not verify the
    user (no PIN, no biometrics: the UV flag is unset)."""

    code = "passkey_user_verification_required"
    public_message = "This passkey did not verify you (PIN or biometrics). Please try again."


class SignCountRegression(PasskeyError):
    """A validly signed assertion reported a signature counter that did not
    go up from a non-zero stored value: the authenticator may have been
    cloned. Rejected and reported (event ``sign_count_regression``).

    Attributes:
        credential_id: the passkey's base64url id.
        stored_sign_count, received_sign_count: the two counter values.
    """

    code = "passkey_sign_count_regression"
    status = 401

    def __init__(
        self,
        reason: str | None = None,
        *,
        credential_id: str,
        stored_sign_count: int,
        received_sign_count: int,
    ) -> None:
        super().__init__(reason)
        self.credential_id = credential_id
        self.stored_sign_count = stored_sign_count
        self.received_sign_count = received_sign_count
