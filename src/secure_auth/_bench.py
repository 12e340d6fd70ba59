"""Benchmarks of the hot paths, as ratios against what they wrap (issue 7).

``secure-auth bench`` runs goals 1-4 on the memory and SQLite stores; the
repository's ``benchmarks/`` package reuses this module and adds the network
stores, concurrency, HTTP and scale goals.

Every result is a *ratio* between secure-auth and a raw reference measured in
the same process: both run alternately, round by round, and the reported
ratio is the median of the per-round ratios. On a shared or noisy machine both
sides slow down together, so the ratio holds where absolute times do not.

The references are deliberately bare: one ``Ed25519PublicKey.verify`` of the
token's signing input with the signature already decoded, plus one read of
the same store with the same driver (a ``dict`` lookup, one ``SELECT`` by
primary key...). Everything secure-auth does on top (parsing, the strict
checks, claims, the session rules, the flow driver) is the measured overhead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .config import AuthConfig
from .keys import KeySet
from .models import SessionRecord
from .service import AuthService
from .sessions import new_session
from .stores.memory import MemoryStore
from .stores.sqlite import _SESSION_COLUMNS, SQLiteStore
from .sync import SyncAuthService
from .tokens import ACCESS_TYPE

__all__ = [
    "SESSION_COLUMNS",
    "Backend",
    "Bench",
    "Row",
    "Settings",
    "Workload",
    "machine_info",
    "memory_backend",
    "record_row",
    "run",
    "run_core_goals",
    "sqlite_backend",
]

Op = Literal["<=", ">="]
# Logins pass a client address, as applications must (throttling counts by it).
CLIENT_IP = "203.0.113.7"


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the ratio table.

    ``ratio`` is ``subject / reference`` in time for ``op == "<="`` goals
    (overhead) and ``reference / subject`` in time, i.e. a rate ratio, for
    ``op == ">="`` goals (speed-up).
    """

    goal: str
    backend: str
    what: str
    subject: float
    reference: float
    ratio: float
    op: Op
    target: float
    unit: str = "us"
    trips: str = ""
    note: str = ""

    @property
    def met(self) -> bool:
        return self.ratio <= self.target if self.op == "<=" else self.ratio >= self.target


def median_ratio(subject: Sequence[float], reference: Sequence[float], op: Op) -> float:
    """Median of the per-round ratios (rounds are paired, so drift cancels)."""
    pairs = zip(subject, reference, strict=True)
    if op == "<=":
        return statistics.median(s / r for s, r in pairs)
    return statistics.median(r / s for s, r in pairs)


@dataclass
class Bench:
    """Collects rows and prints the table."""

    rows: list[Row] = field(default_factory=list)
    out: Any = field(default=sys.stdout)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        extra = "; ".join(x for x in (row.trips, row.note) if x)
        print(
            f"  {row.goal:<2} {row.backend:<17} {row.what:<52} "
            f"{_fmt(row.subject, row.unit)} vs {_fmt(row.reference, row.unit)}  "
            f"ratio {row.ratio:6.3f} (goal {row.op} {row.target:g}) "
            f"{'met' if row.met else 'NOT MET'}" + (f"  [{extra}]" if extra else ""),
            file=self.out,
            flush=True,
        )
        return row

    def note(self, text: str) -> None:
        print(f"  note: {text}", file=self.out, flush=True)

    def table(self) -> str:
        """The ratio table in Markdown (what BENCHMARKS.md shows)."""
        lines = [
            "| goal | backend | measured | secure-auth | reference | ratio | target | result |"
            " notes |",
            "|---|---|---|---:|---:|---:|---|---|---|",
        ]
        for r in self.rows:
            extra = "; ".join(x for x in (r.trips, r.note) if x)
            lines.append(
                f"| {r.goal} | {r.backend} | {r.what} | {_fmt(r.subject, r.unit).strip()} | "
                f"{_fmt(r.reference, r.unit).strip()} | {r.ratio:.3f} | {r.op} {r.target:g} | "
                f"{'met' if r.met else '**not met**'} | {extra} |"
            )
        return "\n".join(lines)

    def print_table(self) -> None:
        met = sum(r.met for r in self.rows)
        print(f"\nRatio table: {met} of {len(self.rows)} goals met\n", file=self.out)
        print(self.table(), file=self.out, flush=True)


