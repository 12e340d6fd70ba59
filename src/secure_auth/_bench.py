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
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .config import AuthConfig
from .keys import KeySet
from .models import SessionRecord
from .service import AuthService
from .sessions import new_session
from .stores.memory import MemoryStore
from .stores.sqlite import SQLiteStore
from .sync import SyncAuthService
from .tokens import ACCESS_TYPE

__all__ = [
    "Backend",
    "Bench",
    "Row",
    "Settings",
    "Workload",
    "machine_info",
    "main",
    "memory_backend",
    "run_core_goals",
    "sqlite_backend",
]

Op = Literal["<=", ">="]


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
        trips = f"  [{row.trips}]" if row.trips else ""
        print(
            f"  {row.goal:<3} {row.backend:<16} {row.what:<44} "
            f"{_fmt(row.subject, row.unit)} vs {_fmt(row.reference, row.unit)}  "
            f"ratio {row.ratio:6.3f} (goal {row.op} {row.target:g}) "
            f"{'met' if row.met else 'NOT MET'}{trips}",
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
            " round trips |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.goal} | {r.backend} | {r.what} | {_fmt(r.subject, r.unit).strip()} | "
                f"{_fmt(r.reference, r.unit).strip()} | {r.ratio:.3f} | {r.op} {r.target:g} | "
                f"{'met' if r.met else '**not met**'} | {r.trips} |"
            )
        return "\n".join(lines)

    def print_table(self) -> None:
        met = sum(r.met for r in self.rows)
        print(f"\nratio table ({met}/{len(self.rows)} goals met)\n", file=self.out)
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
    login_rounds: int = 9
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
    for dist in ("cryptography", "argon2-cffi", "pyjwt", "redis", "psycopg", "asyncpg"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions.append(f"{dist} {version(dist)}")
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), sqlite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}\n" + ", ".join(versions)
    )


# -- timing ----------------------------------------------------------------------------


def paired(
    subject: Callable[[int], float], reference: Callable[[int], float], rounds: int
) -> tuple[list[float], list[float]]:
    """Run ``subject(r)`` and ``reference(r)`` alternately for ``rounds`` rounds.

    Each callable times its own batch and returns seconds per operation, so
    per-round preparation is not counted. The order flips every round, and a
    first unrecorded round warms both up.
    """
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


def row_from(
    bench: Bench,
    goal: str,
    backend: str,
    what: str,
    times: tuple[list[float], list[float]],
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


@dataclass
class Backend:
    """A store under test, its raw-driver references and how to count round trips.

    ``raw_read(session_id)`` reads the same record with the same driver and
    nothing else; ``raw_write(record)`` writes one. ``count_trips`` runs a
    callable and returns ``(round trips, what was counted)`` as the backend
    sees them (a ``dict`` cannot be asked; SQLite counts statements; network
    stores count request/response turns on the wire).
    """

    name: str
    store: Any
    raw_read: RawRead
    raw_write: Callable[[SessionRecord], Any] | None = None
    async_store: Any = None
    araw_read: AsyncRawRead | None = None
    count_trips: Callable[[Callable[[], Any]], tuple[int, str]] | None = None
    close: Callable[[], Any] = lambda: None
    loop: asyncio.AbstractEventLoop | None = None


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


_SQLITE_COLUMNS = (
    "session_id, user_id, created_at, expires_at, last_used_at, refresh_generation, "
    "rotated_at, auth_method, user_agent, ip_address"
)


def sqlite_backend(folder: Path) -> Backend:
    path = folder / "bench.db"
    store = SQLiteStore(path)
    store.get_session("warm-up", 0.0)  # creates the file and schema
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    select = f"SELECT {_SQLITE_COLUMNS} FROM sessions WHERE session_id = ?"
    insert = f"INSERT OR REPLACE INTO sessions ({_SQLITE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"

    def raw_read(session_id: str) -> Any:
        return raw.execute(select, (session_id,)).fetchone()

    async def araw_read(session_id: str) -> Any:
        return raw.execute(select, (session_id,)).fetchone()

    def raw_write(r: SessionRecord) -> None:
        raw.execute(
            insert,
            (
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
            ),
        )

    def count_trips(fn: Callable[[], Any]) -> tuple[int, str]:
        statements: list[str] = []
        conn = store._conn
        assert conn is not None
        conn.set_trace_callback(statements.append)
        try:
            fn()
        finally:
            conn.set_trace_callback(None)
        return len(statements), "SQL statements"

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
        count_trips=count_trips,
        close=close,
    )


