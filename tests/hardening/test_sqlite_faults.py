"""SQLite faults: a read-only or locked database is a clear StoreUnavailable.

Never a valid session on a guess, never a raw ``sqlite3`` error, and the
reason names the problem (read-only, locked) so an operator can act. The
service recovers by itself once the file is writable or unlocked again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Face, FaceFactory, skip_or_fail
from secure_auth import SessionRevoked, SQLiteStore, StoreUnavailable

IP = "192.0.2.10"


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable, for root too (root ignores mode bits)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        skip_or_fail(f"cannot make a file immutable as root: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Another connection holds the whole file (``locking_mode=EXCLUSIVE``)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("DELETE FROM challenges")  # a write takes the exclusive lock now
        yield
        conn.execute("COMMIT")
    finally:
        conn.close()


def seeded(make_face: FaceFactory, path: Path) -> tuple[dict[str, Any], Any]:
    store = SQLiteStore(path)
    auth = make_face(store)
    user = auth.register_user({"id": "u", "password": "pw"})
    tokens = auth.login(user, "pw", ip_address=IP)
    store.close()
    return user, tokens


def test_read_only_database_file_fails_writes_clearly(make_face: FaceFactory, tmp_path) -> None:
    path = tmp_path / "auth.db"
    user, tokens = seeded(make_face, path)
    with read_only(path):
        store = SQLiteStore(path)
        auth: Face = make_face(store)
        # Reading a read-only copy is fine: the state it shows is the real one.
        assert auth.validate_session(tokens.access_token).user_id == "u"
        for write in (
            lambda: auth.login(user, "pw", ip_address=IP),
            lambda: auth.logout(tokens.session_id),
            lambda: auth.refresh(tokens.refresh_token, ip_address=IP),
        ):
            with pytest.raises(StoreUnavailable) as info:
                write()
            assert "read-only" in info.value.reason
            assert info.value.status == 503
        store.close()


def test_locked_database_is_store_unavailable_never_valid(
    make_face: FaceFactory, tmp_path: Path
) -> None:
    path = tmp_path / "auth.db"
    user, tokens = seeded(make_face, path)
    auth = make_face(SQLiteStore(path, timeout=0.2))
    # Another process holds the whole file (PRAGMA locking_mode=EXCLUSIVE):
    # reads and writes alike cannot proceed.
    with exclusive_lock(path):
        for call in (
            lambda: auth.validate_session(tokens.access_token),
            lambda: auth.login(user, "pw", ip_address=IP),
            lambda: auth.logout(tokens.session_id),
        ):
            with pytest.raises(StoreUnavailable) as info:
                call()
            assert "locked" in info.value.reason
    # The lock is gone: the same service works again, nothing restarted.
    assert auth.validate_session(tokens.access_token).user_id == "u"
    auth.logout(tokens.session_id)
    with pytest.raises(SessionRevoked):
        auth.validate_session(tokens.access_token)


def test_writer_holding_a_long_transaction_does_not_block_validation(
    make_face: FaceFactory, tmp_path: Path
) -> None:
    # WAL mode: an ordinary writer (not locking_mode=EXCLUSIVE) blocks other
    # writers only; validation keeps reading the committed state.
    path = tmp_path / "auth.db"
    user, tokens = seeded(make_face, path)
    auth = make_face(SQLiteStore(path, timeout=0.2))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM sessions")  # not committed: the session still exists
        assert auth.validate_session(tokens.access_token).user_id == "u"
        for write in (
            lambda: auth.login(user, "pw", ip_address=IP),
            lambda: auth.logout(tokens.session_id),  # fails loudly: the app knows
        ):
            with pytest.raises(StoreUnavailable) as info:
                write()
            assert "locked" in info.value.reason
        conn.execute("COMMIT")
    finally:
        conn.close()
    with pytest.raises(SessionRevoked):
        auth.validate_session(tokens.access_token)


def test_schema_1_database_is_migrated_for_throttling(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    store.get_session("x", 0.0)
    store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE throttle")
    conn.execute("UPDATE secure_auth_meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    store = SQLiteStore(path)
    assert store.throttle_hit("k", 60, 0.0) == (1, 60.0)
    store.close()
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT value FROM secure_auth_meta").fetchone()[0]
    conn.close()
    assert version == "2"