def _fmt(value: float, unit: str) -> str:
    if unit == "us":
        return f"{value * 1e6:9.1f} us"
    if unit == "ms":
        return f"{value * 1e3:9.1f} ms"
    if unit == "MiB":
        return f"{value / 2**20:8.1f} MiB"
    if unit == "rps":
        return f"{value:8.0f} r/s"
    return f"{value:9.3f} {unit}"


@dataclass(frozen=True, slots=True)
class Settings:
    """How much to measure: rounds of ``batch`` operations each."""

    rounds: int = 15
    batch: int = 300
    login_rounds: int = 21
    quick: bool = False

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        if quick:
            return cls(rounds=5, batch=100, login_rounds=3, quick=True)
        return cls()


def machine_info() -> str:
    """nproc, CPU model and the versions that matter, one line each."""
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for dist in (
        "cryptography",
        "argon2-cffi",
        "pyjwt",
        "redis",
        "psycopg",
        "asyncpg",
        "sqlalchemy",
        "starlette",
        "uvicorn",
    ):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions.append(f"{dist} {version(dist)}")
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), sqlite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}\n" + ", ".join(versions)
    )


# -- timing ----------------------------------------------------------------------------

Clock = Callable[[], float]


def paired(
    subject: Callable[[int], float],
    reference: Callable[[int], float],
    rounds: int,
    *,
    warm_up: bool = True,
) -> tuple[list[float], list[float]]:
    """Run ``subject(r)`` and ``reference(r)`` alternately for ``rounds`` rounds.

    Each callable times its own work and returns seconds per operation, so
    per-round preparation is not counted. The order flips every round, and a
    first unrecorded round (``r == -1``) warms both up.
    """
    if warm_up:
        subject(-1)
        reference(-1)
    subj: list[float] = []
    ref: list[float] = []
    for r in range(rounds):
        gc.collect()
        if r % 2:
            ref.append(reference(r))
            subj.append(subject(r))
        else:
            subj.append(subject(r))
            ref.append(reference(r))
    return subj, ref


def interleaved(
    subject: Callable[[Sequence[Any]], float],
    reference: Callable[[Sequence[Any]], float],
    batches: Mapping[int, Sequence[Any]],
    rounds: int,
    chunk: int = 25,
) -> tuple[list[float], list[float]]:
    """Like :func:`paired`, with each round cut into chunks run turn about.

    ``subject(items)`` and ``reference(items)`` return the seconds their
    chunk took. Alternating every ``chunk`` operations puts both sides under
    the same machine load at a fine grain, which matters on shared machines.
    """

    def per_op(r: int) -> tuple[float, float]:
        items = batches[r]
        s_total = r_total = 0.0
        for i, start in enumerate(range(0, len(items), chunk)):
            part = items[start : start + chunk]
            if (i + r) % 2:
                r_total += reference(part)
                s_total += subject(part)
            else:
                s_total += subject(part)
                r_total += reference(part)
        return s_total / len(items), r_total / len(items)

    per_op(-1)
    subj: list[float] = []
    ref: list[float] = []
    for r in range(rounds):
        gc.collect()
        s_time, r_time = per_op(r)
        subj.append(s_time)
        ref.append(r_time)
    return subj, ref


def row_from(
    bench: Bench,
    goal: str,
    backend: str,
    what: str,
    times: tuple[list[float], list[float]],
    *,
    op: Op,
    target: float,
    **extra: Any,
) -> Row:
    subj, ref = times
    return bench.add(
        Row(
            goal=goal,
            backend=backend,
            what=what,
            subject=statistics.median(subj),
            reference=statistics.median(ref),
            ratio=median_ratio(subj, ref, op),
            op=op,
            target=target,
            **extra,
        )
    )


# -- backends --------------------------------------------------------------------------

RawRead = Callable[[str], Any]
AsyncRawRead = Callable[[str], Awaitable[Any]]


def _no_close() -> None:
    return None


def _same(session_id: str) -> Any:
    return session_id


