"""In-process store: tests and single-process apps. Nothing survives a restart."""

from __future__ import annotations

import dataclasses
import threading

from ..models import PasskeyCredential, SessionRecord

__all__ = ["MemorySessionStore", "MemoryStore"]


class MemoryStore:
    """Sessions, challenges and passkeys in dicts, behind one lock.

    Implements :class:`SessionStore`, :class:`ChallengeStore`,
    :class:`PasskeyStore` and :class:`ThrottleStore` (blocking form; the async
    service calls it directly, as every operation is a few dict operations).
    Expired throttle counters are swept every few thousand hits, so memory
    stays bounded by the counters of one window.
    """

    _SWEEP_EVERY = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionRecord] = {}
        self._by_user: dict[str, set[str]] = {}
        self._challenges: dict[str, tuple[str, float]] = {}
        self._passkeys: dict[str, PasskeyCredential] = {}
        self._throttle: dict[str, tuple[int, float]] = {}
        self._hits = 0

    def __repr__(self) -> str:
        return f"MemoryStore(sessions={len(self._sessions)})"

    # -- sessions ------------------------------------------------------------

    def save_session(self, record: SessionRecord) -> None:
        with self._lock:
            old = self._sessions.get(record.session_id)
            if old is not None and old.user_id != record.user_id:
                self._by_user.get(old.user_id, set()).discard(record.session_id)
            self._sessions[record.session_id] = record
            self._by_user.setdefault(record.user_id, set()).add(record.session_id)

    def get_session(self, session_id: str, now: float) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is None or record.expires_at <= now:
            return None
        return record

    def _drop(self, session_id: str) -> bool:
        record = self._sessions.pop(session_id, None)
        if record is None:
            return False
        ids = self._by_user.get(record.user_id)
        if ids is not None:
            ids.discard(session_id)
            if not ids:
                del self._by_user[record.user_id]
        return True

    def delete_session(self, session_id: str) -> None:
        with self._lock:
            self._drop(session_id)

    def rotate_refresh(self, session_id: str, expected_generation: int, now: float) -> bool:
        with self._lock:
            record = self._sessions.get(session_id)
            if (
                record is None
                or record.expires_at <= now
                or record.refresh_generation != expected_generation
            ):
                return False
            self._sessions[session_id] = dataclasses.replace(
                record,
                refresh_generation=expected_generation + 1,
                rotated_at=now,
                last_used_at=now,
            )
            return True

    def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        with self._lock:
            records = [self._sessions[sid] for sid in self._by_user.get(user_id, ())]
        live = [r for r in records if r.expires_at > now]
        return sorted(live, key=lambda r: (r.created_at, r.session_id))

    def delete_user_sessions(self, user_id: str, except_session_id: str | None = None) -> int:
        with self._lock:
            doomed = [s for s in self._by_user.get(user_id, ()) if s != except_session_id]
            for session_id in doomed:
                self._drop(session_id)
            return len(doomed)

    def purge_expired(self, now: float) -> int:
        """Drop expired sessions, challenges and counters; return how many sessions went."""
        with self._lock:
            doomed = [s for s, r in self._sessions.items() if r.expires_at <= now]
            for session_id in doomed:
                self._drop(session_id)
            for key in [k for k, (_, exp) in self._challenges.items() if exp <= now]:
                del self._challenges[key]
            for key in [k for k, (_, reset) in self._throttle.items() if reset <= now]:
                del self._throttle[key]
            return len(doomed)

    # -- challenges ----------------------------------------------------------

    def put_challenge(self, key: str, value: str, expires_at: float) -> None:
        with self._lock:
            self._challenges[key] = (value, expires_at)

    def pop_challenge(self, key: str, now: float) -> str | None:
        with self._lock:
            entry = self._challenges.pop(key, None)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    # -- passkeys ------------------------------------------------------------

    def save_passkey(self, credential: PasskeyCredential) -> bool:
        with self._lock:
            if credential.credential_id in self._passkeys:
                return False
            self._passkeys[credential.credential_id] = credential
            return True

    def get_passkey(self, credential_id: str) -> PasskeyCredential | None:
        return self._passkeys.get(credential_id)

    def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        with self._lock:
            creds = [c for c in self._passkeys.values() if c.user_id == user_id]
        return sorted(creds, key=lambda c: (c.created_at, c.credential_id))

    def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None:
        with self._lock:
            cred = self._passkeys.get(credential_id)
            if cred is not None:
                self._passkeys[credential_id] = dataclasses.replace(
                    cred, sign_count=sign_count, backup_state=backup_state, last_used_at=now
                )

    def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool:
        with self._lock:
            cred = self._passkeys.get(credential_id)
            if cred is None or cred.user_id != user_id:
                return False
            self._passkeys[credential_id] = dataclasses.replace(cred, label=label)
            return True

    def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        with self._lock:
            cred = self._passkeys.get(credential_id)
            if cred is None or cred.user_id != user_id:
                return False
            del self._passkeys[credential_id]
            return True

    # -- throttle counters ---------------------------------------------------

    def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]:
        with self._lock:
            self._hits += 1
            if self._hits % self._SWEEP_EVERY == 0:
                for stale in [k for k, (_, r) in self._throttle.items() if r <= now]:
                    del self._throttle[stale]
            entry = self._throttle.get(key)
            if entry is None or entry[1] <= now:
                entry = (amount, now + window)
            else:
                entry = (entry[0] + amount, entry[1])
            self._throttle[key] = entry
            return entry

    def throttle_get(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._throttle.get(key)
        if entry is None or entry[1] <= now:
            return None
        return entry

    def throttle_reset(self, key: str) -> None:
        with self._lock:
            self._throttle.pop(key, None)


MemorySessionStore = MemoryStore
