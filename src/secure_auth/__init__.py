"""secure-auth: Argon2id passwords, Ed25519 session-bound JWTs, rotating
refresh tokens, WebAuthn passkeys, for any Python web framework."""

from __future__ import annotations

from .config import AuthConfig, ThrottleConfig, ThrottleLimit
from .errors import (
    AuthError,
    ConfigurationError,
    CrossOriginPasskey,
    ExpiredToken,
    InvalidCredentials,
    InvalidPasskeyLabel,
    InvalidPasswordHash,
    InvalidToken,
    MalformedPasskeyResponse,
    PasskeyAlreadyRegistered,
    PasskeyChallengeError,
    PasskeyError,
    PasskeyUserMismatch,
    PasskeyVerificationFailed,
    PasswordPolicyError,
    RefreshReuseDetected,
    SessionError,
    SessionExpired,
    SessionRevoked,
    SignCountRegression,
    StoreUnavailable,
    Throttled,
    TokenError,
    UnknownCredential,
    UnsafePasskeyKey,
    UnsupportedByStore,
    UserVerificationRequired,
)
from .events import AuthEvent
from .keys import KeySet, generate_keypair, load_private_key, load_public_key, write_keypair
from .models import AuthTokens, PasskeyCredential, SessionInfo, SessionRecord, TokenClaims
from .passkeys import PasskeyVerification
from .service import AuthService
from .stores import MemorySessionStore, MemoryStore, SQLiteSessionStore, SQLiteStore
from .sync import SyncAuthService

__version__ = "0.1.0"

__all__ = [
    "AuthConfig",
    "AuthError",
    "AuthEvent",
    "AuthService",
    "AuthTokens",
    "ConfigurationError",
    "CrossOriginPasskey",
    "ExpiredToken",
    "InvalidCredentials",
    "InvalidPasskeyLabel",
    "InvalidPasswordHash",
    "InvalidToken",
    "KeySet",
    "MalformedPasskeyResponse",
    "MemorySessionStore",
    "MemoryStore",
    "PasskeyAlreadyRegistered",
    "PasskeyChallengeError",
    "PasskeyCredential",
    "PasskeyError",
    "PasskeyUserMismatch",
    "PasskeyVerification",
    "PasskeyVerificationFailed",
    "PasswordPolicyError",
    "RefreshReuseDetected",
    "SQLiteSessionStore",
    "SQLiteStore",
    "SessionError",
    "SessionExpired",
    "SessionInfo",
    "SessionRecord",
    "SessionRevoked",
    "SignCountRegression",
    "StoreUnavailable",
    "SyncAuthService",
    "ThrottleConfig",
    "ThrottleLimit",
    "Throttled",
    "TokenClaims",
    "TokenError",
    "UnknownCredential",
    "UnsafePasskeyKey",
    "UnsupportedByStore",
    "UserVerificationRequired",
    "generate_keypair",
    "load_private_key",
    "load_public_key",
    "write_keypair",
]