@dataclass
class TripCounter:
    """Stores that report their round trips, and how to count them.

    ``count(run)`` calls ``run`` and returns the round trips it caused.
    """

    sync_store: Any
    async_store: Any
    count: Callable[[Callable[[], Any]], int]
    what: str


@dataclass
class Backend:
    """A store under test, its raw-driver references and a round-trip counter.

    ``raw_read(raw_key(session_id))`` reads the same record with the same
    driver and nothing else (``raw_key`` maps a session id to the driver's
    key, outside the timed code); ``raw_write(record)`` writes one.
    ``trips(loop)`` opens a :class:`TripCounter` (SQLite counts statements;
    network stores count request/response turns on the wire). ``clock``
    times the work: thread CPU time for in-process stores (immune to the
    load of other processes), the wall clock for network stores (their
    wait is part of the cost).
    """

    name: str
    store: Any
    raw_read: RawRead
    raw_write: Callable[[SessionRecord], Any] | None = None
    async_store: Any = None
    araw_read: AsyncRawRead | None = None
    raw_key: Callable[[str], Any] = _same
    trips: (
        Callable[[asyncio.AbstractEventLoop], contextlib.AbstractContextManager[TripCounter]] | None
    ) = None
    close: Callable[[], Any] = _no_close
    aclose: Callable[[], Awaitable[Any]] | None = None
    clock: Clock = time.thread_time


def memory_backend() -> Backend:
    store = MemoryStore()
    sessions = store._sessions  # the dict the store reads

    def raw_write(record: SessionRecord) -> None:
        sessions[record.session_id] = record

    async def araw_read(session_id: str) -> Any:
        return sessions.get(session_id)

    return Backend(
        "memory",
        store,
        raw_read=sessions.get,
        raw_write=raw_write,
        async_store=store,
        araw_read=araw_read,
    )


# The session columns, in SessionRecord's order (the SQL store's table has them too).
SESSION_COLUMNS = _SESSION_COLUMNS


def sqlite_backend(folder: Path) -> Backend:
    path = folder / "bench.db"
    store = SQLiteStore(path)
    store.get_session("warm-up", 0.0)  # creates the file and schema
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    # Module constants only; every value is a bound parameter.
    select = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?"  # noqa: S608
    insert = f"INSERT OR REPLACE INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"  # noqa: S608

    def raw_read(session_id: str) -> Any:
        return raw.execute(select, (session_id,)).fetchone()

    async def araw_read(session_id: str) -> Any:
        return raw.execute(select, (session_id,)).fetchone()

    def raw_write(r: SessionRecord) -> None:
        raw.execute(insert, record_row(r))

    def count(run: Callable[[], Any]) -> int:
        statements: list[str] = []
        conn = store._conn
        assert conn is not None
        conn.set_trace_callback(statements.append)
        try:
            run()
        finally:
            conn.set_trace_callback(None)
        return len(statements)

    @contextlib.contextmanager
    def trips(_loop: asyncio.AbstractEventLoop) -> Iterator[TripCounter]:
        yield TripCounter(store, store, count, "SQL statement")

    def close() -> None:
        raw.close()
        store.close()

    return Backend(
        "sqlite",
        store,
        raw_read=raw_read,
        raw_write=raw_write,
        async_store=store,
        araw_read=araw_read,
        trips=trips,
        close=close,
    )


def record_row(r: SessionRecord) -> tuple[Any, ...]:
    """A record as the values of ``SESSION_COLUMNS``."""
    return (
        r.session_id,
        r.user_id,
        r.created_at,
        r.expires_at,
        r.last_used_at,
        r.refresh_generation,
        r.rotated_at,
        r.auth_method,
        r.user_agent,
        r.ip_address,
    )


# -- workload: sessions and first-seen tokens ------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """A token and what the raw reference needs: decoded signature, signing input, sid."""

    token: str
    signature: bytes
    signing_input: bytes
    read_key: Any


def prepare(token: str, raw_key: Callable[[str], Any] = _same) -> Prepared:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Prepared(
        token,
        base64.urlsafe_b64decode(signature + "=="),
        f"{header}.{payload}".encode("ascii"),
        raw_key(claims["sid"]),
    )


