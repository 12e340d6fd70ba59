"""``python -m benchmarks [--quick] [--only NAME...] [--backends NAME...]``.

Runs the goals of issue 7 and prints each as a ratio against its reference,
then the whole ratio table (Markdown). ``--quick`` is a smoke run (under two
minutes); no threshold is ever asserted: the exit status is 0 unless
something crashed. A backend whose store is missing from this build or whose
server does not answer is skipped with a note.

Goals (``--only``): floor (1), cache (2), pyjwt (3), login (4), async (5),
http (6), scale (7); all of them by default. ``--only timing`` runs the
login timing study (``benchmarks/login_timing.py``, its own report, minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from secure_auth._bench import (
    CORE_GOALS,
    Backend,
    Bench,
    Settings,
    machine_info,
    memory_backend,
    run_core_goals,
    sqlite_backend,
)

from .backends import Unavailable, postgres_backend, redis_backend

GOALS = (*CORE_GOALS, "async", "http", "scale")
EXTRA = ("timing",)  # asked for by name only
BACKENDS = ("memory", "sqlite", "redis", "postgresql")


def open_backend(name: str, folder: Path) -> Backend:
    if name == "memory":
        return memory_backend()
    if name == "sqlite":
        return sqlite_backend(folder)
    if name == "redis":
        return redis_backend()
    if name == "postgresql":
        return postgres_backend()
    raise ValueError(name)


def servers() -> str:
    """Versions of the servers and tools the goals use, those that answer."""
    found = []
    with contextlib.suppress(Exception):
        import redis

        from .backends import REDIS_URL

        found.append(f"Redis {redis.Redis.from_url(REDIS_URL).info('server')['redis_version']}")
    with contextlib.suppress(Exception):
        import psycopg

        from .backends import POSTGRES_URL

        with psycopg.connect(POSTGRES_URL, connect_timeout=2) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            found.append(f"PostgreSQL {row[0] if row else '?'}")
    with contextlib.suppress(Exception):
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        found.append((out.stdout or out.stderr).split(" [")[0].strip())
    return ", ".join(found)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run, under two minutes")
    parser.add_argument(
        "--only", nargs="+", choices=GOALS + EXTRA, default=list(GOALS), metavar="NAME"
    )
    parser.add_argument(
        "--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS), metavar="NAME"
    )
    parser.add_argument("--markdown", type=Path, help="also write the ratio table to this file")
    args = parser.parse_args(argv)
    settings = Settings.for_mode(args.quick)
    bench = Bench()
    started = time.perf_counter()
    header = (
        f"{machine_info()}\n{servers()}\n{time.strftime('%Y-%m-%d %H:%M %Z')}, {load()} at start"
    )
    print(header)
    print(
        f"mode: {'quick' if args.quick else 'full'}; each ratio compares secure-auth with its "
        "reference, run turn about in the same process (median of the rounds)\n",
        flush=True,
    )
    core = [g for g in CORE_GOALS if g in args.only]
    with tempfile.TemporaryDirectory(prefix="secure-auth-bench-") as tmp:
        if core:
            for name in args.backends:
                try:
                    backend = open_backend(name, Path(tmp))
                except Unavailable as exc:
                    bench.note(f"{name} skipped: {exc}")
                    continue
                try:
                    run_core_goals(bench, settings, [backend], core)
                finally:
                    backend.close()
        if "async" in args.only:
            from . import concurrency

            concurrency.run(bench, settings)
        if "http" in args.only:
            from . import httpbench

            httpbench.run(bench, settings, args.backends, Path(tmp))
        if "scale" in args.only:
            from . import scale

            scale.run(bench, settings, args.backends, Path(tmp))
    if "timing" in args.only:
        from . import login_timing

        login_timing.main(["--rounds", "50", "--quick"] if args.quick else ["--markdown"])
    bench.print_table()
    elapsed = time.perf_counter() - started
    print(f"\n{elapsed:.0f} s", flush=True)
    print(f"{load()} at the end", flush=True)
    if args.markdown:
        args.markdown.write_text(
            f"{header}, {load()} at the end\n\n{bench.table()}\n\n({elapsed:.0f} s, "
            f"{'quick' if args.quick else 'full'} mode)\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
