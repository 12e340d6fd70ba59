"""Store protocols: what secure-auth needs from wherever sessions live.

A store is any object with these methods; nothing to inherit. Each protocol
exists in a blocking form (used by :class:`SyncAuthService`, and by
:class:`AuthService` as-is for in-process stores such as memory and SQLite)
and an ``async`` form (``Async...``) for network stores.

Rules every implementation follows (the contract suite in
``tests/contract/`` checks them):

* A missing record is ``None``, never an exception.
* Expiry is enforced on read: ``get_session``/``pop_challenge``/
  ``list_sessions`` never return a record whose ``expires_at <= now``.
* ``rotate_refresh`` and ``pop_challenge`` are atomic: among concurrent
  callers exactly one succeeds.
* ``throttle_hit`` is an atomic increment: N concurrent hits on one key
  leave the count N higher, and each caller sees a distinct count.
* A backend failure raises :class:`~secure_auth.errors.StoreUnavailable`
  (``raise ... from exc``), never a driver exception and never a result
  that could be taken for "valid".

Optional, on any session store (full or minimal, blocking or ``async``):
``new_session_id(user_id) -> str`` (:class:`SessionIdMinter`). When a store
has it, the service asks it for the id of every session it creates instead
of using :func:`secure_auth.sessions.new_session_id`; a store uses this to
put routing information in the id (the Redis store prefixes the user's hash
tag, so that a session lives in its user's Cluster slot and is still found
from its id alone). It must be a plain synchronous method, even on an
``async`` store, and do no I/O. The store must still accept any id in
``save_session`` (ids it did not make, such as those of an earlier version).

The minimal protocol is the Node package's three methods. It is enough for
login / validate / logout; refresh rotation, listing and ``logout_all``
need the full :class:`SessionStore`, and the service says which methods
are missing when it is constructed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from ..models import PasskeyCredential, SessionRecord

__all__ = [
    "AsyncChallengeStore",
    "AsyncMinimalSessionStore",
    "AsyncPasskeyStore",
    "AsyncSessionStore",
    "AsyncThrottleStore",
    "ChallengeStore",
    "MinimalSessionStore",
    "PasskeyStore",
    "SessionIdMinter",
    "SessionStore",
    "ThrottleStore",
]


@runtime_checkable
class MinimalSessionStore(Protocol):
    """The Node package's store: three methods, blocking form."""

    def save_session(self, session_id: str, user_id: str, expires_at: datetime) -> None: ...

    def is_session_valid(self, session_id: str) -> bool: ...

    def delete_session(self, session_id: str) -> None: ...


@runtime_checkable
class AsyncMinimalSessionStore(Protocol):
    """The Node package's store: three methods, ``async`` form."""

    async def save_session(self, session_id: str, user_id: str, expires_at: datetime) -> None: ...

    async def is_session_valid(self, session_id: str) -> bool: ...

    async def delete_session(self, session_id: str) -> None: ...


@runtime_checkable
class SessionStore(Protocol):
    """Everything sessions need, blocking form."""

    def save_session(self, record: SessionRecord) -> None:
        """Insert or replace the record (keyed by ``session_id``)."""

    def get_session(self, session_id: str, now: float) -> SessionRecord | None:
        """The record, or ``None`` when missing or ``expires_at <= now``."""

    def delete_session(self, session_id: str) -> None:
        """Delete the record; deleting a missing one is not an error."""

    def rotate_refresh(self, session_id: str, expected_generation: int, now: float) -> bool:
        """Atomic compare-and-set of the refresh state.

        When the live record has ``refresh_generation == expected_generation``
        set it to ``expected_generation + 1``, ``rotated_at = now`` and
        ``last_used_at = now``, and return ``True``; otherwise change nothing
        and return ``False``.
        """

    def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        """The user's live sessions, oldest first."""

    def delete_user_sessions(self, user_id: str, except_session_id: str | None = None) -> int:
        """Delete every session of the user but one; return how many went."""


