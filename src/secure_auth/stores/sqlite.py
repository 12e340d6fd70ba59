"""The embedded default store: stdlib ``sqlite3`` in WAL mode.

One connection per store object, serialised by a lock: SQLite serialises
writers anyway, and a primary-key read takes microseconds, so the async
service calls it directly without a thread hop. The schema is created on
first use and versioned in ``secure_auth_meta`` for later migrations.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StoreUnavailable
from ..models import PasskeyCredential, SessionRecord

__all__ = ["DEFAULT_DATABASE", "SCHEMA_VERSION", "SQLiteSessionStore", "SQLiteStore"]

DEFAULT_DATABASE = Path(".secure-auth") / "sessions.db"
SCHEMA_VERSION = 2
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS secure_auth_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    last_used_at REAL NOT NULL,
    refresh_generation INTEGER NOT NULL DEFAULT 0,
    rotated_at REAL,
    auth_method TEXT NOT NULL DEFAULT 'password',
    user_agent TEXT,
    ip_address TEXT
);
CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS challenges (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS passkeys (
    credential_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sign_count INTEGER NOT NULL,
    transports TEXT NOT NULL,
    aaguid TEXT NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backup_state INTEGER NOT NULL,
    created_at REAL NOT NULL,
    last_used_at REAL,
    label TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passkeys_user_id ON passkeys (user_id);
"""

