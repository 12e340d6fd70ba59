"""The demo's own users: a small table in the same SQLite file.

secure-auth never touches an application's users; this module is the demo
playing the application. A user is what ``AuthService.login`` and
``change_password`` expect: an object with ``id`` and ``password`` (the
Argon2id hash).
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from secure_auth import StoreUnavailable

__all__ = [
    "LOGIN_MAX",
    "LOGIN_MIN",
    "LoginTaken",
    "User",
    "UserStore",
    "login_key",
    "login_problem",
]

LOGIN_MIN = 3
LOGIN_MAX = 64
_LOGIN_CHARS = re.compile(r"[\w.@+-]+")  # letters and digits of any script, and . @ + - _
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS demo_users (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    login_key TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class LoginTaken(Exception):
    """Another account already uses this login."""


@dataclass(frozen=True, slots=True)
class User:
    """One account. ``password`` is the Argon2id hash, never the password."""

    id: str
    login: str
    password: str
    created_at: float


def login_key(login: str) -> str:
    """The form logins are compared in: NFKC, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", login).strip().casefold()


def login_problem(login: str) -> str | None:
    """Why ``login`` cannot be used, in words for the person typing it, or ``None``."""
    text = unicodedata.normalize("NFKC", login).strip()
    if not text:
        return "Choose a login."
    if len(text) < LOGIN_MIN:
        return f"Use at least {LOGIN_MIN} characters for your login."
    if len(text) > LOGIN_MAX:
        return f"Use at most {LOGIN_MAX} characters for your login."
    if not _LOGIN_CHARS.fullmatch(text):
        return "Use only letters, digits and . _ - + @ in your login (no spaces)."
    return None


class UserStore:
    """``demo_users`` in ``path``; its own connection, next to secure-auth's tables.

    Raises:
        StoreUnavailable: SQLite failed (wrapped, like secure-auth's stores).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        conn = sqlite3.connect(
            self.path, timeout=5.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(_SCHEMA)
        return conn

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                yield self._conn
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"demo users: {type(exc).__name__}: {exc}") from exc

    def _one(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._db() as conn:
            return fn(conn)

    def open(self) -> None:
        """Create the file and the table now (they are otherwise made on first use)."""
        self._one(lambda c: None)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def create(self, login: str, password_hash: str) -> User:
        """Store a new user with a random id.

        Raises:
            LoginTaken: the login (compared case-insensitively) is in use.
        """
        display = unicodedata.normalize("NFKC", login).strip()
        user = User(secrets.token_urlsafe(12), display, password_hash, time.time())
        try:
            self._one(
                lambda c: c.execute(
                    "INSERT INTO demo_users (id, login, login_key, password, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (user.id, user.login, login_key(login), user.password, user.created_at),
                )
            )
        except sqlite3.IntegrityError as exc:
            raise LoginTaken(login) from exc
        return user

    def by_login(self, login: str) -> User | None:
        row = self._one(
            lambda c: c.execute(
                "SELECT id, login, password, created_at FROM demo_users WHERE login_key = ?",
                (login_key(login),),
            ).fetchone()
        )
        return User(*row) if row else None

    def by_id(self, user_id: str) -> User | None:
        row = self._one(
            lambda c: c.execute(
                "SELECT id, login, password, created_at FROM demo_users WHERE id = ?", (user_id,)
            ).fetchone()
        )
        return User(*row) if row else None

    def login_of(self, user_id: str) -> str | None:
        """The ``get_user_name`` hook of the passkey routes: the login a new
        passkey carries, or ``None`` for a deleted account (its passkeys then
        sign nobody in)."""
        user = self.by_id(user_id)
        return user.login if user else None

    def set_password(self, user_id: str, password_hash: str) -> None:
        """The ``update_password`` callback of ``change_password`` and ``login``."""
        self._one(
            lambda c: c.execute(
                "UPDATE demo_users SET password = ? WHERE id = ?", (password_hash, user_id)
            )
        )
