"""Goal 7 (and issue 3): validation cost at 1M sessions vs 1k, bytes per session.

For each store (SQLite, Redis, PostgreSQL) two namespaces are filled, one
with 1k sessions and one with 1M (``--quick``: 20k), by bulk writes in the
store's own format: ``executemany`` in one transaction (SQLite), pipelined
commands the store itself would send (Redis), ``COPY`` (PostgreSQL). Then
``validate_session`` runs on first-seen tokens of random sessions of each
namespace, turn about, wall clock; the ratio is time(1M) / time(1k).

Size per session: the SQLite file (after a WAL checkpoint), Redis
``used_memory`` (its growth during the large fill), PostgreSQL
``pg_total_relation_size`` of the sessions table (table + indexes + TOAST),
each divided by the number of sessions. Every namespace is removed at the end.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from secure_auth import AuthConfig, KeySet, generate_keypair
from secure_auth._bench import (
    SESSION_COLUMNS,
    Backend,
    Bench,
    Faces,
    Row,
    Settings,
    Workload,
    interleaved,
    record_row,
    sqlite_backend,
    timed_loop,
)
from secure_auth.models import SessionRecord

from .backends import Unavailable, delete_prefix, postgres_backend, redis_backend

SMALL = 1_000
SAMPLE = 2_000  # sessions per namespace that tokens are made for


def records(
    count: int, now: float, config: AuthConfig, store: Any = None
) -> Iterator[SessionRecord]:
    """``count`` live sessions of 50k users, with the ids ``store`` mints (as the service would)."""
    mint = getattr(store, "new_session_id", None)
    for i in range(count):
        user_id = f"user-{i % 50_000}"
        yield SessionRecord(
            session_id=mint(user_id) if mint is not None else secrets.token_urlsafe(32),
            user_id=user_id,
            created_at=now,
            expires_at=now + config.session_max_age,
            last_used_at=now,
            auth_method="password",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) bench",
            ip_address="203.0.113.7",
        )


def chunks(items: Iterator[SessionRecord], size: int) -> Iterator[list[SessionRecord]]:
    batch: list[SessionRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Sampler:
    """Keeps a uniform random sample of what streams through (reservoir)."""

    def __init__(self, size: int, seed: int = 11) -> None:
        self.size = size
        self.items: list[SessionRecord] = []
        self.seen = 0
        self._random = random.Random(seed)

    def __call__(self, batch: Sequence[SessionRecord]) -> None:
        for item in batch:
            self.seen += 1
            if len(self.items) < self.size:
                self.items.append(item)
            else:
                j = self._random.randrange(self.seen)
                if j < self.size:
                    self.items[j] = item


# -- bulk fills ------------------------------------------------------------------------

Fill = Callable[[Backend, int, Sampler], None]


def fill_sqlite(backend: Backend, count: int, sample: Sampler) -> None:
    path = backend.store.path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    for batch in chunks(records(count, time.time(), AuthConfig(), backend.store), 20_000):
        sample(batch)
        conn.executemany(
            f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [record_row(r) for r in batch],
        )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def fill_redis(backend: Backend, count: int, sample: Sampler) -> None:
    store = backend.store
    first = True
    for batch in chunks(records(count, time.time(), AuthConfig(), backend.store), 2_000):
        sample(batch)
        if first or not hasattr(store, "_save_session"):
            # The first save through the store loads its scripts; a store
            # without plans gets every record this (slow) way.
            for record in batch if not hasattr(store, "_save_session") else batch[:1]:
                store.save_session(record)
            rest = batch[1:] if hasattr(store, "_save_session") else []
            first = False
        else:
            rest = batch
        if not rest:
            continue
        # The commands the store itself sends for a new session, pipelined:
        # its plan is stepped with the replies a new session gets (none).
        pipe = store.client.pipeline(transaction=False)
        for record in rest:
            plan = store._save_session(record)
            step = next(plan)
            with contextlib.suppress(StopIteration):
                while True:
                    pipe.execute_command(*step.wire())
                    step = plan.send(None)
        pipe.execute()


def fill_postgres(backend: Backend, count: int, sample: Sampler) -> None:
    import psycopg

    from .backends import POSTGRES_URL

    table = f"{backend.store.table_prefix}sessions"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        copy_in = f"COPY {table} ({SESSION_COLUMNS}) FROM STDIN"
        with conn.cursor() as cur, cur.copy(copy_in) as copy:
            for batch in chunks(records(count, time.time(), AuthConfig(), backend.store), 20_000):
                sample(batch)
                for r in batch:
                    copy.write_row(record_row(r))
        conn.execute(f"ANALYZE {table}")


# -- sizes -----------------------------------------------------------------------------


def size_sqlite(backend: Backend) -> int:
    return Path(backend.store.path).stat().st_size


def redis_used_memory(backend: Backend) -> int:
    return int(backend.store.client.info("memory")["used_memory"])


def size_postgres(backend: Backend) -> int:
    import psycopg

    from .backends import POSTGRES_URL

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_total_relation_size(%s)", (f"{backend.store.table_prefix}sessions",)
        ).fetchone()
    assert row is not None
    return int(row[0])


# -- the goal --------------------------------------------------------------------------


@contextlib.contextmanager
def opened(name: str, tag: str, folder: Path) -> Iterator[Backend]:
    if name == "sqlite":
        sub = folder / tag
        sub.mkdir()
        backend = sqlite_backend(sub)
    elif name == "redis":
        backend = redis_backend(tag=tag)
    else:
        backend = postgres_backend(tag=tag)
    try:
        yield backend
    finally:
        backend.close()


def measure(bench: Bench, name: str, settings: Settings, folder: Path, large: int) -> None:
    fill: Fill = {"sqlite": fill_sqlite, "redis": fill_redis, "postgresql": fill_postgres}[name]
    keys = KeySet.from_pem(*generate_keypair())
    config = AuthConfig()
    with opened(name, "s1k", folder) as small_b, opened(name, "s1m", folder) as large_b:
        samples = {}
        sizes = {}
        fill_seconds = 0.0
        for backend, count in ((small_b, SMALL), (large_b, large)):
            sample = Sampler(SAMPLE)
            before = redis_used_memory(backend) if name == "redis" else 0
            t0 = time.perf_counter()
            fill(backend, count, sample)
            fill_seconds = time.perf_counter() - t0
            if name == "redis":
                sizes[count] = redis_used_memory(backend) - before
            elif name == "sqlite":
                sizes[count] = size_sqlite(backend)
            else:
                sizes[count] = size_postgres(backend)
            samples[count] = sample.items
        faces = {
            count: Faces.open(b, keys, config) for b, count in ((small_b, SMALL), (large_b, large))
        }
        try:
            work = {count: Workload(keys, config, samples[count]) for count in samples}
            rounds, batch = settings.rounds, settings.batch
            validate_small = faces[SMALL].sync.validate_session  # type: ignore[union-attr]
            validate_large = faces[large].sync.validate_session  # type: ignore[union-attr]
            small_tokens = work[SMALL].batches(rounds, batch)
            large_tokens = work[large].batches(rounds, batch)
            # One list of pairs per round: the chunks of both sides line up.
            paired = {
                r: list(zip(large_tokens[r], small_tokens[r], strict=True)) for r in small_tokens
            }
            times = interleaved(
                timed_loop(lambda p: validate_large(p[0].token), time.perf_counter),
                timed_loop(lambda p: validate_small(p[1].token), time.perf_counter),
                paired,
                rounds,
            )
        finally:
            for f, b in ((faces[SMALL], small_b), (faces[large], large_b)):
                f.close(b)
            if name == "redis":
                for b in (small_b, large_b):
                    delete_prefix(b.store.client, b.store.prefix)
        subj, ref = times
        per_session = sizes[large] / large
        bench.add(
            Row(
                goal="7",
                backend=f"{name} sync",
                what=f"validate_session at {large // 1000}k sessions vs 1k",
                subject=statistics.median(subj),
                reference=statistics.median(ref),
                ratio=statistics.median(s / r for s, r in zip(subj, ref, strict=True)),
                op="<=",
                target=1.2,
                note=(
                    f"{1 / statistics.median(ref):.0f}/s at 1k, "
                    f"{1 / statistics.median(subj):.0f}/s at {large // 1000}k; "
                    f"{per_session:.0f} bytes/session "
                    f"({_size_label(name)}); filled {large} in {fill_seconds:.0f} s"
                ),
            )
        )


def _size_label(name: str) -> str:
    return {
        "sqlite": "file size",
        "redis": "used_memory growth",
        "postgresql": "pg_total_relation_size: table + indexes",
    }[name]


def run(bench: Bench, settings: Settings, backends: Sequence[str], folder: Path) -> None:
    large = 20_000 if settings.quick else 1_000_000
    for name in ("sqlite", "redis", "postgresql"):
        if name not in backends:
            continue
        try:
            measure(bench, name, settings, folder, large)
        except Unavailable as exc:
            bench.note(f"goal 7 {name} skipped: {exc}")