@runtime_checkable
class AsyncSessionStore(Protocol):
    """Everything sessions need, ``async`` form (same rules)."""

    async def save_session(self, record: SessionRecord) -> None: ...

    async def get_session(self, session_id: str, now: float) -> SessionRecord | None: ...

    async def delete_session(self, session_id: str) -> None: ...

    async def rotate_refresh(
        self, session_id: str, expected_generation: int, now: float
    ) -> bool: ...

    async def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]: ...

    async def delete_user_sessions(
        self, user_id: str, except_session_id: str | None = None
    ) -> int: ...


@runtime_checkable
class SessionIdMinter(Protocol):
    """Optional hook: the store makes the ids of new sessions.

    Plain and synchronous on every store (``async`` ones too): the service
    calls it inline when it creates a session, so it must not do I/O.
    """

    def new_session_id(self, user_id: str) -> str:
        """A fresh session id for a session of ``user_id``.

        Rules (the service checks the shape and raises
        :class:`~secure_auth.errors.ConfigurationError` on anything else, so
        a broken hook creates no session):

        * At least 128 bits from :mod:`secrets` (``secrets.token_urlsafe(32)``
          gives 256), so ids cannot be guessed. Anything derived from the
          user (a tag, a prefix) comes *on top of* those bits.
        * URL-safe: only ``A-Z a-z 0-9 - _ . ~``; it travels in JWT claims,
          cookies and logs.
        * 22 to 128 characters.
        * Pure: the same store instance may be asked from many threads and
          tasks at once.
        """
        ...


@runtime_checkable
class ChallengeStore(Protocol):
    """Single-use values with a lifetime (WebAuthn challenges), blocking form."""

    def put_challenge(self, key: str, value: str, expires_at: float) -> None:
        """Store ``value`` under ``key`` until ``expires_at``."""

    def pop_challenge(self, key: str, now: float) -> str | None:
        """Atomically remove and return the value; ``None`` if missing/expired."""


@runtime_checkable
class AsyncChallengeStore(Protocol):
    async def put_challenge(self, key: str, value: str, expires_at: float) -> None: ...

    async def pop_challenge(self, key: str, now: float) -> str | None: ...


@runtime_checkable
class PasskeyStore(Protocol):
    """WebAuthn credentials, blocking form. Mutations are scoped by user."""

    def save_passkey(self, credential: PasskeyCredential) -> bool:
        """Insert if no credential has this id (across all users).

        Returns ``False``, changing nothing, when the id is taken.
        """

    def get_passkey(self, credential_id: str) -> PasskeyCredential | None: ...

    def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        """The user's credentials, oldest first."""

    def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None:
        """Record a successful assertion: counter, backup state, last use."""

    def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool:
        """Set the label if the credential belongs to ``user_id``."""

    def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        """Delete if the credential belongs to ``user_id``; ``True`` if deleted."""


@runtime_checkable
class AsyncPasskeyStore(Protocol):
    async def save_passkey(self, credential: PasskeyCredential) -> bool: ...

    async def get_passkey(self, credential_id: str) -> PasskeyCredential | None: ...

    async def list_passkeys(self, user_id: str) -> list[PasskeyCredential]: ...

    async def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None: ...

    async def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool: ...

    async def delete_passkey(self, user_id: str, credential_id: str) -> bool: ...


@runtime_checkable
class ThrottleStore(Protocol):
    """Failure counters for throttling, blocking form.

    A counter is ``(count, reset_at)``: a fixed window that starts with the
    first hit and ends at ``reset_at``. The service derives every key
    (opaque ASCII, at most 64 characters); the store only counts.
    """

    def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]:
        """Atomically add ``amount`` (may be negative) and return ``(count, reset_at)``.

        A missing counter, or one whose ``reset_at <= now``, starts anew:
        ``count = amount``, ``reset_at = now + window``. A live counter keeps
        its ``reset_at``: more hits never extend the window.
        """

    def throttle_get(self, key: str, now: float) -> tuple[int, float] | None:
        """``(count, reset_at)``, or ``None`` when missing or ``reset_at <= now``."""

    def throttle_reset(self, key: str) -> None:
        """Delete the counter; deleting a missing one is not an error."""


@runtime_checkable
class AsyncThrottleStore(Protocol):
    """Failure counters for throttling, ``async`` form (same rules)."""

    async def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]: ...

    async def throttle_get(self, key: str, now: float) -> tuple[int, float] | None: ...

    async def throttle_reset(self, key: str) -> None: ...
