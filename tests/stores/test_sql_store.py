"""The SQL store beyond the contract: cost per validation, exactness, instances, safety.

Real servers only (PostgreSQL, MariaDB) plus SQLite files; no mocks.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import struct
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import CHEAP, Clock
from secure_auth import RefreshReuseDetected, SessionRevoked, StoreUnavailable
from secure_auth.errors import ConfigurationError
from secure_auth.models import PasskeyCredential, SessionRecord
from secure_auth.stores.sql import (
    AsyncSQLSessionStore,
    AsyncSQLStore,
    SQLSessionStore,
    SQLStore,
    make_metadata,
    metadata,
)

from .sql_helpers import KINDS, make_store, tables

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0


@pytest.fixture(scope="module", params=KINDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DB]:
    """One set of tables per database for this module (DDL is slow on MariaDB).

    Tests keep to ids of their own, so they share the tables safely.
    """
    kind = str(request.param)
    tmp = tmp_path_factory.mktemp(kind)
    with tables(kind, tmp) as prefix:
        yield DB(kind, tmp, prefix)


class DB:
    def __init__(self, kind: str, tmp: Path, prefix: str) -> None:
        self.kind, self.tmp, self.prefix = kind, tmp, prefix

    def store(self, *, is_async: bool = False) -> Any:
        return make_store(self.kind, self.tmp, self.prefix, is_async=is_async)

    def run_async(self, body: Any) -> Any:
        """``body(store)`` with an async store of its own, on a private loop."""

        async def main() -> Any:
            store = self.store(is_async=True)
            try:
                return await body(store)
            finally:
                await store.aclose()

        return asyncio.run(main())


def ids(n: int = 1) -> list[str]:
    """Ids no other test uses."""
    return [secrets.token_urlsafe(8) for _ in range(n)]


@pytest.fixture
def face_kind(request: pytest.FixtureRequest, make_face: Any) -> str:
    """``"sync"`` or ``"async"``: which service ``make_face`` builds."""
    return str(request.node.callspec.params["make_face"])


def record(session_id: str, user_id: str = "u1", **changes: Any) -> SessionRecord:
    values: dict[str, Any] = {
        "session_id": session_id,
        "user_id": user_id,
        "created_at": NOW,
        "expires_at": NOW + 3600,
        "last_used_at": NOW,
    }
    values.update(changes)
    return SessionRecord(**values)


def user(face: Any, user_id: str = "u1") -> dict[str, Any]:
    return face.register_user({"id": user_id, "login": "ann", "password": "correct horse"})


# -- one statement per validation ------------------------------------------------


def _watch(store: Any) -> dict[str, list[Any]]:
    """Every SQL statement, and whether its connection was in autocommit mode."""
    engine = store.engine.sync_engine if isinstance(store, AsyncSQLStore) else store.engine
    seen: dict[str, list[Any]] = {"statements": [], "autocommit": []}

    @sa.event.listens_for(engine, "before_cursor_execute")
    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen["statements"].append(sql)
        dbapi = conn.connection.dbapi_connection
        seen["autocommit"].append(conn.dialect.detect_autocommit_setting(dbapi))

    return seen


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Commands PyMySQL/aiomysql send, and psycopg's own BEGIN/COMMIT/ROLLBACK.

    SQLAlchemy's events see statements, not a driver's own ``ROLLBACK`` or
    ``BEGIN``; these private methods of the drivers do.
    """
    import aiomysql.connection
    import psycopg._connection_base
    import pymysql.connections

    sent: list[str] = []
    sync_mysql = pymysql.connections.Connection._execute_command
    async_mysql = aiomysql.connection.Connection._execute_command
    pg_command = psycopg._connection_base.BaseConnection._exec_command

    def count_sync(self: Any, command: int, sql: Any) -> Any:
        sent.append(f"mysql {command}: {sql!r:.40}")
        return sync_mysql(self, command, sql)

    async def count_async(self: Any, command: int, sql: Any) -> Any:
        sent.append(f"mysql {command}: {sql!r:.40}")
        return await async_mysql(self, command, sql)

    def count_pg(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"psycopg {command!r:.40}")
        return pg_command(self, command, *args, **kwargs)

    monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", count_sync)
    monkeypatch.setattr(aiomysql.connection.Connection, "_execute_command", count_async)
    monkeypatch.setattr(psycopg._connection_base.BaseConnection, "_exec_command", count_pg)
    return sent