# -- workload: sessions and first-seen tokens ------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """A token and what the raw reference needs: decoded signature, signing input, sid."""

    token: str
    signature: bytes
    signing_input: bytes
    session_id: str


def prepare(token: str) -> Prepared:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Prepared(
        token,
        base64.urlsafe_b64decode(signature + "=="),
        f"{header}.{payload}".encode("ascii"),
        claims["sid"],
    )


class Workload:
    """Live sessions in a store, and an endless supply of never-seen tokens for them."""

    def __init__(
        self, keys: KeySet, config: AuthConfig, records: Sequence[SessionRecord], seed: int = 7
    ) -> None:
        from .tokens import TokenCodec

        self.records = list(records)
        self.config = config
        self._codec = TokenCodec(keys, config.replace(token_cache_size=0))
        self._random = random.Random(seed)
        self.public_key = keys.get(keys.signing_kid or "")
        assert self.public_key is not None

    @classmethod
    def create(
        cls, keys: KeySet, config: AuthConfig, count: int, now: float | None = None
    ) -> Workload:
        now = time.time() if now is None else now
        records = [new_session(f"user-{i % 997}", now, config) for i in range(count)]
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

    def batches(self, rounds: int, batch: int) -> dict[int, list[Prepared]]:
        """Fresh tokens for rounds ``-1 .. rounds-1`` (round -1 warms up)."""
        return {r: [prepare(self.token()) for _ in range(batch)] for r in range(-1, rounds)}


# -- goal runners ----------------------------------------------------------------------


def _timed(fn: Callable[[Prepared], Any], items: Sequence[Prepared]) -> float:
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - t0) / len(items)


def _atimed(
    loop: asyncio.AbstractEventLoop,
    fn: Callable[[Prepared], Awaitable[Any]],
    items: Sequence[Prepared],
) -> float:
    async def run() -> float:
        t0 = time.perf_counter()
        for item in items:
            await fn(item)
        return (time.perf_counter() - t0) / len(items)

    return loop.run_until_complete(run())


def _services(
    backend: Backend, keys: KeySet, config: AuthConfig
) -> tuple[SyncAuthService | None, AuthService | None]:
    sync = None
    if backend.store is not None:
        sync = SyncAuthService(keys=keys, session_store=backend.store, config=config)
    asvc = None
    if backend.async_store is not None and backend.araw_read is not None:
        asvc = AuthService(keys=keys, session_store=backend.async_store, config=config)
    return sync, asvc


def store_calls_per_validation(
    service: SyncAuthService | AuthService,
    tokens: Sequence[str],
    loop: asyncio.AbstractEventLoop | None,
) -> float:
    """Store calls made by ``validate_session``, counted at the flow driver."""
    calls = 0
    original = service._perform

    if isinstance(service, AuthService):

        async def acount(effect: Any) -> Any:
            nonlocal calls
            calls += effect.__class__.__name__ == "StoreCall"
            return await original(effect)

        service._perform = acount  # type: ignore[method-assign]
        try:
            assert loop is not None
            for t in tokens:
                loop.run_until_complete(service.validate_session(t))
        finally:
            del service._perform
    else:

        def count(effect: Any) -> Any:
            nonlocal calls
            calls += effect.__class__.__name__ == "StoreCall"
            return original(effect)

        service._perform = count  # type: ignore[method-assign]
        try:
            for t in tokens:
                service.validate_session(t)
        finally:
            del service._perform
    return calls / len(tokens)


