"""secure-auth: Argon2id passwords, Ed25519 session-bound JWTs, rotating
refresh tokens, WebAuthn passkeys, for any Python web framework."""

from __future__ import annotations

from .config import AuthConfig, ThrottleConfig, ThrottleLimit
from .errors import (
    AuthError,
    ConfigurationError,
    ExpiredToken,
    InvalidCredentials,
    InvalidPasswordHash,
    InvalidToken,
    PasskeyError,
    PasswordPolicyError,
    RefreshReuseDetected,
    SessionError,
    SessionExpired,
    SessionRevoked,
    StoreUnavailable,
    Throttled,
    TokenError,
    UnsupportedByStore,
)
from .events import AuthEvent
from .keys import KeySet, generate_keypair, load_private_key, load_public_key, write_keypair
from .models import AuthTokens, PasskeyCredential, SessionInfo, SessionRecord, TokenClaims
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
    "ExpiredToken",
    "InvalidCredentials",
    "InvalidPasswordHash",
    "InvalidToken",
    "KeySet",
    "MemorySessionStore",
    "MemoryStore",
    "PasskeyCredential",
    "PasskeyError",
    "PasswordPolicyError",
    "RefreshReuseDetected",
    "SQLiteSessionStore",
    "SQLiteStore",
    "SessionError",
    "SessionExpired",
    "SessionInfo",
    "SessionRecord",
    "SessionRevoked",
    "StoreUnavailable",
    "SyncAuthService",
    "ThrottleConfig",
    "ThrottleLimit",
    "Throttled",
    "TokenClaims",
    "TokenError",
    "UnsupportedByStore",
    "generate_keypair",
    "load_private_key",
    "load_public_key",
    "write_keypair",
]