def test_validate_session_is_exactly_one_statement(
    db: DB, make_face: Any, face_kind: str, wire: list[str]
) -> None:
    store = db.store(is_async=face_kind == "async")
    face = make_face(store)
    tokens = face.login(user(face, ids()[0]), "correct horse")
    face.validate_session(tokens.access_token)  # the pool now holds a connection
    seen = _watch(store)
    wire.clear()
    for _ in range(5):
        assert face.validate_session(tokens.access_token).session_id == tokens.session_id
    assert len(seen["statements"]) == 5, seen["statements"]
    for sql in seen["statements"]:
        assert sql.lstrip().upper().startswith("SELECT") and f"{db.prefix}sessions" in sql
    # Autocommit: the driver sends no BEGIN, and no ROLLBACK follows.
    assert seen["autocommit"] == [True] * 5
    if db.kind == "mysql":  # everything PyMySQL/aiomysql sent: the five queries
        assert len(wire) == 5, wire
    else:  # psycopg (sync PostgreSQL) sent no BEGIN/COMMIT/ROLLBACK of its own
        assert wire == []


# -- exact values ----------------------------------------------------------------


def _odd_floats(n: int) -> list[float]:
    rng = random.Random(1234)
    values = [NOW + rng.random() for _ in range(n)]
    values += [struct.unpack("d", struct.pack("Q", rng.getrandbits(62)))[0] for _ in range(n)]
    return [*values, 1e-300, 0.1, 2.0**53 + 2, 1_764_201_234.123_456_7]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_times_round_trip_exactly(db: DB, is_async: bool) -> None:
    """DOUBLE PRECISION keeps every float of ``time.time()`` bit for bit."""
    records = [
        record(sid, created_at=f, last_used_at=f, rotated_at=f, expires_at=NOW + 9e9)
        for sid, f in zip(ids(24), _odd_floats(10), strict=True)
    ]

    async def body(store: AsyncSQLStore) -> list[Any]:
        for r in records:
            await store.save_session(r)
        return [await store.get_session(r.session_id, NOW) for r in records]

    if is_async:
        got = db.run_async(body)
    else:
        store = db.store()
        for r in records:
            store.save_session(r)
        got = [store.get_session(r.session_id, NOW) for r in records]
        store.close()
    assert got == records


def test_ids_compare_exactly(db: DB) -> None:
    """Case, accents and trailing spaces make different ids (MySQL's VARCHAR would not)."""
    alice, sid = "alice-" + ids()[0], "s-" + ids()[0]
    store = db.store()
    store.save_session(record(sid, alice))
    for other in [alice + " ", alice.upper(), alice + "\t", alice.replace("a", "á", 1)]:
        assert store.list_sessions(other, NOW) == []
        assert store.delete_user_sessions(other) == 0
    assert store.get_session(sid + " ", NOW) is None
    assert store.get_session(sid.upper(), NOW) is None
    assert [r.session_id for r in store.list_sessions(alice, NOW)] == [sid]
    store.close()


def test_rename_to_the_same_label_still_reports_success(db: DB) -> None:
    """MySQL counts *changed* rows unless FOUND_ROWS is set; the answer must not depend on it."""
    store = db.store()
    cid, uid = ids(2)
    cred = PasskeyCredential(cid, uid, "h", b"\x00\xff" * 20, 0, label="Laptop")
    assert store.save_passkey(cred) is True
    assert store.rename_passkey(uid, cid, "Laptop") is True
    assert store.get_passkey(cid) == cred
    store.close()


def test_purge_expired(db: DB) -> None:
    # No other test of this module stores anything that is expired at NOW.
    old, edge, live, gone, kept = ids(5)
    store = db.store()
    store.save_session(record(old, expires_at=NOW - 1))
    store.save_session(record(edge, expires_at=NOW))
    store.save_session(record(live, expires_at=NOW + 1))
    store.put_challenge(gone, "v", NOW - 1)
    store.put_challenge(kept, "v", NOW + 60)
    assert store.purge_expired(NOW) == 2
    assert store.get_session(live, NOW) is not None
    assert store.pop_challenge(kept, NOW) == "v"
    store.put_challenge(gone, "fresh", NOW + 60)  # the old row went: no conflict
    assert store.pop_challenge(gone, NOW) == "fresh"
    store.close()


def test_pop_without_delete_returning_has_one_winner(db: DB) -> None:
    """MySQL has no DELETE ... RETURNING: read, then delete what was read; one caller wins.

    Forced on databases that have RETURNING by switching the dialect's flag off.
    """
    key, expired = ids(2)
    store = db.store()
    store.put_challenge(key, "value", NOW + 60)  # the first connect sets the flag...
    store.engine.dialect.delete_returning = False  # ...which we then turn off
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: store.pop_challenge(key, NOW), range(20)))
    assert results.count("value") == 1 and results.count(None) == 19
    store.put_challenge(expired, "v", NOW + 5)
    assert store.pop_challenge(expired, NOW + 5) is None  # expired: deleted, not returned
    assert store.pop_challenge(expired, NOW) is None
    store.close()


# -- several app instances -------------------------------------------------------