# Version n+1 is reached from version n by running _MIGRATIONS[n + 1].
_THROTTLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS throttle (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    reset_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS throttle_reset_at ON throttle (reset_at);
"""
_MIGRATIONS = {2: _THROTTLE_SCHEMA}

_SESSION_COLUMNS = (
    "session_id, user_id, created_at, expires_at, last_used_at, refresh_generation, "
    "rotated_at, auth_method, user_agent, ip_address"
)
_PASSKEY_COLUMNS = (
    "credential_id, user_id, user_handle, public_key, sign_count, transports, aaguid, "
    "backup_eligible, backup_state, created_at, last_used_at, label"
)


def _describe(exc: sqlite3.Error, timeout: float) -> str:
    """A reason an operator can act on: read-only and locked are named as such."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return (
            f"sqlite: the database is read-only ({name or text}); secure-auth needs write "
            "access to the file, its folder and its -wal/-shm files"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return (
            f"sqlite: the database is locked by another connection or process "
            f"({name or text}; waited {timeout:g} s)"
        )
    return f"sqlite: {type(exc).__name__}: {text}"


def _session(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(*row)


def _passkey(row: tuple[Any, ...]) -> PasskeyCredential:
    (cid, uid, handle, key, count, transports, aaguid, be, bs, created, used, label) = row
    return PasskeyCredential(
        credential_id=cid,
        user_id=uid,
        user_handle=handle,
        public_key=bytes(key),
        sign_count=count,
        transports=tuple(json.loads(transports)),
        aaguid=aaguid,
        backup_eligible=bool(be),
        backup_state=bool(bs),
        created_at=created,
        last_used_at=used,
        label=label,
    )


class SQLiteStore:
    """Sessions, challenges, passkeys and throttle counters in one SQLite file.

    Args:
        path: the database file (created with its folder, mode 0600); the
            default is ``.secure-auth/sessions.db``. ``":memory:"`` works too.
        timeout: seconds to wait for a lock held by another process.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_DATABASE, *, timeout: float = 5.0):
        self.path = path
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore(path={os.fspath(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        path = os.fspath(self.path)
        if path != ":memory:":
            folder = Path(path).parent
            folder.mkdir(parents=True, exist_ok=True)
            if not Path(path).exists():
                Path(path).touch(mode=0o600)
        conn = sqlite3.connect(
            path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            row = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='secure_auth_meta'"
            ).fetchone()
            if row is None:
                conn.executescript(_SCHEMA + _THROTTLE_SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO secure_auth_meta (key, value) VALUES (?, ?)",
                    ("schema_version", str(SCHEMA_VERSION)),
                )
            version = conn.execute(
                "SELECT value FROM secure_auth_meta WHERE key='schema_version'"
            ).fetchone()
            if version is None or int(version[0]) > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"database schema version {version and version[0]!r} is newer than "
                    f"this secure-auth ({SCHEMA_VERSION})"
                )
            for target in range(int(version[0]) + 1, SCHEMA_VERSION + 1):
                conn.executescript(
                    f"BEGIN IMMEDIATE; {_MIGRATIONS[target]}"
                    f"UPDATE secure_auth_meta SET value = '{target}' "
                    "WHERE key = 'schema_version'; COMMIT;"
                )
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreUnavailable(_describe(exc, self._timeout)) from exc

    def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._db() as conn:
            return fn(conn)

    def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn`` in an IMMEDIATE transaction (one writer, no upgrade races)."""
        with self._db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- sessions ------------------------------------------------------------

    def save_session(self, record: SessionRecord) -> None:
        self._run(
            lambda c: c.execute(
                f"INSERT OR REPLACE INTO sessions ({_SESSION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.session_id,
                    record.user_id,
                    record.created_at,
                    record.expires_at,
                    record.last_used_at,
                    record.refresh_generation,
                    record.rotated_at,
                    record.auth_method,
                    record.user_agent,
                    record.ip_address,
                ),
            )
        )

    def get_session(self, session_id: str, now: float) -> SessionRecord | None:
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id = ? AND expires_at > ?",
                (session_id, now),
            ).fetchone()
        )
        return None if row is None else _session(row)

    def delete_session(self, session_id: str) -> None:
        self._run(lambda c: c.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,)))

    def rotate_refresh(self, session_id: str, expected_generation: int, now: float) -> bool:
        cursor = self._run(
            lambda c: c.execute(
                "UPDATE sessions SET refresh_generation = ?, rotated_at = ?, last_used_at = ? "
                "WHERE session_id = ? AND refresh_generation = ? AND expires_at > ?",
                (expected_generation + 1, now, now, session_id, expected_generation, now),
            )
        )
        return cursor.rowcount == 1

    def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE user_id = ? AND expires_at > ? "
                "ORDER BY created_at, session_id",
                (user_id, now),
            ).fetchall()
        )
        return [_session(r) for r in rows]

    def delete_user_sessions(self, user_id: str, except_session_id: str | None = None) -> int:
        cursor = self._run(
            lambda c: c.execute(
                "DELETE FROM sessions WHERE user_id = ? AND session_id IS NOT ?",
                (user_id, except_session_id),
            )
        )
        return cursor.rowcount

    def purge_expired(self, now: float) -> int:
        """Delete expired sessions and challenges; return how many sessions went."""

        def purge(c: sqlite3.Connection) -> int:
            count = c.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount
            c.execute("DELETE FROM challenges WHERE expires_at <= ?", (now,))
            c.execute("DELETE FROM throttle WHERE reset_at <= ?", (now,))
            return count

        return self._write(purge)

    # -- challenges ----------------------------------------------------------

    def put_challenge(self, key: str, value: str, expires_at: float) -> None:
        self._run(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO challenges (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, expires_at),
            )
        )

    def pop_challenge(self, key: str, now: float) -> str | None:
        row = self._run(
            lambda c: c.execute(
                "DELETE FROM challenges WHERE key = ? RETURNING value, expires_at", (key,)
            ).fetchone()
        )
        if row is None or row[1] <= now:
            return None
        return str(row[0])

    # -- passkeys ------------------------------------------------------------

    def save_passkey(self, credential: PasskeyCredential) -> bool:
        c = credential
        cursor = self._run(
            lambda conn: conn.execute(
                f"INSERT OR IGNORE INTO passkeys ({_PASSKEY_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c.credential_id,
                    c.user_id,
                    c.user_handle,
                    c.public_key,
                    c.sign_count,
                    json.dumps(list(c.transports)),
                    c.aaguid,
                    int(c.backup_eligible),
                    int(c.backup_state),
                    c.created_at,
                    c.last_used_at,
                    c.label,
                ),
            )
        )
        return cursor.rowcount == 1

    def get_passkey(self, credential_id: str) -> PasskeyCredential | None:
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?",
                (credential_id,),
            ).fetchone()
        )
        return None if row is None else _passkey(row)

    def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {_PASSKEY_COLUMNS} FROM passkeys WHERE user_id = ? "
                "ORDER BY created_at, credential_id",
                (user_id,),
            ).fetchall()
        )
        return [_passkey(r) for r in rows]

    def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None:
        self._run(
            lambda c: c.execute(
                "UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ? "
                "WHERE credential_id = ?",
                (sign_count, int(backup_state), now, credential_id),
            )
        )

    def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool:
        cursor = self._run(
            lambda c: c.execute(
                "UPDATE passkeys SET label = ? WHERE credential_id = ? AND user_id = ?",
                (label, credential_id, user_id),
            )
        )
        return cursor.rowcount == 1

    def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        cursor = self._run(
            lambda c: c.execute(
                "DELETE FROM passkeys WHERE credential_id = ? AND user_id = ?",
                (credential_id, user_id),
            )
        )
        return cursor.rowcount == 1

    # -- throttle counters ---------------------------------------------------

    def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]:
        # One statement, so atomic: a live counter grows, an expired one restarts.
        row = self._run(
            lambda c: c.execute(
                "INSERT INTO throttle (key, count, reset_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET "
                "count = CASE WHEN reset_at <= ? THEN excluded.count "
                "ELSE count + excluded.count END, "
                "reset_at = CASE WHEN reset_at <= ? THEN excluded.reset_at ELSE reset_at END "
                "RETURNING count, reset_at",
                (key, amount, now + window, now, now),
            ).fetchone()
        )
        return int(row[0]), float(row[1])

    def throttle_get(self, key: str, now: float) -> tuple[int, float] | None:
        row = self._run(
            lambda c: c.execute(
                "SELECT count, reset_at FROM throttle WHERE key = ? AND reset_at > ?", (key, now)
            ).fetchone()
        )
        return None if row is None else (int(row[0]), float(row[1]))

    def throttle_reset(self, key: str) -> None:
        self._run(lambda c: c.execute("DELETE FROM throttle WHERE key = ?", (key,)))


SQLiteSessionStore = SQLiteStore
