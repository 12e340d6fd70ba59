"""Sessions, challenges and passkeys in an SQL database through SQLAlchemy 2 Core.

For applications that already run PostgreSQL, MySQL/MariaDB (or SQLite) and
want every app server to see the same sessions. :class:`SQLStore` drives a
blocking :class:`sqlalchemy.engine.Engine` (for :class:`~secure_auth.SyncAuthService`),
:class:`AsyncSQLStore` an :class:`~sqlalchemy.ext.asyncio.AsyncEngine` (for
:class:`~secure_auth.AuthService`). Both implement ``SessionStore``,
``ChallengeStore``, ``PasskeyStore`` and ``ThrottleStore``.

Decisions (docs/stores.md explains them for users):

* Every operation is one statement on one pooled connection in autocommit
  mode, so ``get_session`` (each ``validate_session``) costs exactly one
  round trip: no ``BEGIN``/``ROLLBACK``, no pre-ping. A connection found dead
  (database restarted) is replaced and the operation tried once more.
* Refresh rotation is one conditional ``UPDATE`` whose row count decides;
  it always changes ``refresh_generation``, so MySQL's "rows changed" count
  cannot disagree with "rows matched" (SQLAlchemy sets ``FOUND_ROWS`` anyway).
* ``pop_challenge`` is ``DELETE ... RETURNING`` (PostgreSQL, MariaDB,
  SQLite 3.35+); elsewhere (MySQL) a read followed by a ``DELETE`` that
  must match the value read: only one caller can delete the row.
* ``throttle_hit`` is one atomic upsert: ``INSERT ... ON CONFLICT DO UPDATE
  ... RETURNING`` (PostgreSQL, SQLite); on MySQL/MariaDB ``INSERT ... ON
  DUPLICATE KEY UPDATE`` that passes the new count through
  ``LAST_INSERT_ID(expr)``, read back on the same connection.
* Times are ``DOUBLE PRECISION`` seconds, exactly the floats of the records.
* On MySQL/MariaDB the id columns are ``VARBINARY`` holding UTF-8: their
  ``VARCHAR`` comparisons ignore trailing spaces (and are case-insensitive
  under the default collation), which would let user ``"alice "`` list or end
  the sessions of ``"alice"``. Binary comparison is exact (see
  :class:`_MySQLBytes`).

The two classes share every statement and every decision: each operation is
written once as a generator that yields ``(statement, parameters)`` and
receives the result; the classes only drive it, blocking or with ``await``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql as _mysql
    from sqlalchemy.dialects import postgresql as _postgresql
    from sqlalchemy.dialects import sqlite as _sqlite
    from sqlalchemy.engine import URL, CursorResult, Dialect, Engine, make_url
    from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
    from sqlalchemy.sql.expression import Executable
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "secure_auth.stores.sql needs SQLAlchemy 2: pip install 'secure-auth[sql]'"
    ) from _exc

from ..errors import ConfigurationError, StoreUnavailable
from ..models import PasskeyCredential, SessionRecord

__all__ = [
    "DEFAULT_TABLE_PREFIX",
    "AsyncSQLSessionStore",
    "AsyncSQLStore",
    "SQLSessionStore",
    "SQLStore",
    "make_metadata",
    "metadata",
]

DEFAULT_TABLE_PREFIX = "secure_auth_"

# Lengths in characters. Session ids we issue are 43 characters; the room
# above that is for ids of other origin (migrated sessions, tests).
SESSION_ID_LENGTH = 512
USER_ID_LENGTH = 255
CHALLENGE_KEY_LENGTH = 512
THROTTLE_KEY_LENGTH = 128
# WebAuthn credential ids are at most 1023 bytes: 1364 base64url characters.
CREDENTIAL_ID_LENGTH = 1364

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_SUPPORTED = ("postgresql", "mysql", "mariadb", "sqlite")
_MYSQL = ("mysql", "mariadb")
_T = TypeVar("_T")

# -- schema ------------------------------------------------------------------


class _MySQLBytes(sa.types.UserDefinedType[Any]):
    """A binary column of MySQL/MariaDB, holding ``bytes`` or UTF-8 ``str``.

    Text ids live in ``VARBINARY`` because MySQL's ``VARCHAR`` comparisons
    ignore trailing spaces (and the default collations ignore case), which
    would let user ``"alice "`` list or end the sessions of ``"alice"``; a
    binary comparison is exact. Values travel as hex text decoded by the
    server (``UNHEX``), so no driver has to send a bytes parameter: aiomysql
    with PyMySQL >= 1.2.3 cannot (aio-libs/aiomysql#1080). ``UNHEX`` of a
    parameter is a constant for the optimizer: lookups still use the index.
    """

    cache_ok = True

    def __init__(self, spec: str, *, text: bool) -> None:
        self.spec = spec
        self.text = text

    def get_col_spec(self, **kw: Any) -> str:
        return self.spec

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.func.unhex(bindvalue, type_=self)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], str | None]:
        def process(value: Any) -> str | None:
            if value is None:
                return None
            return (value.encode("utf-8") if self.text else bytes(value)).hex()

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        def process(value: Any) -> Any:
            if value is None:
                return None
            return bytes(value).decode("utf-8") if self.text else bytes(value)

        return process


def _id(length: int, mysql_bytes: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(
        _MySQLBytes(f"VARBINARY({mysql_bytes})", text=True), *_MYSQL
    )


_MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in _MYSQL
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}


def make_metadata(table_prefix: str = DEFAULT_TABLE_PREFIX) -> sa.MetaData:
    """The four tables (and their indexes) under ``table_prefix``.

    Give the result to Alembic (``target_metadata``) to manage the tables
    in your own migrations; :data:`metadata` is the default prefix's.

    Raises:
        ConfigurationError: the prefix is not ``""`` or an identifier of
            at most 40 characters (index names must stay under 64).
    """
    if table_prefix and not _PREFIX.fullmatch(table_prefix):
        raise ConfigurationError(
            "table_prefix must be empty or letters, digits and '_' (at most 40, "
            f"not starting with a digit); got {table_prefix!r}"
        )
    p = table_prefix
    md = sa.MetaData()
    sa.Table(
        f"{p}sessions",
        md,
        sa.Column("session_id", _id(SESSION_ID_LENGTH, 4 * SESSION_ID_LENGTH), primary_key=True),
        sa.Column("user_id", _id(USER_ID_LENGTH, 4 * USER_ID_LENGTH), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("last_used_at", sa.Double(), nullable=False),
        sa.Column("refresh_generation", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("rotated_at", sa.Double(), nullable=True),
        sa.Column("auth_method", sa.String(32), nullable=False, server_default="password"),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Index(f"{p}sessions_user_id", "user_id"),
        sa.Index(f"{p}sessions_expires_at", "expires_at"),
        **_MYSQL_TABLE_OPTIONS,
    )
    sa.Table(
        f"{p}challenges",
        md,
        sa.Column("key", _id(CHALLENGE_KEY_LENGTH, 4 * CHALLENGE_KEY_LENGTH), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Index(f"{p}challenges_expires_at", "expires_at"),
        **_MYSQL_TABLE_OPTIONS,
    )
    sa.Table(
        f"{p}passkeys",
        md,
        # base64url, so one byte per character even on MySQL.
        sa.Column(
            "credential_id", _id(CREDENTIAL_ID_LENGTH, CREDENTIAL_ID_LENGTH), primary_key=True
        ),
        sa.Column("user_id", _id(USER_ID_LENGTH, 4 * USER_ID_LENGTH), nullable=False),
        sa.Column("user_handle", sa.String(128), nullable=False),
        sa.Column(
            "public_key",
            sa.LargeBinary().with_variant(_MySQLBytes("BLOB", text=False), *_MYSQL),
            nullable=False,
        ),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.Text(), nullable=False),
        sa.Column("aaguid", sa.String(36), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backup_state", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_used_at", sa.Double(), nullable=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Index(f"{p}passkeys_user_id", "user_id"),
        **_MYSQL_TABLE_OPTIONS,
    )
    sa.Table(
        f"{p}throttle",
        md,
        # Keys are opaque ASCII made by secure_auth.throttle (no user input).
        sa.Column("key", _id(THROTTLE_KEY_LENGTH, THROTTLE_KEY_LENGTH), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("reset_at", sa.Double(), nullable=False),
        sa.Index(f"{p}throttle_reset_at", "reset_at"),
        **_MYSQL_TABLE_OPTIONS,
    )
    return md


metadata = make_metadata()
"""The tables under the default prefix ``secure_auth_``, for Alembic."""

# -- statements ----------------------------------------------------------------

_Step = tuple[Executable, Mapping[str, Any]]
_Op = Generator[_Step, CursorResult[Any], _T]


def _upsert(dialect: str, table: sa.Table) -> Executable:
    """``INSERT`` that replaces the row with the same primary key."""
    key = next(iter(table.primary_key.columns)).name
    others = [c.name for c in table.columns if c.name != key]
    if dialect in _MYSQL:
        mine = _mysql.insert(table)
        return mine.on_duplicate_key_update({c: mine.inserted[c] for c in others})
    if dialect == "postgresql":
        pg = _postgresql.insert(table)
        return pg.on_conflict_do_update(
            index_elements=[key], set_={c: pg.excluded[c] for c in others}
        )
    lite = _sqlite.insert(table)
    return lite.on_conflict_do_update(
        index_elements=[key], set_={c: lite.excluded[c] for c in others}
    )


def _throttle_hit(dialect: str, t: sa.Table) -> Executable:
    """The atomic counter upsert: a live window counts up, an expired one restarts.

    Parameters: ``key``, ``count`` (the amount), ``reset_at`` (now + window),
    ``now``. PostgreSQL and SQLite return the new ``(count, reset_at)``; on
    MySQL/MariaDB the new count is left in ``LAST_INSERT_ID()`` (whose
    assignments run left to right: ``count`` still sees the old
    ``reset_at``).
    """
    expired = t.c.reset_at <= sa.bindparam("now")
    if dialect in _MYSQL:
        mine = _mysql.insert(t)
        count = sa.case(
            (expired, mine.inserted["count"]), else_=t.c["count"] + mine.inserted["count"]
        )
        reset = sa.case((expired, mine.inserted.reset_at), else_=t.c.reset_at)
        return mine.on_duplicate_key_update(
            [("count", sa.func.last_insert_id(count)), ("reset_at", reset)]
        )
    ins = _postgresql.insert(t) if dialect == "postgresql" else _sqlite.insert(t)
    count = sa.case((expired, ins.excluded["count"]), else_=t.c["count"] + ins.excluded["count"])
    reset = sa.case((expired, ins.excluded.reset_at), else_=t.c.reset_at)
    return ins.on_conflict_do_update(
        index_elements=["key"], set_={"count": count, "reset_at": reset}
    ).returning(t.c["count"], t.c.reset_at)


class _Statements:
    """Every statement, built once per store with bound parameters."""

    def __init__(self, md: sa.MetaData, prefix: str, dialect: str) -> None:
        s = md.tables[f"{prefix}sessions"]
        c = md.tables[f"{prefix}challenges"]
        k = md.tables[f"{prefix}passkeys"]
        t = md.tables[f"{prefix}throttle"]
        p = sa.bindparam
        self.throttle_hit = _throttle_hit(dialect, t)
        self.throttle_hit_mysql_read = sa.select(
            sa.func.last_insert_id().label("count"), t.c.reset_at
        ).where(t.c.key == p("key"))
        self.throttle_get = sa.select(t.c["count"], t.c.reset_at).where(
            t.c.key == p("key"), t.c.reset_at > p("now")
        )
        self.throttle_reset = sa.delete(t).where(t.c.key == p("key"))
        self.purge_throttle = sa.delete(t).where(t.c.reset_at <= p("now"))
        live = s.c.expires_at > p("now")
        self.save_session = _upsert(dialect, s)
        self.get_session = sa.select(s).where(s.c.session_id == p("sid"), live)
        self.delete_session = sa.delete(s).where(s.c.session_id == p("sid"))
        self.rotate_refresh = (
            sa.update(s)
            .where(s.c.session_id == p("sid"), s.c.refresh_generation == p("gen"), live)
            .values(refresh_generation=p("new_gen"), rotated_at=p("now"), last_used_at=p("now"))
        )
        self.list_sessions = (
            sa.select(s)
            .where(s.c.user_id == p("uid"), live)
            .order_by(s.c.created_at, s.c.session_id)
        )
        self.delete_user_sessions = sa.delete(s).where(s.c.user_id == p("uid"))
        self.delete_user_sessions_but = sa.delete(s).where(
            s.c.user_id == p("uid"), s.c.session_id != p("keep")
        )
        self.purge_sessions = sa.delete(s).where(s.c.expires_at <= p("now"))
        self.purge_challenges = sa.delete(c).where(c.c.expires_at <= p("now"))
        self.put_challenge = _upsert(dialect, c)
        self.pop_challenge = (
            sa.delete(c).where(c.c.key == p("key")).returning(c.c.value, c.c.expires_at)
        )
        self.read_challenge = sa.select(c.c.value, c.c.expires_at).where(c.c.key == p("key"))
        self.delete_challenge_if = sa.delete(c).where(c.c.key == p("key"), c.c.value == p("value"))
        self.insert_passkey = sa.insert(k)
        self.get_passkey = sa.select(k).where(k.c.credential_id == p("cid"))
        self.list_passkeys = (
            sa.select(k).where(k.c.user_id == p("uid")).order_by(k.c.created_at, k.c.credential_id)
        )
        self.update_passkey_usage = (
            sa.update(k)
            .where(k.c.credential_id == p("cid"))
            .values(sign_count=p("count"), backup_state=p("bs"), last_used_at=p("now"))
        )
        self.rename_passkey = (
            sa.update(k)
            .where(k.c.credential_id == p("cid"), k.c.user_id == p("uid"))
            .values(label=p("label"))
        )
        self.delete_passkey = sa.delete(k).where(
            k.c.credential_id == p("cid"), k.c.user_id == p("uid")
        )


def _session(row: sa.Row[Any]) -> SessionRecord:
    m = row._mapping
    return SessionRecord(
        session_id=m["session_id"],
        user_id=m["user_id"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        last_used_at=m["last_used_at"],
        refresh_generation=m["refresh_generation"],
        rotated_at=m["rotated_at"],
        auth_method=m["auth_method"],
        user_agent=m["user_agent"],
        ip_address=m["ip_address"],
    )


def _passkey(row: sa.Row[Any]) -> PasskeyCredential:
    m = row._mapping
    return PasskeyCredential(
        credential_id=m["credential_id"],
        user_id=m["user_id"],
        user_handle=m["user_handle"],
        public_key=bytes(m["public_key"]),
        sign_count=m["sign_count"],
        transports=tuple(json.loads(m["transports"])),
        aaguid=m["aaguid"],
        backup_eligible=bool(m["backup_eligible"]),
        backup_state=bool(m["backup_state"]),
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        label=m["label"],
    )


def _masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _scrub(text: str, url: URL) -> str:
    """``text`` without the URL's password, should a driver ever repeat it."""
    return text.replace(url.password, "***") if url.password else text


def _unavailable(store: _SQLCore, operation: str, exc: BaseException) -> StoreUnavailable:
    """A safe one-line reason: the driver's first line, never SQL parameters."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = str(cause).strip().splitlines()[0][:200] if str(cause).strip() else ""
    detail = f"{type(cause).__name__}: {first}" if first else type(cause).__name__
    return StoreUnavailable(_scrub(f"{type(store).__name__}.{operation}: {detail}", store._url))


_ENGINE_DEFAULTS: dict[str, Any] = {
    # One statement per operation, no BEGIN/ROLLBACK round trips around it.
    "isolation_level": "AUTOCOMMIT",
    "skip_autocommit_rollback": True,
    # Keep session ids and keys out of exception messages and logs.
    "hide_parameters": True,
}

_EXTRA_FOR_DRIVER = {
    "asyncpg": "postgres",
    "psycopg": "postgres",
    "pymysql": "mysql",
    "aiomysql": "mysql",
    "aiosqlite": "sqlite-async",
    "greenlet": "postgres] or [mysql] or [sqlite-async",
}


def _create(url: str | URL, options: Mapping[str, Any], *, is_async: bool) -> Any:
    """An engine with the store's defaults (``options`` override them).

    Raises:
        ConfigurationError: unparsable URL, unknown dialect, missing driver.
    """
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError):
        raise ConfigurationError("the database URL cannot be parsed") from None
    kwargs = {**_ENGINE_DEFAULTS, **options}
    try:
        if is_async:
            return create_async_engine(parsed, **kwargs)
        return sa.create_engine(parsed, **kwargs)
    except ImportError as exc:
        missing = exc.name or "a driver"
        hint = _EXTRA_FOR_DRIVER.get(missing.split(".")[0])
        install = f"; pip install 'secure-auth[{hint}]'" if hint else ""
        raise ConfigurationError(
            f"cannot use {_masked(parsed)}: {missing} is not installed{install}"
        ) from exc
    except (SQLAlchemyError, TypeError) as exc:
        detail = _scrub(f"{type(exc).__name__}: {exc}", parsed)
        raise ConfigurationError(
            f"cannot create an engine for {_masked(parsed)}: {detail}"
        ) from exc


# -- the shared core -------------------------------------------------------------


class _SQLCore:
    """Tables, statements and the operations, free of I/O. Not used directly."""

    def __init__(self, dialect: Dialect, url: URL, table_prefix: str) -> None:
        if dialect.name not in _SUPPORTED:
            raise ConfigurationError(
                f"the SQL store supports PostgreSQL, MySQL/MariaDB and SQLite, not {dialect.name}"
            )
        self.table_prefix = table_prefix
        self.metadata = make_metadata(table_prefix)
        self._dialect = dialect
        self._url = url
        self._q = _Statements(self.metadata, table_prefix, dialect.name)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(url={_masked(self._url)!r}, table_prefix={self.table_prefix!r})"
        )

    # Each operation yields ``(statement, params)`` and receives its result.

    def _save_session(self, r: SessionRecord) -> _Op[None]:
        yield (
            self._q.save_session,
            {
                "session_id": r.session_id,
                "user_id": r.user_id,
                "created_at": r.created_at,
                "expires_at": r.expires_at,
                "last_used_at": r.last_used_at,
                "refresh_generation": r.refresh_generation,
                "rotated_at": r.rotated_at,
                "auth_method": r.auth_method,
                "user_agent": r.user_agent,
                "ip_address": r.ip_address,
            },
        )

    def _get_session(self, session_id: str, now: float) -> _Op[SessionRecord | None]:
        result = yield self._q.get_session, {"sid": session_id, "now": now}
        row = result.first()
        return None if row is None else _session(row)

    def _delete_session(self, session_id: str) -> _Op[None]:
        yield self._q.delete_session, {"sid": session_id}

    def _rotate_refresh(self, session_id: str, expected: int, now: float) -> _Op[bool]:
        result = yield (
            self._q.rotate_refresh,
            {
                "sid": session_id,
                "gen": expected,
                "new_gen": expected + 1,
                "now": now,
            },
        )
        return result.rowcount == 1

    def _list_sessions(self, user_id: str, now: float) -> _Op[list[SessionRecord]]:
        result = yield self._q.list_sessions, {"uid": user_id, "now": now}
        return [_session(row) for row in result]

    def _delete_user_sessions(self, user_id: str, except_session_id: str | None) -> _Op[int]:
        if except_session_id is None:
            result = yield self._q.delete_user_sessions, {"uid": user_id}
        else:
            result = yield (
                self._q.delete_user_sessions_but,
                {
                    "uid": user_id,
                    "keep": except_session_id,
                },
            )
        return result.rowcount

    def _purge_expired(self, now: float) -> _Op[int]:
        result = yield self._q.purge_sessions, {"now": now}
        yield self._q.purge_challenges, {"now": now}
        yield self._q.purge_throttle, {"now": now}
        return result.rowcount

    def _throttle_hit(
        self, key: str, window: float, now: float, amount: int
    ) -> _Op[tuple[int, float]]:
        params = {"key": key, "count": int(amount), "reset_at": now + window, "now": now}
        result = yield self._q.throttle_hit, params
        if self._dialect.name not in _MYSQL:
            count, reset_at = tuple(result.one())
            return int(count), float(reset_at)
        if result.rowcount == 1:  # inserted: a new window
            return int(amount), now + window
        count, reset_at = tuple((yield self._q.throttle_hit_mysql_read, {"key": key}).one())
        return int(count), float(reset_at)

    def _throttle_get(self, key: str, now: float) -> _Op[tuple[int, float] | None]:
        row = (yield self._q.throttle_get, {"key": key, "now": now}).first()
        if row is None:
            return None
        count, reset_at = tuple(row)
        return int(count), float(reset_at)

    def _throttle_reset(self, key: str) -> _Op[None]:
        yield self._q.throttle_reset, {"key": key}

    def _put_challenge(self, key: str, value: str, expires_at: float) -> _Op[None]:
        yield self._q.put_challenge, {"key": key, "value": value, "expires_at": expires_at}

    def _pop_challenge(self, key: str, now: float) -> _Op[str | None]:
        # Known only after the first connection (the server's version).
        if self._dialect.delete_returning:
            row = (yield self._q.pop_challenge, {"key": key}).first()
        else:
            row = (yield self._q.read_challenge, {"key": key}).first()
            if row is not None:
                deleted = yield self._q.delete_challenge_if, {"key": key, "value": row.value}
                if deleted.rowcount != 1:  # another caller took it first
                    return None
        if row is None or row.expires_at <= now:
            return None
        return str(row.value)

    def _save_passkey(self, c: PasskeyCredential) -> _Op[bool]:
        try:
            yield (
                self._q.insert_passkey,
                {
                    "credential_id": c.credential_id,
                    "user_id": c.user_id,
                    "user_handle": c.user_handle,
                    "public_key": c.public_key,
                    "sign_count": c.sign_count,
                    "transports": json.dumps(list(c.transports)),
                    "aaguid": c.aaguid,
                    "backup_eligible": c.backup_eligible,
                    "backup_state": c.backup_state,
                    "created_at": c.created_at,
                    "last_used_at": c.last_used_at,
                    "label": c.label,
                },
            )
        except IntegrityError:  # the id is taken: the expected answer, not an outage
            return False
        return True

    def _get_passkey(self, credential_id: str) -> _Op[PasskeyCredential | None]:
        row = (yield self._q.get_passkey, {"cid": credential_id}).first()
        return None if row is None else _passkey(row)

    def _list_passkeys(self, user_id: str) -> _Op[list[PasskeyCredential]]:
        result = yield self._q.list_passkeys, {"uid": user_id}
        return [_passkey(row) for row in result]

    def _update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> _Op[None]:
        yield (
            self._q.update_passkey_usage,
            {
                "cid": credential_id,
                "count": sign_count,
                "bs": backup_state,
                "now": now,
            },
        )

    def _rename_passkey(self, user_id: str, credential_id: str, label: str) -> _Op[bool]:
        result = yield (
            self._q.rename_passkey,
            {"cid": credential_id, "uid": user_id, "label": label},
        )
        return result.rowcount == 1

    def _delete_passkey(self, user_id: str, credential_id: str) -> _Op[bool]:
        result = yield self._q.delete_passkey, {"cid": credential_id, "uid": user_id}
        return result.rowcount == 1


def _retry(exc: SQLAlchemyError, attempt: int, allowed: bool) -> bool:
    """Try again once on a fresh connection when a pooled one was found dead.

    The pool has then been invalidated, so the second attempt connects anew:
    a restarted database costs no failed request. A first attempt may have
    been carried out before its connection died; repeating it is harmless
    for every operation (a second compare-and-set or pop answers "no", which
    fails closed) except ``save_passkey``, whose second attempt would report
    a duplicate: that one is not retried.
    """
    return allowed and attempt == 0 and isinstance(exc, DBAPIError) and exc.connection_invalidated


# -- the blocking store ----------------------------------------------------------


class SQLStore(_SQLCore):
    """Sessions, challenges and passkeys through a blocking SQLAlchemy engine.

    Args:
        engine: an :class:`~sqlalchemy.engine.Engine`, or a database URL
            (``postgresql+psycopg://...``, ``mysql+pymysql://...``,
            ``sqlite:///path``) from which the store creates, and owns, one.
        table_prefix: prepended to the table and index names (default
            ``secure_auth_``: ``secure_auth_sessions``...).
        **engine_options: passed to :func:`sqlalchemy.create_engine` when
            ``engine`` is a URL (``pool_size``, ``connect_args``...).

    Statements run in autocommit mode (an engine you pass is used through
    ``execution_options(isolation_level="AUTOCOMMIT")``; create it with
    ``isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True`` for one
    round trip per read on MySQL). Call :meth:`create_schema` once, or create
    the tables with your migrations (:func:`make_metadata`, docs/stores.md).

    Raises:
        ConfigurationError: bad URL or prefix, missing driver, unsupported
            database.
    """

    def __init__(
        self,
        engine: Engine | str | URL,
        *,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        **engine_options: Any,
    ) -> None:
        self._owns_engine = not isinstance(engine, Engine)
        if isinstance(engine, Engine):
            if engine_options:
                raise ConfigurationError("engine options apply only when a URL is given")
        else:
            engine = _create(engine, engine_options, is_async=False)
        assert isinstance(engine, Engine)
        super().__init__(engine.dialect, engine.url, table_prefix)
        self.engine = engine
        # An engine of ours is created in autocommit mode already.
        self._engine = (
            engine if self._owns_engine else engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @classmethod
    def from_url(
        cls, url: str | URL, *, table_prefix: str = DEFAULT_TABLE_PREFIX, **engine_options: Any
    ) -> SQLStore:
        """A store with its own engine; see the class for the arguments."""
        return cls(url, table_prefix=table_prefix, **engine_options)

    def _run(self, op: Callable[..., _Op[_T]], *args: Any, retry: bool = True) -> _T:
        for attempt in range(2):
            try:
                with self._engine.connect() as conn:
                    flow = op(*args)
                    try:
                        step = next(flow)
                        while True:
                            try:
                                result = conn.execute(*step)
                            except SQLAlchemyError as exc:
                                step = flow.throw(exc)  # the operation may handle it
                            else:
                                step = flow.send(result)
                    except StopIteration as stop:
                        return stop.value  # type: ignore[no-any-return]
            except SQLAlchemyError as exc:
                if _retry(exc, attempt, retry):
                    continue
                raise _unavailable(self, op.__name__.lstrip("_"), exc) from exc
            except OSError as exc:
                raise _unavailable(self, op.__name__.lstrip("_"), exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet (idempotent).

        Raises:
            StoreUnavailable: the database failed or refused the DDL.
        """
        try:
            with self._engine.connect() as conn:
                self.metadata.create_all(conn, checkfirst=True)
        except (SQLAlchemyError, OSError) as exc:
            raise _unavailable(self, "create_schema", exc) from exc

    def drop_schema(self) -> None:
        """Drop the store's tables (for tests and uninstalling).

        Raises:
            StoreUnavailable: the database failed.
        """
        try:
            with self._engine.connect() as conn:
                self.metadata.drop_all(conn, checkfirst=True)
        except (SQLAlchemyError, OSError) as exc:
            raise _unavailable(self, "drop_schema", exc) from exc

    def close(self) -> None:
        """Dispose of the engine if the store created it (a URL was given)."""
        if self._owns_engine:
            self.engine.dispose()

    # -- sessions ------------------------------------------------------------

    def save_session(self, record: SessionRecord) -> None:
        """Insert or replace. Raises: StoreUnavailable."""
        self._run(self._save_session, record)

    def get_session(self, session_id: str, now: float) -> SessionRecord | None:
        """One ``SELECT`` by primary key. Raises: StoreUnavailable."""
        return self._run(self._get_session, session_id, now)

    def delete_session(self, session_id: str) -> None:
        """Raises: StoreUnavailable."""
        self._run(self._delete_session, session_id)

    def rotate_refresh(self, session_id: str, expected_generation: int, now: float) -> bool:
        """Conditional ``UPDATE``; ``True`` for the one winner. Raises: StoreUnavailable."""
        return self._run(self._rotate_refresh, session_id, expected_generation, now)

    def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        """Raises: StoreUnavailable."""
        return self._run(self._list_sessions, user_id, now)

    def delete_user_sessions(self, user_id: str, except_session_id: str | None = None) -> int:
        """Raises: StoreUnavailable."""
        return self._run(self._delete_user_sessions, user_id, except_session_id)

    def purge_expired(self, now: float) -> int:
        """Delete expired sessions and challenges; return how many sessions went.

        Raises:
            StoreUnavailable: the database failed.
        """
        return self._run(self._purge_expired, now)

    # -- throttle counters ---------------------------------------------------

    def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]:
        """One atomic upsert; never retried (a second run would count twice).

        Raises:
            StoreUnavailable: the database failed.
        """
        return self._run(self._throttle_hit, key, window, now, amount, retry=False)

    def throttle_get(self, key: str, now: float) -> tuple[int, float] | None:
        """Raises: StoreUnavailable."""
        return self._run(self._throttle_get, key, now)

    def throttle_reset(self, key: str) -> None:
        """Raises: StoreUnavailable."""
        self._run(self._throttle_reset, key)

    # -- challenges ----------------------------------------------------------

    def put_challenge(self, key: str, value: str, expires_at: float) -> None:
        """Raises: StoreUnavailable."""
        self._run(self._put_challenge, key, value, expires_at)

    def pop_challenge(self, key: str, now: float) -> str | None:
        """Atomic take-and-delete. Raises: StoreUnavailable."""
        return self._run(self._pop_challenge, key, now)

    # -- passkeys ------------------------------------------------------------

    def save_passkey(self, credential: PasskeyCredential) -> bool:
        """``False`` when the id is taken. Raises: StoreUnavailable."""
        return self._run(self._save_passkey, credential, retry=False)

    def get_passkey(self, credential_id: str) -> PasskeyCredential | None:
        """Raises: StoreUnavailable."""
        return self._run(self._get_passkey, credential_id)

    def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        """Raises: StoreUnavailable."""
        return self._run(self._list_passkeys, user_id)

    def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None:
        """Raises: StoreUnavailable."""
        self._run(self._update_passkey_usage, credential_id, sign_count, backup_state, now)

    def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool:
        """Raises: StoreUnavailable."""
        return self._run(self._rename_passkey, user_id, credential_id, label)

    def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        """Raises: StoreUnavailable."""
        return self._run(self._delete_passkey, user_id, credential_id)


# -- the async store -------------------------------------------------------------


class AsyncSQLStore(_SQLCore):
    """The ``async`` twin of :class:`SQLStore`, on an :class:`AsyncEngine`.

    Same arguments, statements and rules; URLs name an async driver
    (``postgresql+asyncpg://``, ``mysql+aiomysql://``,
    ``sqlite+aiosqlite:///path``). Use it with :class:`~secure_auth.AuthService`.

    Raises:
        ConfigurationError: bad URL or prefix, missing driver, unsupported
            database.
    """

    def __init__(
        self,
        engine: AsyncEngine | str | URL,
        *,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        **engine_options: Any,
    ) -> None:
        self._owns_engine = not isinstance(engine, AsyncEngine)
        if isinstance(engine, AsyncEngine):
            if engine_options:
                raise ConfigurationError("engine options apply only when a URL is given")
        else:
            engine = _create(engine, engine_options, is_async=True)
        assert isinstance(engine, AsyncEngine)
        super().__init__(engine.dialect, engine.url, table_prefix)
        self.engine = engine
        # An engine of ours is created in autocommit mode already.
        self._engine = (
            engine if self._owns_engine else engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @classmethod
    def from_url(
        cls, url: str | URL, *, table_prefix: str = DEFAULT_TABLE_PREFIX, **engine_options: Any
    ) -> AsyncSQLStore:
        """A store with its own engine; see :class:`SQLStore` for the arguments."""
        return cls(url, table_prefix=table_prefix, **engine_options)

    async def _run(self, op: Callable[..., _Op[_T]], *args: Any, retry: bool = True) -> _T:
        for attempt in range(2):
            try:
                async with self._engine.connect() as conn:
                    flow = op(*args)
                    try:
                        step = next(flow)
                        while True:
                            try:
                                result = await conn.execute(*step)
                            except SQLAlchemyError as exc:
                                step = flow.throw(exc)  # the operation may handle it
                            else:
                                step = flow.send(result)
                    except StopIteration as stop:
                        return stop.value  # type: ignore[no-any-return]
            except SQLAlchemyError as exc:
                if _retry(exc, attempt, retry):
                    continue
                raise _unavailable(self, op.__name__.lstrip("_"), exc) from exc
            except OSError as exc:
                raise _unavailable(self, op.__name__.lstrip("_"), exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet (idempotent).

        Raises:
            StoreUnavailable: the database failed or refused the DDL.
        """
        try:
            async with self._engine.connect() as conn:
                await conn.run_sync(self.metadata.create_all, checkfirst=True)
        except (SQLAlchemyError, OSError) as exc:
            raise _unavailable(self, "create_schema", exc) from exc

    async def drop_schema(self) -> None:
        """Drop the store's tables (for tests and uninstalling).

        Raises:
            StoreUnavailable: the database failed.
        """
        try:
            async with self._engine.connect() as conn:
                await conn.run_sync(self.metadata.drop_all, checkfirst=True)
        except (SQLAlchemyError, OSError) as exc:
            raise _unavailable(self, "drop_schema", exc) from exc

    async def aclose(self) -> None:
        """Dispose of the engine if the store created it (a URL was given)."""
        if self._owns_engine:
            await self.engine.dispose()

    # -- sessions ------------------------------------------------------------

    async def save_session(self, record: SessionRecord) -> None:
        """Insert or replace. Raises: StoreUnavailable."""
        await self._run(self._save_session, record)

    async def get_session(self, session_id: str, now: float) -> SessionRecord | None:
        """One ``SELECT`` by primary key. Raises: StoreUnavailable."""
        return await self._run(self._get_session, session_id, now)

    async def delete_session(self, session_id: str) -> None:
        """Raises: StoreUnavailable."""
        await self._run(self._delete_session, session_id)

    async def rotate_refresh(self, session_id: str, expected_generation: int, now: float) -> bool:
        """Conditional ``UPDATE``; ``True`` for the one winner. Raises: StoreUnavailable."""
        return await self._run(self._rotate_refresh, session_id, expected_generation, now)

    async def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        """Raises: StoreUnavailable."""
        return await self._run(self._list_sessions, user_id, now)

    async def delete_user_sessions(self, user_id: str, except_session_id: str | None = None) -> int:
        """Raises: StoreUnavailable."""
        return await self._run(self._delete_user_sessions, user_id, except_session_id)

    async def purge_expired(self, now: float) -> int:
        """Delete expired sessions and challenges; return how many sessions went.

        Raises:
            StoreUnavailable: the database failed.
        """
        return await self._run(self._purge_expired, now)

    # -- throttle counters ---------------------------------------------------

    async def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]:
        """See :meth:`SQLStore.throttle_hit`.

        Raises:
            StoreUnavailable: the database failed.
        """
        return await self._run(self._throttle_hit, key, window, now, amount, retry=False)

    async def throttle_get(self, key: str, now: float) -> tuple[int, float] | None:
        """Raises: StoreUnavailable."""
        return await self._run(self._throttle_get, key, now)

    async def throttle_reset(self, key: str) -> None:
        """Raises: StoreUnavailable."""
        await self._run(self._throttle_reset, key)

    # -- challenges ----------------------------------------------------------

    async def put_challenge(self, key: str, value: str, expires_at: float) -> None:
        """Raises: StoreUnavailable."""
        await self._run(self._put_challenge, key, value, expires_at)

    async def pop_challenge(self, key: str, now: float) -> str | None:
        """Atomic take-and-delete. Raises: StoreUnavailable."""
        return await self._run(self._pop_challenge, key, now)

    # -- passkeys ------------------------------------------------------------

    async def save_passkey(self, credential: PasskeyCredential) -> bool:
        """``False`` when the id is taken. Raises: StoreUnavailable."""
        return await self._run(self._save_passkey, credential, retry=False)

    async def get_passkey(self, credential_id: str) -> PasskeyCredential | None:
        """Raises: StoreUnavailable."""
        return await self._run(self._get_passkey, credential_id)

    async def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        """Raises: StoreUnavailable."""
        return await self._run(self._list_passkeys, user_id)

    async def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None:
        """Raises: StoreUnavailable."""
        await self._run(self._update_passkey_usage, credential_id, sign_count, backup_state, now)

    async def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool:
        """Raises: StoreUnavailable."""
        return await self._run(self._rename_passkey, user_id, credential_id, label)

    async def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        """Raises: StoreUnavailable."""
        return await self._run(self._delete_passkey, user_id, credential_id)


SQLSessionStore = SQLStore
AsyncSQLSessionStore = AsyncSQLStore