class Workload:
    """Live sessions, and an endless supply of never-seen tokens for them."""

    def __init__(
        self, keys: KeySet, config: AuthConfig, records: Sequence[SessionRecord], seed: int = 7
    ) -> None:
        from .tokens import TokenCodec

        self.keys = keys
        self.records = list(records)
        self.config = config
        self._codec = TokenCodec(keys, config.replace(token_cache_size=0))
        self._random = random.Random(seed)  # noqa: S311 - which session, not a secret
        public_key = keys.get(keys.signing_kid or "")
        assert public_key is not None
        self.public_key = public_key

    @classmethod
    def create(cls, keys: KeySet, config: AuthConfig, count: int, *, store: Any = None) -> Workload:
        """``count`` sessions of 997 users, with the ids ``store`` mints, as the service would."""
        now = time.time()
        mint = getattr(store, "new_session_id", None)
        records = []
        for i in range(count):
            user_id = f"user-{i % 997}"
            session_id = mint(user_id) if mint is not None else None
            records.append(new_session(user_id, now, config, session_id=session_id))
        return cls(keys, config, records)

    def save_into(self, store: Any) -> None:
        for record in self.records:
            store.save_session(record)

    def token(self, record: SessionRecord | None = None) -> str:
        record = record or self._random.choice(self.records)
        now = time.time()
        return self._codec.encode(
            typ=ACCESS_TYPE,
            user_id=record.user_id,
            session_id=record.session_id,
            now=now,
            expires_at=now + self.config.access_token_ttl,
        )

    def batches(
        self, rounds: int, batch: int, raw_key: Callable[[str], Any] = _same
    ) -> dict[int, Sequence[Prepared]]:
        """Fresh tokens for rounds ``-1 .. rounds-1`` (round -1 warms up)."""
        return {
            r: [prepare(self.token(), raw_key) for _ in range(batch)] for r in range(-1, rounds)
        }


# -- goal runners ----------------------------------------------------------------------


def timed_loop(fn: Callable[[Any], Any], clock: Clock) -> Callable[[Sequence[Any]], float]:
    """``items -> seconds`` running ``fn`` on each item."""

    def run(items: Sequence[Any]) -> float:
        t0 = clock()
        for item in items:
            fn(item)
        return clock() - t0

    return run


def timed_aloop(
    loop: asyncio.AbstractEventLoop, fn: Callable[[Any], Awaitable[Any]], clock: Clock
) -> Callable[[Sequence[Any]], float]:
    """``items -> seconds`` awaiting ``fn`` on each item inside ``loop``."""

    async def body(items: Sequence[Any]) -> float:
        t0 = clock()
        for item in items:
            await fn(item)
        return clock() - t0

    def run(items: Sequence[Any]) -> float:
        return loop.run_until_complete(body(items))

    return run


@dataclass
class Faces:
    """One blocking and (when the backend has one) one async service on a backend."""

    sync: SyncAuthService | None
    asvc: AuthService | None
    loop: asyncio.AbstractEventLoop

    @classmethod
    def open(cls, backend: Backend, keys: KeySet, config: AuthConfig) -> Faces:
        sync = None
        if backend.store is not None:
            sync = SyncAuthService(keys=keys, session_store=backend.store, config=config)
        asvc = None
        if backend.async_store is not None and backend.araw_read is not None:
            asvc = AuthService(keys=keys, session_store=backend.async_store, config=config)
        return cls(sync, asvc, asyncio.new_event_loop())

    def close(self, backend: Backend) -> None:
        # Not ``aclose()``: the backend owns (and closes) its stores.
        if self.asvc is not None and self.asvc._executor is not None:
            self.asvc._executor.shutdown(wait=True)
        if backend.aclose is not None:
            self.loop.run_until_complete(backend.aclose())
        self.loop.close()

    def validate_all(self, service: SyncAuthService | AuthService, tokens: Sequence[str]) -> None:
        if isinstance(service, AuthService):

            async def run() -> None:
                for t in tokens:
                    await service.validate_session(t)

            self.loop.run_until_complete(run())
        else:
            for t in tokens:
                service.validate_session(t)