def test_logout_on_one_instance_ends_the_session_on_the_other(
    db: DB, make_face: Any, face_kind: str, clock: Clock
) -> None:
    """Two services, two engines, one database: revocation is seen at once."""
    is_async = face_kind == "async"
    first = make_face(db.store(is_async=is_async))
    second = make_face(db.store(is_async=is_async))
    account = user(first, ids()[0])
    tokens = first.login(account, "correct horse")
    assert second.validate_session(tokens.access_token).user_id == account["id"]
    rotated = second.refresh(tokens.refresh_token)
    assert first.validate_session(rotated.access_token).session_id == tokens.session_id
    first.logout(tokens.session_id)
    for token in (tokens.access_token, rotated.access_token):
        with pytest.raises(SessionRevoked):
            second.validate_session(token)
    # Rotation is shared too: a refresh token replayed on the other instance,
    # after its successor was issued there, is theft and ends the session.
    again = first.login(account, "correct horse")
    later = second.refresh(again.refresh_token)
    clock.advance(CHEAP.refresh_grace_period + 1)
    with pytest.raises(RefreshReuseDetected):
        first.refresh(again.refresh_token)
    with pytest.raises(SessionRevoked):
        second.validate_session(later.access_token)


# -- outages, secrets, configuration ---------------------------------------------


def test_outage_message_holds_no_password(tmp_path: Path) -> None:
    from contract.backend_sql import dead_url, require

    require("postgresql")
    url = dead_url("postgresql", is_async=False).set(password="s3cret-pw")
    store = SQLStore(url)
    assert "s3cret-pw" not in repr(store) and "***" in repr(store)
    with pytest.raises(StoreUnavailable) as caught:
        store.get_session("secret-session-id", NOW)
    assert "s3cret-pw" not in caught.value.reason
    assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
    store.close()


def test_statement_errors_hide_parameters(db: DB) -> None:
    """A failing statement (no such tables here) is an outage; its message holds no ids."""
    store = make_store(db.kind, db.tmp, "missing_", is_async=False)
    with pytest.raises(StoreUnavailable) as caught:
        store.get_session("secret-session-id", NOW)
    assert "secret-session-id" not in caught.value.reason
    assert "secret-session-id" not in str(caught.value.__cause__)
    store.close()


def test_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="table_prefix"):
        SQLStore(f"sqlite:///{tmp_path / 'x.db'}", table_prefix="x; DROP TABLE y")
    with pytest.raises(ConfigurationError, match="table_prefix"):
        make_metadata("p" * 41)
    with pytest.raises(ConfigurationError, match="cannot be parsed"):
        SQLStore("postgresql://user:s3cret@::bad")
    with pytest.raises(ConfigurationError, match="oracledb is not installed") as caught:
        SQLStore("oracle+oracledb://scott:s3cret@localhost/db")
    assert "s3cret" not in str(caught.value.reason)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigurationError, match="only when a URL"):
        SQLStore(engine, pool_size=3)
    with pytest.raises(ConfigurationError, match="async"):
        AsyncSQLStore(f"sqlite:///{tmp_path / 'x.db'}")


def test_engine_passed_in_commits_and_stays_open(db: DB) -> None:
    """A plain engine of the application (not autocommit): writes still commit at once."""
    ours = db.store()
    engine = sa.create_engine(ours.engine.url)  # SQLAlchemy's defaults, not the store's
    ours.close()
    store = SQLStore(engine, table_prefix=db.prefix)
    store.create_schema()  # the tables exist: idempotent
    sid, uid = ids(2)
    store.save_session(record(sid, uid))
    assert store.rotate_refresh(sid, 0, NOW + 1) is True
    store.close()  # the application owns the engine: it stays usable
    other = db.store()  # another engine sees the committed rows
    assert other.get_session(sid, NOW + 1).refresh_generation == 1
    other.close()
    with engine.connect() as conn:
        table = store.metadata.tables[f"{db.prefix}sessions"]
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() >= 1
    engine.dispose()


def test_metadata_for_alembic() -> None:
    assert sorted(metadata.tables) == [
        "secure_auth_challenges",
        "secure_auth_passkeys",
        "secure_auth_sessions",
        "secure_auth_throttle",
    ]
    custom = make_metadata("app_")
    sessions = custom.tables["app_sessions"]
    assert [c.name for c in sessions.primary_key] == ["session_id"]
    assert {tuple(c.name for c in i.columns) for i in sessions.indexes} == {
        ("user_id",),
        ("expires_at",),
    }
    assert SQLSessionStore is SQLStore and AsyncSQLSessionStore is AsyncSQLStore


def test_sqlalchemy_stays_optional() -> None:
    """``import secure_auth`` never imports SQLAlchemy; without it the SQL store names the extra."""
    code = """
import sys
import secure_auth, secure_auth.stores
print("sqlalchemy" in sys.modules)
sys.modules["sqlalchemy"] = None  # as if it were not installed
for attempt in ("import secure_auth.stores.sql", "from secure_auth.stores import SQLStore"):
    try:
        exec(attempt)
    except ImportError as exc:
        print(exc)
    else:
        raise SystemExit("imported without SQLAlchemy")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    line = "secure_auth.stores.sql needs SQLAlchemy 2: pip install 'secure-auth[sql]'"
    assert out == ["False", line, line]
