"""The plain records secure-auth hands out and persists.

Each has a documented JSON form (``to_json`` / ``from_json``): times are Unix
seconds as numbers, ids are strings.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuthTokens", "PasskeyCredential", "SessionInfo", "SessionRecord", "TokenClaims"]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session as the store keeps it.

    ``session_id, user_id, created_at, expires_at`` are the Node package's
    table; the rest serves rotation (``refresh_generation``, ``rotated_at``),
    idle timeout and management (``last_used_at``, ``auth_method``,
    ``user_agent``, ``ip_address``).
    """

    session_id: str
    user_id: str
    created_at: float
    expires_at: float
    last_used_at: float
    refresh_generation: int = 0
    rotated_at: float | None = None
    auth_method: str = "password"
    user_agent: str | None = None
    ip_address: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified claims of a token (signature and clock checked)."""

    user_id: str
    session_id: str
    issued_at: float
    expires_at: float
    token_id: str
    issuer: str
    audience: str | list[str] | None = None
    refresh_generation: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What ``validate_session`` returns for a live session.

    ``auth_method``, ``session_expires_at`` and ``created_at`` come from the
    store; with a minimal (three-method) store they are ``None``.
    """

    user_id: str
    session_id: str
    token_expires_at: float
    session_expires_at: float | None = None
    created_at: float | None = None
    auth_method: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class AuthTokens:
    """A fresh token pair. The tokens are secrets: they stay out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    session_id: str
    user_id: str
    access_expires_at: float
    refresh_expires_at: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class PasskeyCredential:
    """A WebAuthn credential as the store keeps it.

    JSON form: bytes fields are base64url strings without padding.
    ``credential_id`` is already the base64url form of the raw id.
    ``user_handle`` is random per user (never the application's user id).
    """

    credential_id: str
    user_id: str
    user_handle: str
    public_key: bytes = field(repr=False)
    sign_count: int
    transports: tuple[str, ...] = ()
    aaguid: str = ""
    backup_eligible: bool = False
    backup_state: bool = False
    created_at: float = 0.0
    last_used_at: float | None = None
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["public_key"] = _b64u(self.public_key)
        data["transports"] = list(self.transports)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PasskeyCredential:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["public_key"] = _b64u_decode(values["public_key"])
        values["transports"] = tuple(values.get("transports") or ())
        return cls(**values)


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