def store_calls_per_validation(
    faces: Faces, service: SyncAuthService | AuthService, tokens: Sequence[str]
) -> float:
    """Store calls made by ``validate_session``, counted at the flow driver."""
    from ._core import StoreCall

    calls = 0
    original = service._perform

    def count(effect: Any) -> Any:
        nonlocal calls
        calls += type(effect) is StoreCall
        return original(effect)

    service._perform = count  # type: ignore[method-assign]
    try:
        faces.validate_all(service, tokens)
    finally:
        del service._perform
    return calls / len(tokens)


def trips_label(
    backend: Backend, faces: Faces, service: SyncAuthService | AuthService, workload: Workload
) -> str:
    """ "1 store call, 1 SQL statement per validation" and the like."""
    n = 20
    calls = store_calls_per_validation(faces, service, [workload.token() for _ in range(n)])
    label = f"{calls:g} store call"
    if backend.trips is not None:
        with backend.trips(faces.loop) as counter:
            store = counter.async_store if isinstance(service, AuthService) else counter.sync_store
            stores = service._stores
            saved = stores["sessions"]
            stores["sessions"] = store  # the same store, reached through the counter
            try:
                faces.validate_all(
                    service, [workload.token() for _ in range(10)]
                )  # connect, prepare
                counter.count(lambda: None)
                more = [workload.token() for _ in range(n)]
                trips = counter.count(lambda: faces.validate_all(service, more))
            finally:
                stores["sessions"] = saved
        label += f", {trips / n:g} {counter.what}"
    return label + " per validation"


