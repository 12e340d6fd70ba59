"""One frozen configuration object for everything secure-auth decides."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Literal

from argon2.profiles import RFC_9106_LOW_MEMORY

from .errors import ConfigurationError

__all__ = ["AuthConfig", "ThrottleConfig", "ThrottleLimit"]

UserVerification = Literal["required", "preferred", "discouraged"]
ResidentKey = Literal["required", "preferred", "discouraged"]
Attestation = Literal["none", "direct", "indirect", "enterprise"]


@dataclass(frozen=True, slots=True)
class ThrottleLimit:
    """One failure budget: ``max_failures`` per ``window`` seconds.

    The attempt after the budget is spent is refused (:class:`Throttled`)
    and starts a lockout of ``window`` seconds, doubled on each further
    lockout of the same key within ``ThrottleConfig.strike_memory``, and
    capped at ``max_lockout``. A lockout never ends before the window it
    was counted in, so the budget really is ``max_failures`` per ``window``.
    """

    max_failures: int
    window: int
    max_lockout: int

    def __post_init__(self) -> None:
        for name in ("max_failures", "window", "max_lockout"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigurationError(f"ThrottleLimit.{name} must be a positive integer")
        if self.max_lockout < self.window:
            raise ConfigurationError("ThrottleLimit.max_lockout must be at least the window")

    def lockout(self, strikes: int) -> int:
        """Seconds of the ``strikes``-th lockout: window, 2x, 4x... capped."""
        exponent = min(max(strikes, 1) - 1, 30)
        return min(self.window * (1 << exponent), self.max_lockout)


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """Login throttling (docs/security.md, "Throttling").

    Failures are counted per **account and client IP** and per **client IP**,
    never per account alone: an attacker who knows a user name cannot lock
    its owner out from the owner's own network.

    Attributes:
        enabled: ``False`` turns every limit off.
        account_ip: password failures per account + IP (5 per 5 min;
            lockouts double up to 1 h).
        ip: password failures per IP, whatever the account (30 per min;
            lockouts double up to 15 min).
        refresh_ip: failed refreshes per IP (30 per min, up to 15 min).
        passkey_ip: failed passkey assertions per IP (30 per min, up to 15 min).
        strike_memory: how long earlier lockouts of a key count for the
            doubling (24 h).
        ipv6_prefix: IPv6 clients are counted by this prefix (a /64 is one
            subscriber's LAN; counting single addresses would give an
            attacker 2**64 budgets).
    """

    enabled: bool = True
    account_ip: ThrottleLimit = field(default_factory=lambda: ThrottleLimit(5, 300, 3600))
    ip: ThrottleLimit = field(default_factory=lambda: ThrottleLimit(30, 60, 900))
    refresh_ip: ThrottleLimit = field(default_factory=lambda: ThrottleLimit(30, 60, 900))
    passkey_ip: ThrottleLimit = field(default_factory=lambda: ThrottleLimit(30, 60, 900))
    strike_memory: int = 24 * 3600
    ipv6_prefix: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.strike_memory, int) or self.strike_memory <= 0:
            raise ConfigurationError("ThrottleConfig.strike_memory must be a positive integer")
        if not 1 <= self.ipv6_prefix <= 128:
            raise ConfigurationError("ThrottleConfig.ipv6_prefix must be within 1..128")

    def replace(self, **changes: object) -> ThrottleConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


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
        throttle: failure limits for login, refresh and passkeys
            (:class:`ThrottleConfig`).
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
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)

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
        if not isinstance(self.throttle, ThrottleConfig):
            raise ConfigurationError("throttle must be a ThrottleConfig")

    def replace(self, **changes: object) -> AuthConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def effective_hash_concurrency(self) -> int:
        return self.hash_concurrency or os.cpu_count() or 1
