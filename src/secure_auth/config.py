"""One frozen configuration object for everything secure-auth decides."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Literal

from argon2.profiles import RFC_9106_LOW_MEMORY

from .errors import ConfigurationError

__all__ = ["AuthConfig"]

UserVerification = Literal["required", "preferred", "discouraged"]
ResidentKey = Literal["required", "preferred", "discouraged"]
Attestation = Literal["none", "direct", "indirect", "enterprise"]


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Every tunable of secure-auth, with safe defaults.

    Durations are in seconds. Build a variant with :meth:`replace`.

    Attributes:
        issuer: the ``iss`` claim written and required.
        audience: the ``aud`` claim written and required; ``None`` = no
            ``aud`` written, and a token carrying one is rejected.
        algorithm: ``"EdDSA"`` (what every JOSE library knows) or
            ``"Ed25519"`` (RFC 9864). Both names are accepted on input.
        access_token_ttl: access token lifetime (15 min).
        refresh_token_ttl: refresh token lifetime (7 days).
        session_max_age: absolute session lifetime (30 days).
        idle_timeout: end a session when it was not refreshed for this long;
            ``None`` (default) = off. Measured from the last login/refresh.
        refresh_grace_period: how long the previous refresh token stays
            usable after a rotation, so two tabs racing do not log the user
            out (see docs/architecture.md, "Refresh rotation").
        leeway: clock skew allowed on ``exp``/``nbf``/``iat``.
        max_token_bytes: tokens longer than this are rejected unparsed.
        token_cache_size: entries in the verified-signature cache; 0 = off.
        password_max_length: longest password accepted (characters, after
            NFKC normalisation).
        argon2_time_cost, argon2_memory_cost (KiB), argon2_parallelism,
        argon2_hash_len, argon2_salt_len: Argon2id parameters; defaults are
            argon2-cffi's RFC 9106 low-memory profile.
        hash_concurrency: Argon2 computations at once (async and sync faces
            alike); ``None`` = the CPU count. Bounds memory under load.
        rp_id, rp_name, expected_origins: WebAuthn relying party.
        passkey_user_verification, passkey_resident_key, passkey_attestation:
            WebAuthn policies.
        passkey_allow_cross_origin: accept ``crossOrigin: true`` assertions.
        challenge_ttl: lifetime of a WebAuthn challenge.
    """

    issuer: str = "secure-auth"
    audience: str | None = None
    algorithm: Literal["EdDSA", "Ed25519"] = "EdDSA"
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 7 * 24 * 3600
    session_max_age: int = 30 * 24 * 3600
    idle_timeout: int | None = None
    refresh_grace_period: float = 5.0
    leeway: int = 0
    max_token_bytes: int = 4096
    token_cache_size: int = 4096
    password_max_length: int = 1024
    argon2_time_cost: int = RFC_9106_LOW_MEMORY.time_cost
    argon2_memory_cost: int = RFC_9106_LOW_MEMORY.memory_cost
    argon2_parallelism: int = RFC_9106_LOW_MEMORY.parallelism
    argon2_hash_len: int = RFC_9106_LOW_MEMORY.hash_len
    argon2_salt_len: int = RFC_9106_LOW_MEMORY.salt_len
    hash_concurrency: int | None = None
    rp_id: str = "localhost"
    rp_name: str = "secure-auth"
    expected_origins: tuple[str, ...] = ("http://localhost:8000",)
    passkey_user_verification: UserVerification = "preferred"
    passkey_resident_key: ResidentKey = "preferred"
    passkey_attestation: Attestation = "none"
    passkey_allow_cross_origin: bool = False
    challenge_ttl: int = 300

    def __post_init__(self) -> None:
        if self.algorithm not in ("EdDSA", "Ed25519"):
            raise ConfigurationError("algorithm must be 'EdDSA' or 'Ed25519'")
        positive = {
            "access_token_ttl": self.access_token_ttl,
            "refresh_token_ttl": self.refresh_token_ttl,
            "session_max_age": self.session_max_age,
            "max_token_bytes": self.max_token_bytes,
            "password_max_length": self.password_max_length,
            "challenge_ttl": self.challenge_ttl,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive integer")
        if self.idle_timeout is not None and self.idle_timeout <= 0:
            raise ConfigurationError("idle_timeout must be positive or None")
        if self.refresh_grace_period < 0 or self.leeway < 0 or self.token_cache_size < 0:
            raise ConfigurationError(
                "refresh_grace_period, leeway and token_cache_size must not be negative"
            )
        if self.hash_concurrency is not None and self.hash_concurrency < 1:
            raise ConfigurationError("hash_concurrency must be at least 1")
        if not self.issuer:
            raise ConfigurationError("issuer must not be empty")

    def replace(self, **changes: object) -> AuthConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def effective_hash_concurrency(self) -> int:
        return self.hash_concurrency or os.cpu_count() or 1