def store_layer_note(
    backend: Backend, faces: Faces, workload: Workload, settings: Settings, *, aio: bool
) -> tuple[str, float]:
    """The store's own cost, to attribute a gap: ``get_session`` vs the raw read.

    Returns a note and the store layer's extra time per read (seconds).
    """
    store = backend.async_store if aio else backend.store
    read = backend.araw_read if aio else backend.raw_read
    if store is None or read is None:
        return "", 0.0
    get = store.get_session
    now = time.time()
    raw_key = backend.raw_key
    items = {
        r: [(rec.session_id, raw_key(rec.session_id)) for rec in workload.records[: settings.batch]]
        for r in range(-1, max(3, settings.rounds // 2))
    }
    if aio:
        subject = timed_aloop(faces.loop, lambda i: get(i[0], now), backend.clock)
        reference = timed_aloop(faces.loop, lambda i: read(i[1]), backend.clock)
    else:
        subject = timed_loop(lambda i: get(i[0], now), backend.clock)
        reference = timed_loop(lambda i: read(i[1]), backend.clock)
    subj, ref = interleaved(subject, reference, items, len(items) - 1)
    s_us, r_us = statistics.median(subj), statistics.median(ref)
    return (
        f"store read alone: get_session {s_us * 1e6:.1f} us vs raw {r_us * 1e6:.1f} us",
        s_us - r_us,
    )


def goal_floor(
    bench: Bench, backend: Backend, faces: Faces, workload: Workload, settings: Settings
) -> None:
    """Goal 1: first-seen token vs raw verify + raw read; and store round trips.

    Each row's note splits the gap: what the store layer adds to a raw read
    (measured alone), the rest being the codec and the flow.
    """
    if faces.sync is not None:
        _floor_sync(bench, backend, faces, faces.sync, workload=workload, settings=settings)
    if faces.asvc is not None:
        _floor_async(bench, backend, faces, faces.asvc, workload=workload, settings=settings)


def _floor_sync(
    bench: Bench,
    backend: Backend,
    faces: Faces,
    service: SyncAuthService,
    *,
    workload: Workload,
    settings: Settings,
) -> None:
    verify, read, validate = workload.public_key.verify, backend.raw_read, service.validate_session

    def reference(p: Prepared) -> None:
        verify(p.signature, p.signing_input)
        read(p.read_key)

    layer, extra = store_layer_note(backend, faces, workload, settings, aio=False)
    times = interleaved(
        timed_loop(lambda p: validate(p.token), backend.clock),
        timed_loop(reference, backend.clock),
        workload.batches(settings.rounds, settings.batch, backend.raw_key),
        settings.rounds,
    )
    _floor_row(
        bench,
        backend,
        "sync",
        times,
        layer=layer,
        extra=extra,
        trips=trips_label(backend, faces, service, workload),
    )


def _floor_async(
    bench: Bench,
    backend: Backend,
    faces: Faces,
    service: AuthService,
    *,
    workload: Workload,
    settings: Settings,
) -> None:
    verify, aread, validate = (
        workload.public_key.verify,
        backend.araw_read,
        service.validate_session,
    )
    assert aread is not None

    async def reference(p: Prepared) -> None:
        verify(p.signature, p.signing_input)
        await aread(p.read_key)

    async def subject(p: Prepared) -> None:
        await validate(p.token)

    # In-process stores are called directly by both faces: their layer is the sync one.
    layer, extra = store_layer_note(
        backend, faces, workload, settings, aio=backend.clock is not time.thread_time
    )
    times = interleaved(
        timed_aloop(faces.loop, subject, backend.clock),
        timed_aloop(faces.loop, reference, backend.clock),
        workload.batches(settings.rounds, settings.batch, backend.raw_key),
        settings.rounds,
    )
    _floor_row(
        bench,
        backend,
        "async",
        times,
        layer=layer,
        extra=extra,
        trips=trips_label(backend, faces, service, workload),
    )


def _floor_row(
    bench: Bench,
    backend: Backend,
    face: str,
    times: tuple[list[float], list[float]],
    *,
    layer: str,
    extra: float,
    trips: str,
) -> None:
    share = extra / statistics.median(times[1])
    row_from(
        bench,
        "1",
        f"{backend.name} {face}",
        "validate_session, first-seen token",
        times,
        op="<=",
        target=1.10,
        trips=trips,
        note=f"{layer} (+{share:.3f} of the reference)" if layer else "",
    )


def goal_cache(
    bench: Bench, backend: Backend, faces: Faces, workload: Workload, settings: Settings
) -> None:
    """Goal 2: one token validated again and again vs the raw verify rate."""
    assert faces.sync is not None
    target = 5.0 if backend.name == "memory" else 3.0
    token = prepare(workload.token())
    validate = faces.sync.validate_session
    validate(token.token)  # verified once, cached from now on
    verify = workload.public_key.verify
    many = {r: [token] * settings.batch for r in range(-1, settings.rounds)}
    times = interleaved(
        timed_loop(lambda p: validate(p.token), backend.clock),
        timed_loop(lambda p: verify(p.signature, p.signing_input), backend.clock),
        many,
        settings.rounds,
    )
    row_from(
        bench,
        "2",
        f"{backend.name} sync",
        "validate_session, same token (cache) vs raw verify",
        times,
        op=">=",
        target=target,
        note="rate ratio",
    )


def goal_pyjwt(
    bench: Bench, backend: Backend, faces: Faces, workload: Workload, settings: Settings
) -> None:
    """Goal 3: validate_session vs PyJWT decode + the same raw store read."""
    try:
        import jwt
    except ImportError:
        bench.note("goal 3 skipped: PyJWT is not installed (pip install pyjwt)")
        return
    assert faces.sync is not None
    issuer = workload.config.issuer
    key = workload.public_key
    read = backend.raw_read
    required = ["exp", "iat", "sub", "sid", "jti"]

    def by_hand(p: Prepared) -> None:
        # What an application would write with PyJWT: verify, then look the session up.
        claims = jwt.decode(
            p.token, key, algorithms=["EdDSA"], issuer=issuer, options={"require": required}
        )
        # The same bare read as in goal 1 (the driver's key precomputed).
        if claims["sid"] and read(p.read_key) is None:
            raise LookupError("session revoked")

    validate = faces.sync.validate_session
    times = interleaved(
        timed_loop(lambda p: validate(p.token), backend.clock),
        timed_loop(by_hand, backend.clock),
        workload.batches(settings.rounds, settings.batch, backend.raw_key),
        settings.rounds,
    )
    row_from(
        bench,
        "3",
        f"{backend.name} sync",
        "validate_session vs PyJWT decode + same read",
        times,
        op=">=",
        target=1.15,
        note="rate ratio",
    )


def goal_passwords(
    bench: Bench, backend: Backend, faces: Faces, config: AuthConfig, settings: Settings
) -> None:
    """Goal 4: login vs raw Argon2 verify + one raw write; register vs raw hash.

    Timed in process CPU time (Argon2 lanes run in threads of their own).
    """
    from argon2 import PasswordHasher as RawHasher
    from argon2 import Type

    assert faces.sync is not None and backend.raw_write is not None
    raw = RawHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_cost,
        parallelism=config.argon2_parallelism,
        hash_len=config.argon2_hash_len,
        salt_len=config.argon2_salt_len,
        type=Type.ID,
    )
    sync = faces.sync
    password = "correct horse battery staple"  # noqa: S105 - a benchmark password
    user = sync.register_user({"id": "bench-user", "password": password})
    stored = user["password"]
    raw_write = backend.raw_write
    clock = time.process_time if backend.clock is time.thread_time else backend.clock

    def login(_r: int) -> float:
        t0 = clock()
        sync.login(user, password, ip_address=CLIENT_IP)
        return clock() - t0

    def reference(_r: int) -> float:
        record = new_session("bench-user", time.time(), config)
        t0 = clock()
        raw.verify(stored, password)
        raw_write(record)
        return clock() - t0

    row_from(
        bench,
        "4",
        f"{backend.name} sync",
        "login vs raw Argon2 verify + one raw write",
        paired(login, reference, settings.login_rounds, warm_up=False),
        op="<=",
        target=1.05,
        unit="ms",
    )
    if backend.name != "memory":
        return

    def register(_r: int) -> float:
        t0 = clock()
        sync.register_user({"id": "u", "password": password})
        return clock() - t0

    def raw_hash(_r: int) -> float:
        t0 = clock()
        raw.hash(password)
        return clock() - t0

    row_from(
        bench,
        "4",
        "-",
        "register_user vs raw Argon2 hash",
        paired(register, raw_hash, settings.login_rounds, warm_up=False),
        op="<=",
        target=1.03,
        unit="ms",
    )


CORE_GOALS = ("floor", "cache", "pyjwt", "login")


@contextlib.contextmanager
def core_backends(names: Sequence[str]) -> Iterator[list[Backend]]:
    """The in-process backends (memory, sqlite), cleaned up afterwards."""
    with tempfile.TemporaryDirectory(prefix="secure-auth-bench-") as tmp:
        made: list[Backend] = []
        try:
            for name in names:
                if name == "memory":
                    made.append(memory_backend())
                elif name == "sqlite":
                    made.append(sqlite_backend(Path(tmp)))
            yield made
        finally:
            for b in made:
                b.close()


def run_core_goals(
    bench: Bench,
    settings: Settings,
    backends: Sequence[Backend],
    goals: Sequence[str] = CORE_GOALS,
    *,
    sessions: int = 1000,
) -> None:
    """Goals 1-4 (those in ``goals``) on each backend, with the default config."""
    from .keys import generate_keypair

    keys = KeySet.from_pem(*generate_keypair())
    config = AuthConfig()
    for backend in backends:
        workload = Workload.create(keys, config, sessions, store=backend.store)
        workload.save_into(backend.store)
        faces = Faces.open(backend, keys, config)
        try:
            if "floor" in goals:
                goal_floor(bench, backend, faces, workload, settings)
            if "cache" in goals and backend.name in ("memory", "sqlite"):
                goal_cache(bench, backend, faces, workload, settings)
            if "pyjwt" in goals:
                goal_pyjwt(bench, backend, faces, workload, settings)
            if "login" in goals and backend.raw_write is not None:
                goal_passwords(bench, backend, faces, config, settings)
        finally:
            faces.close(backend)


def run(*, full: bool = False, out: Any = None) -> Bench:
    """Goals 1-4 on the memory and SQLite stores; what ``secure-auth bench`` prints."""
    out = out or sys.stdout
    settings = Settings.for_mode(quick=not full)
    bench = Bench(out=out)
    print(machine_info(), file=out)
    print(
        "Each ratio compares secure-auth with its raw reference, run turn about in this "
        "process (median of the rounds). Targets are those of the project's benchmarks "
        "(BENCHMARKS.md).\n",
        file=out,
        flush=True,
    )
    started = time.perf_counter()
    with core_backends(("memory", "sqlite")) as backends:
        run_core_goals(bench, settings, backends)
    bench.print_table()
    print(f"\n{time.perf_counter() - started:.1f} s", file=out)
    return bench
