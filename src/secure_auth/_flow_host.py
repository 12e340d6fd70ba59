"""What the flow mixins use from ``ServiceCore``, declared once for type checkers.

``ThrottleFlows`` and ``PasskeyFlows`` are mixed into
:class:`~secure_auth._core.ServiceCore`, which provides these attributes. At run
time this class is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._core import Callback
    from .config import AuthConfig

__all__ = ["FlowHost"]


class FlowHost:
    """Base of the flow mixins: ``config``, ``_clock`` and ``_event`` come from ServiceCore."""

    if TYPE_CHECKING:
        config: AuthConfig
        _clock: Callable[[], float]

        def _event(
            self,
            type_: str,
            *,
            user_id: str | None = None,
            session_id: str | None = None,
            ip_address: str | None = None,
            user_agent: str | None = None,
            reason: str | None = None,
            **detail: Any,
        ) -> Callback: ...
