"""Audit events: what happened, to whom, from where. Never a secret.

The service calls its ``on_event`` hook (a callable; by default the
``secure_auth.audit`` logger at INFO) with an :class:`AuthEvent`. Events
carry ids, the client's IP and user agent, and a reason code; never a
password, a token, a hash or a key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuthEvent", "EventHook", "log_event"]

audit_logger = logging.getLogger("secure_auth.audit")

EVENT_TYPES = frozenset(
    {
        "login_succeeded",
        "login_failed",
        "session_created",
        "session_revoked",
        "refresh_rotated",
        "refresh_reuse_detected",
        "password_changed",
        "passkey_registered",
        "passkey_used",
        "passkey_deleted",
        "sign_count_regression",
        "throttled",
    }
)


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """One audit event. ``detail`` holds extra non-secret facts."""

    type: str
    at: float
    user_id: str | None = None
    session_id: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "at": self.at,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "reason": self.reason,
            "detail": dict(self.detail),
        }


EventHook = Callable[[AuthEvent], object]


def log_event(event: AuthEvent) -> None:
    """The default hook: one structured line on the ``secure_auth.audit`` logger."""
    audit_logger.info("%s", event.type, extra={"auth_event": event.to_json()})
