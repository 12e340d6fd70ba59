"""Goal 6: a protected JSON endpoint keeps >= 0.7x the rate of the open one.

Starlette + uvicorn (one worker, ``http_app.py``) serve ``/open`` (no auth)
and ``/sqlite``, ``/redis`` (the same JSON behind ``validate_session`` with
that store). wrk (one thread, 16 connections, loopback, fixed duration) hits
them turn about, several rounds, all with the same Lua script that sends a
``Authorization: Bearer`` header taken round-robin from 1000 tokens of 1000
live sessions: so each protected request does a real store read, and the
tokens are verified once, then served by the verified-token cache (what a
real client does: it sends the same access token for 15 minutes). When two
cores exist, the server and wrk are pinned to different ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from secure_auth import AuthConfig, KeySet, SQLiteStore, write_keypair
from secure_auth._bench import Bench, Row, Settings, Workload

from .backends import REDIS_URL, Unavailable, delete_prefix, namespace, reachable

LUA = """
local tokens = {}
for line in io.lines(os.getenv("SA_BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1]})
end
"""
SESSIONS = 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(cpu: int) -> list[str]:
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu)]
    return []


@contextlib.contextmanager
def server(env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            *_pin(1),
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.http_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/open", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wrk(url: str, seconds: float, script: Path, tokens: Path) -> tuple[float, int]:
    """``(requests per second, non-2xx answers)`` of one wrk run."""
    out = subprocess.run(
        [
            *_pin(0),
            "wrk",
            "-t1",
            "-c16",
            f"-d{seconds:g}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SA_BENCH_TOKENS": str(tokens)},
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if rate is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(rate.group(1)), int(bad.group(1)) if bad else 0


def run(bench: Bench, settings: Settings, backends: Sequence[str], folder: Path) -> None:
    if shutil.which("wrk") is None:
        bench.note("goal 6 skipped: wrk is not installed (apt-get install wrk)")
        return
    try:
        import uvicorn  # noqa: F401
        from starlette.applications import Starlette  # noqa: F401
    except ImportError:
        bench.note("goal 6 skipped: needs starlette and uvicorn")
        return
    from . import http_app

    folder = folder / "http"
    folder.mkdir()
    write_keypair(folder)
    keys = KeySet.load(folder)
    config = AuthConfig()
    env = {"SA_BENCH_KEYS": str(folder)}
    script = folder / "tokens.lua"
    script.write_text(LUA)
    tokens: dict[str, Path] = {}
    cleanup: list[contextlib.AbstractContextManager[object]] = []

    def write_tokens(name: str, workload: Workload) -> None:
        path = folder / f"{name}.tokens"
        path.write_text("\n".join(workload.token(r) for r in workload.records) + "\n")
        tokens[name] = path

    if "sqlite" in backends:
        store = SQLiteStore(folder / "sessions.db")
        workload = Workload.create(keys, config, SESSIONS, store=store)
        workload.save_into(store)
        store.close()
        env["SA_BENCH_SQLITE"] = str(folder / "sessions.db")
        write_tokens("sqlite", workload)
        env["SA_BENCH_SQLITE_TOKENS"] = str(tokens["sqlite"])
    redis_prefix = namespace("http").replace("_", "-")
    if "redis" in backends:
        try:
            from secure_auth.stores.redis import RedisStore

            if not reachable(REDIS_URL):
                raise Unavailable(f"no Redis at {REDIS_URL}")
            rstore = RedisStore.from_url(REDIS_URL, prefix=redis_prefix)
            workload = Workload.create(keys, config, SESSIONS, store=rstore)
            workload.save_into(rstore)
            env["SA_BENCH_REDIS"] = REDIS_URL
            env["SA_BENCH_REDIS_PREFIX"] = redis_prefix
            write_tokens("redis", workload)
            env["SA_BENCH_REDIS_TOKENS"] = str(tokens["redis"])
            cleanup.append(contextlib.closing(rstore))
        except (ImportError, Unavailable) as exc:
            bench.note(f"goal 6 without Redis: {exc}")
    if not tokens:
        bench.note("goal 6 skipped: neither sqlite nor redis selected")
        return
    seconds = 2 if settings.quick else 4
    rounds = 1 if settings.quick else 5
    try:
        with server(env) as base:
            names = ["open", *tokens, *(f"{n}-read" for n in tokens)]
            any_tokens = next(iter(tokens.values()))
            for name in names:  # warm-up: every token verified once, caches full
                wrk(
                    f"{base}/{name}",
                    2 if settings.quick else 3,
                    script,
                    tokens.get(name.removesuffix("-read"), any_tokens),
                )
            rates: dict[str, list[float]] = {n: [] for n in names}
            errors: dict[str, int] = dict.fromkeys(names, 0)
            for r in range(rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for name in order:
                    rate, bad = wrk(
                        f"{base}/{name}",
                        seconds,
                        script,
                        tokens.get(name.removesuffix("-read"), any_tokens),
                    )
                    rates[name].append(rate)
                    errors[name] += bad
            for name in names:
                print(f"  wrk {name:12s} " + " ".join(f"{r:6.0f}" for r in rates[name]), flush=True)
    finally:
        if "SA_BENCH_REDIS" in env:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            delete_prefix(client, redis_prefix)
            client.close()
        for item in cleanup:
            item.__exit__(None, None, None)
    for name in tokens:
        ratios = [p / o for p, o in zip(rates[name], rates["open"], strict=True)]
        bare = [p / o for p, o in zip(rates[f"{name}-read"], rates["open"], strict=True)]
        bench.add(
            Row(
                goal="6",
                backend=f"{name} http",
                what="protected JSON endpoint vs the same endpoint open (req/s)",
                subject=statistics.median(rates[name]),
                reference=statistics.median(rates["open"]),
                ratio=statistics.median(ratios),
                op=">=",
                target=0.7,
                unit="rps",
                note=(
                    f"{http_app.MODE}; a bare {name} read per request, no auth: "
                    f"{statistics.median(rates[f'{name}-read']):.0f} r/s, ratio "
                    f"{statistics.median(bare):.3f}; wrk -t1 -c16 -d{seconds}s x {rounds}"
                    + "".join(
                        f"; {errors[n]} non-2xx answers from /{n}!"
                        for n in ("open", name, f"{name}-read")
                        if errors[n]
                    )
                ),
            )
        )
