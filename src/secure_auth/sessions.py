"""Pure session rules: ids, lifetimes, validation and refresh decisions.

Nothing here does I/O or reads the clock; both faces of the service call
these functions, so each rule is written exactly once.
"""

from __future__ import annotations

import enum
import re
import secrets

from .config import AuthConfig
from .errors import (
    ConfigurationError,
    InvalidToken,
    SessionExpired,
    SessionRevoked,
    StoreUnavailable,
)
from .models import SessionRecord, TokenClaims

__all__ = [
    "RefreshDecision",
    "check_session",
    "check_store_session_id",
    "decide_refresh",
    "new_session",
    "new_session_id",
    "token_expiries",
]


def new_session_id() -> str:
    """256 random bits from ``secrets``, URL-safe (43 characters).

    The default; a store may mint its own ids instead (``new_session_id(user_id)``,
    see :mod:`secure_auth.stores.base`), which the service checks with
    :func:`check_store_session_id`.
    """
    return secrets.token_urlsafe(32)


# What a store-made session id may look like: RFC 3986 unreserved characters
# (safe in URLs, cookies, JWT claims and log lines), 22 to 128 of them. Fewer
# than 22 such characters cannot hold the 128 random bits the rule asks for.
_STORE_SESSION_ID = re.compile(r"[A-Za-z0-9._~-]{22,128}")


def check_store_session_id(value: object, store_name: str) -> str:
    """The id a store's ``new_session_id`` returned, if it is well-formed.

    Raises:
        ConfigurationError: not a ``str`` of 22 to 128 characters from
            ``[A-Za-z0-9._~-]``: the store is broken, no session is created.
    """
    if type(value) is not str or not _STORE_SESSION_ID.fullmatch(value):
        shown = repr(value) if type(value) is not str else f"{len(value)} characters"
        raise ConfigurationError(
            f"{store_name}.new_session_id() must return a str of 22 to 128 characters "
            f"from [A-Za-z0-9._~-]; it returned {type(value).__name__} ({shown[:80]})"
        )
    return value


def new_session(
    user_id: str,
    now: float,
    config: AuthConfig,
    *,
    session_id: str | None = None,
    auth_method: str = "password",
    user_agent: str | None = None,
    ip_address: str | None = None,
) -> SessionRecord:
    return SessionRecord(
        session_id=new_session_id() if session_id is None else session_id,
        user_id=user_id,
        created_at=now,
        expires_at=now + config.session_max_age,
        last_used_at=now,
        refresh_generation=0,
        rotated_at=None,
        auth_method=auth_method,
        user_agent=_clip(user_agent),
        ip_address=_clip(ip_address, 64),
    )


def _clip(value: str | None, limit: int = 512) -> str | None:
    return None if value is None else value[:limit]


def token_expiries(record_expires_at: float, now: float, config: AuthConfig) -> tuple[float, float]:
    """(access exp, refresh exp): their lifetimes, capped by the session's."""
    return (
        min(now + config.access_token_ttl, record_expires_at),
        min(now + config.refresh_token_ttl, record_expires_at),
    )


def check_session(
    record: SessionRecord | None, claims: TokenClaims, now: float, config: AuthConfig
) -> SessionRecord:
    """The session behind a verified token must exist, match and be alive.

    Raises:
        SessionRevoked: no such session (logged out, revoked, purged).
        StoreUnavailable: the store returned something else than a record.
        InvalidToken: the session belongs to another user than ``sub``.
        SessionExpired: absolute lifetime or idle timeout passed.
    """
    if record is None:
        raise SessionRevoked("session not found")
    if not isinstance(record, SessionRecord):
        raise StoreUnavailable("the store returned something that is not a SessionRecord")
    if record.user_id != claims.user_id:
        raise InvalidToken("token 'sub' does not match the session's user")
    if record.expires_at <= now:
        raise SessionExpired("session past its absolute lifetime")
    if config.idle_timeout is not None and record.last_used_at + config.idle_timeout <= now:
        raise SessionExpired("session idle for too long")
    return record


class RefreshDecision(enum.Enum):
    """What to do with a presented refresh token of generation ``g``."""

    ROTATE = "rotate"  # g is current: compare-and-set to g + 1, issue g + 1
    GRACE = "grace"  # g is the previous one, rotated moments ago: re-issue current
    REPLAY = "replay"  # g is older, or previous beyond the grace window: theft


def decide_refresh(
    record: SessionRecord, generation: int, now: float, config: AuthConfig
) -> RefreshDecision:
    """The rotation rule (docs/architecture.md, "Refresh rotation").

    With ``G`` the stored generation and ``R`` the time it was set:

    * ``g == G``: rotate.
    * ``g == G - 1`` and ``now - R <= grace``: a concurrent duplicate (two
      tabs sent the same cookie); answer with tokens of generation ``G``
      without changing the store, so nobody is logged out.
    * anything else (older, or previous after the window): replay; the
      caller revokes the session.

    Raises:
        InvalidToken: ``g > G`` (a generation never issued).
    """
    current = record.refresh_generation
    if generation == current:
        return RefreshDecision.ROTATE
    if generation > current:
        raise InvalidToken("refresh generation from the future")
    if (
        generation == current - 1
        and record.rotated_at is not None
        and now - record.rotated_at <= config.refresh_grace_period
    ):
        return RefreshDecision.GRACE
    return RefreshDecision.REPLAY
