"""Throttling steps for the flows: check, count, lock out, forgive.

:class:`ThrottleFlows` is a mixin of :class:`~secure_auth._core.ServiceCore`.
Its generators yield store calls on the ``throttle`` store and audit events,
like every flow; the rules (scopes, keys, backoff) are the pure functions of
:mod:`secure_auth.throttle` and :class:`~secure_auth.config.ThrottleLimit`.

Two ways of counting, one per kind of endpoint:

* **Password attempts** are counted *before* Argon2 runs (``_throttle_attempt``)
  and a success gives its attempt back (``_throttle_forgive``). Counting
  first is what stops a burst of parallel guesses: each one takes a distinct
  count from the store's atomic increment, so the sixth concurrent guess is
  refused before any of the first five has finished hashing. A refused
  attempt costs no Argon2.
* **Refresh and passkey failures** are counted *after* they fail
  (``_throttle_failure``): those checks cost a signature verification, not a
  memory-hard hash, and a token or an assertion cannot be guessed anyway;
  the limit only stops a client that keeps presenting bad ones.

Either way, the attempt past a scope's budget starts a lockout (the ``:b``
counter, alive for the lockout), and every attempt during it is refused by
``_throttle_check`` with :class:`~secure_auth.errors.Throttled` and its
``retry_after``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import _core
from ._flow_host import FlowHost
from .errors import Throttled
from .throttle import ThrottleScope, parse_state, retry_after

if TYPE_CHECKING:
    from ._core import Flow

__all__ = ["ThrottleFlows"]

logger = logging.getLogger("secure_auth")


def _hit(key: str, window: float, now: float, amount: int = 1) -> _core.StoreCall:
    return _core.StoreCall("throttle", "throttle_hit", key, window, now, amount)


class ThrottleFlows(FlowHost):
    """The throttling steps. Mixed into ``ServiceCore``; not used directly."""

    _warned_no_ip = False

    def _warn_no_ip(self, operation: str) -> None:
        """Say once that an operation came without a client IP (so was not throttled)."""
        if self.config.throttle.enabled and not self._warned_no_ip:
            self._warned_no_ip = True
            logger.warning(
                "%s without ip_address: it is not throttled. Pass the client IP "
                "(secure_auth.clientip.client_ip) to every login, refresh and passkey call.",
                operation,
            )

    def _throttle_check(
        self,
        scopes: tuple[ThrottleScope, ...],
        now: float,
        *,
        operation: str,
        user_id: str | None,
        client: dict[str, str | None],
    ) -> Flow[None]:
        """Refuse the attempt if any scope is locked out.

        Raises:
            Throttled: a lockout is running; ``retry_after`` says until when.
        """
        for scope in scopes:
            state = yield _core.StoreCall("throttle", "throttle_get", scope.block_key, now)
            if state is None:
                continue
            _, reset_at = parse_state(state)
            wait = retry_after(reset_at, now)
            yield self._event(
                "throttled",
                user_id=user_id,
                reason=scope.name,
                **client,
                operation=operation,
                action="refused",
                retry_after=wait,
            )
            raise Throttled(f"{scope.name} locked out", retry_after=wait)

    def _throttle_lock(
        self,
        scope: ThrottleScope,
        count: int,
        window_end: float,
        now: float,
        *,
        operation: str,
        user_id: str | None,
        client: dict[str, str | None],
    ) -> Flow[float]:
        """Start (or join) the scope's lockout; return its ``retry_after``."""
        limit = scope.limit
        if count == limit.max_failures + 1:
            # Exactly one caller sees this count: it alone adds the strike.
            state = yield _hit(scope.strikes_key, self.config.throttle.strike_memory, now)
        else:
            state = yield _core.StoreCall("throttle", "throttle_get", scope.strikes_key, now)
        strikes = 1 if state is None else max(1, parse_state(state)[0])
        # Never shorter than the rest of the window the failures were counted in.
        duration = max(float(limit.lockout(strikes)), window_end - now)
        block = yield _hit(scope.block_key, duration, now)
        _, reset_at = parse_state(block)
        wait = retry_after(reset_at, now)
        yield self._event(
            "throttled",
            user_id=user_id,
            reason=scope.name,
            **client,
            operation=operation,
            action="locked",
            strikes=strikes,
            retry_after=wait,
        )
        return wait

    def _throttle_attempt(
        self,
        scopes: tuple[ThrottleScope, ...],
        now: float,
        *,
        operation: str,
        user_id: str | None,
        client: dict[str, str | None],
    ) -> Flow[None]:
        """Check the lockouts, then count this attempt in every scope, before any hash.

        Raises:
            Throttled: a lockout is running, or this attempt is one too many.
        """
        yield from self._throttle_check(
            scopes, now, operation=operation, user_id=user_id, client=client
        )
        for scope in scopes:
            state = yield _hit(scope.failures_key, scope.limit.window, now)
            count, window_end = parse_state(state)
            if count > scope.limit.max_failures:
                wait = yield from self._throttle_lock(
                    scope,
                    count,
                    window_end,
                    now,
                    operation=operation,
                    user_id=user_id,
                    client=client,
                )
                raise Throttled(f"{scope.name} limit reached", retry_after=wait)

    def _throttle_forgive(self, scopes: tuple[ThrottleScope, ...], now: float) -> Flow[None]:
        """A password attempt succeeded: give its attempt back.

        The account + IP scope is cleared (failures and strikes): the right
        password came from that place. Every other scope only gets this one
        attempt back, so an attacker cannot wash his IP's count clean by
        signing in to an account of his own between guesses. Counters of
        other IPs are never touched.
        """
        for scope in scopes:
            if scope.name == "account_ip":
                yield _core.StoreCall("throttle", "throttle_reset", scope.failures_key)
                yield _core.StoreCall("throttle", "throttle_reset", scope.strikes_key)
            else:
                yield _hit(scope.failures_key, scope.limit.window, now, -1)

    def _throttle_failure(
        self,
        scopes: tuple[ThrottleScope, ...],
        now: float,
        *,
        operation: str,
        user_id: str | None,
        client: dict[str, str | None],
    ) -> Flow[None]:
        """Count a failure that already happened (refresh, passkey).

        The failure that spends the budget starts the lockout; the caller
        raises its own error for this attempt, and the next one is refused.
        """
        for scope in scopes:
            state = yield _hit(scope.failures_key, scope.limit.window, now)
            count, window_end = parse_state(state)
            if count >= scope.limit.max_failures:
                yield from self._throttle_lock(
                    scope,
                    count + 1,
                    window_end,
                    now,
                    operation=operation,
                    user_id=user_id,
                    client=client,
                )