def _trips_label(
    backend: Backend,
    service: SyncAuthService | AuthService,
    workload: Workload,
    loop: asyncio.AbstractEventLoop | None,
) -> str:
    n = 20
    tokens = [workload.token() for _ in range(n)]
    calls = store_calls_per_validation(service, tokens, loop)
    label = f"{calls:g} store call"
    if backend.count_trips is not None:
        more = [workload.token() for _ in range(n)]
        if isinstance(service, AuthService):
            assert loop is not None

            def run() -> None:
                for t in more:
                    loop.run_until_complete(service.validate_session(t))

        else:

            def run() -> None:
                for t in more:
                    service.validate_session(t)

        trips, what = backend.count_trips(run)
        label += f", {trips / n:g} {what}"
    return label + " per validation"


def goal_floor(
    bench: Bench,
    backend: Backend,
    keys: KeySet,
    workload: Workload,
    settings: Settings,
    *,
    faces: Sequence[str] = ("sync", "async"),
) -> None:
    """Goal 1: first-seen token vs raw verify + raw read; and store round trips."""
    config = workload.config
    sync, asvc = _services(backend, keys, config)
    key = workload.public_key
    assert key is not None
    verify = key.verify
    if "sync" in faces and sync is not None:
        batches = workload.batches(settings.rounds, settings.batch)
        validate = sync.validate_session
        read = backend.raw_read

        def reference(p: Prepared) -> None:
            verify(p.signature, p.signing_input)
            read(p.session_id)

        times = paired(
            lambda r: _timed(lambda p: validate(p.token), batches[r]),
            lambda r: _timed(reference, batches[r]),
            settings.rounds,
        )
        row_from(
            bench,
            "1",
            f"{backend.name} sync",
            "validate_session, first-seen token",
            times,
            "<=",
            1.10,
            trips=_trips_label(backend, sync, workload, None),
        )
    if "async" in faces and asvc is not None:
        loop = backend.loop or asyncio.new_event_loop()
        batches = workload.batches(settings.rounds, settings.batch)
        avalidate = asvc.validate_session
        aread = backend.araw_read
        assert aread is not None

        async def areference(p: Prepared) -> None:
            verify(p.signature, p.signing_input)
            await aread(p.session_id)

        times = paired(
            lambda r: _atimed(loop, lambda p: avalidate(p.token), batches[r]),
            lambda r: _atimed(loop, areference, batches[r]),
            settings.rounds,
        )
        row_from(
            bench,
            "1",
            f"{backend.name} async",
            "validate_session, first-seen token",
            times,
            "<=",
            1.10,
            trips=_trips_label(backend, asvc, workload, loop),
        )
        if backend.loop is None:
            loop.run_until_complete(asvc.aclose())
            loop.close()


def goal_cache(
    bench: Bench, backend: Backend, keys: KeySet, workload: Workload, settings: Settings
) -> None:
    """Goal 2: one token validated again and again vs the raw verify rate."""
    target = 5.0 if backend.name == "memory" else 3.0
    sync = SyncAuthService(keys=keys, session_store=backend.store, config=workload.config)
    token = prepare(workload.token())
    sync.validate_session(token.token)  # now cached
    key = workload.public_key
    assert key is not None
    verify = key.verify
    many = [token] * settings.batch
    validate = sync.validate_session
    times = paired(
        lambda r: _timed(lambda p: validate(p.token), many),
        lambda r: _timed(lambda p: verify(p.signature, p.signing_input), many),
        settings.rounds,
    )
    row_from(
        bench,
        "2",
        f"{backend.name} sync",
        "validate_session, same token (cache) vs raw verify rate",
        times,
        ">=",
        target,
        trips=_trips_label(backend, sync, workload, None),
    )


def goal_pyjwt(
    bench: Bench, backend: Backend, keys: KeySet, workload: Workload, settings: Settings
) -> None:
    """Goal 3: validate_session vs PyJWT decode + the same raw store read."""
    try:
        import jwt
    except ImportError:
        bench.note("goal 3 skipped: PyJWT is not installed (pip install pyjwt)")
        return
    config = workload.config
    sync = SyncAuthService(keys=keys, session_store=backend.store, config=config)
    key = workload.public_key
    read = backend.raw_read
    options = {"require": ["exp", "iat", "sub", "sid", "jti"]}
    batches = workload.batches(settings.rounds, settings.batch)

    def by_hand(p: Prepared) -> None:
        claims = jwt.decode(
            p.token, key, algorithms=["EdDSA"], issuer=config.issuer, options=options
        )
        if read(claims["sid"]) is None:
            raise LookupError(claims["sid"])

    validate = sync.validate_session
    times = paired(
        lambda r: _timed(lambda p: validate(p.token), batches[r]),
        lambda r: _timed(by_hand, batches[r]),
        settings.rounds,
    )
    row_from(
        bench,
        "3",
        f"{backend.name} sync",
        "validate_session vs PyJWT decode + same read (rate)",
        times,
        ">=",
        1.15,
    )


def goal_passwords(
    bench: Bench, backend: Backend, keys: KeySet, config: AuthConfig, settings: Settings
) -> None:
    """Goal 4: login vs raw Argon2 verify + one raw write; register vs raw hash."""
    from argon2 import PasswordHasher as RawHasher
    from argon2 import Type

    raw = RawHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_cost,
        parallelism=config.argon2_parallelism,
        hash_len=config.argon2_hash_len,
        salt_len=config.argon2_salt_len,
        type=Type.ID,
    )
    sync = SyncAuthService(keys=keys, session_store=backend.store, config=config)
    password = "correct horse battery staple"  # noqa: S105 - a benchmark password
    user = sync.register_user({"id": "bench-user", "password": password})
    stored = user["password"]
    raw_write = backend.raw_write
    assert raw_write is not None

    def login(_r: int) -> float:
        t0 = time.perf_counter()
        sync.login(user, password)
        return time.perf_counter() - t0

    def reference(_r: int) -> float:
        record = new_session("bench-user", time.time(), config)
        t0 = time.perf_counter()
        raw.verify(stored, password)
        raw_write(record)
        return time.perf_counter() - t0

    times = paired(login, reference, settings.login_rounds)
    row_from(
        bench,
        "4",
        f"{backend.name} sync",
        "login vs raw Argon2 verify + one raw write",
        times,
        "<=",
        1.05,
        unit="ms",
    )
    if backend.name != "memory":
        return

    def register(_r: int) -> float:
        t0 = time.perf_counter()
        sync.register_user({"id": "u", "password": password})
        return time.perf_counter() - t0

    def raw_hash(_r: int) -> float:
        t0 = time.perf_counter()
        raw.hash(password)
        return time.perf_counter() - t0

    times = paired(register, raw_hash, settings.login_rounds)
    row_from(bench, "4", "-", "register_user vs raw Argon2 hash", times, "<=", 1.03, unit="ms")


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
    goals: Sequence[str] = ("floor", "cache", "pyjwt", "login"),
    *,
    sessions: int = 1000,
) -> None:
    """Goals 1-4 on the given backends."""
    keys = KeySet.from_pem(*_keypair())
    config = AuthConfig()
    for backend in backends:
        workload = Workload.create(keys, config, sessions)
        workload.save_into(backend.store)
        if "floor" in goals:
            goal_floor(bench, backend, keys, workload, settings)
        if "cache" in goals and backend.name in ("memory", "sqlite"):
            goal_cache(bench, backend, keys, workload, settings)
        if "pyjwt" in goals:
            goal_pyjwt(bench, backend, keys, workload, settings)
        if "login" in goals and backend.raw_write is not None:
            goal_passwords(bench, backend, keys, config, settings)


def _keypair() -> tuple[bytes, bytes]:
    from .keys import generate_keypair

    return generate_keypair()


def main(argv: Sequence[str] | None = None) -> int:
    """``secure-auth bench``: goals 1-4 on memory and SQLite, in under 30 s."""
    import argparse

    parser = argparse.ArgumentParser(prog="secure-auth bench", description=main.__doc__)
    parser.add_argument("--full", action="store_true", help="more rounds (slower, steadier)")
    args = parser.parse_args(argv)
    settings = Settings.for_mode(quick=not args.full)
    bench = Bench()
    print(machine_info())
    print("each ratio: secure-auth vs its raw reference, interleaved, median of rounds")
    started = time.perf_counter()
    with core_backends(("memory", "sqlite")) as backends:
        run_core_goals(bench, settings, backends)
    bench.print_table()
    print(f"\n{time.perf_counter() - started:.1f} s")
    return 0
