"""Goal 5: logins never block the event loop, and memory stays bounded.

* Ticker: a task that sleeps 1 ms in a loop records the longest gap between
  two of its wake-ups while N logins run concurrently on ``AuthService``
  (production Argon2id: 64 MiB, t=3, p=4); the median of three runs. The
  same ticker with no logins running is measured in the same run: on a
  shared machine it shows how much of the worst gap is not ours.
* Memory: a child process runs M concurrent logins; this process samples
  the child's RSS with psutil every 2 ms. The bound: base + (semaphore size
  + 1) x 64 MiB, where the semaphore size is ``hash_concurrency`` (the
  number of Argon2 computations allowed at once) and base is the child's
  RSS once the service is built, just before the logins start.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from secure_auth import AuthConfig, AuthService, MemoryStore, generate_keypair
from secure_auth._bench import CLIENT_IP, Bench, Row, Settings

PASSWORD = "correct horse battery staple"
MIB = 2**20


def _ip(i: int) -> str:
    """Concurrent logins come from many clients: throttling counts attempts in
    flight per client (and forgives them on success), so one address would be
    refused after a few."""
    return f"198.51.100.{i % 250 + 1}"


class _Gaps:
    """Gaps between ticks, in a buffer allocated up front: a list that grew
    would now and then reallocate, and a large reallocation (an ``mremap``)
    waits for the page faults of the Argon2 threads, which the loop would
    then wrongly be charged for."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.values = [0.0] * capacity
        self.count = 0

    def add(self, gap: float) -> None:
        if self.count < len(self.values):
            self.values[self.count] = gap
            self.count += 1

    def clear(self) -> None:
        self.count = 0

    def recorded(self) -> list[float]:
        return self.values[: self.count]


async def _ticker(stop: asyncio.Event, gaps: _Gaps) -> None:
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = loop.time()
        gaps.add(now - last)
        last = now


async def _gaps(logins: int, service: AuthService, user: dict[str, Any]) -> tuple[float, float]:
    """(worst, p99) gap of the ticker while ``logins`` run (none: for one second)."""
    stop = asyncio.Event()
    gaps = _Gaps()
    ticker = asyncio.create_task(_ticker(stop, gaps))
    await asyncio.sleep(0.05)
    gaps.clear()  # the ticker's own start-up
    if logins:
        await asyncio.gather(
            *(service.login(user, PASSWORD, ip_address=_ip(i)) for i in range(logins))
        )
    else:
        await asyncio.sleep(1.0)
    stop.set()
    await ticker
    recorded = gaps.recorded()
    return max(recorded), statistics.quantiles(recorded, n=100)[98]


def ticker_goal(bench: Bench, settings: Settings) -> None:
    logins = 8 if settings.quick else 32
    rounds = 1 if settings.quick else 3
    service = AuthService(*generate_keypair(), MemoryStore())

    async def run() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        user = await service.register_user({"id": "u1", "password": PASSWORD})
        busy, idle = [], []
        for _ in range(rounds):
            idle.append(await _gaps(0, service, user))
            busy.append(await _gaps(logins, service, user))
        await service.aclose()
        return busy, idle

    busy, idle = asyncio.run(run())
    worst = statistics.median(b[0] for b in busy)
    bench.add(
        Row(
            goal="5",
            backend="memory async",
            what=f"worst 1 ms ticker gap, {logins} concurrent logins",
            subject=worst,
            reference=0.010,
            ratio=worst / 0.010,
            op="<=",
            target=1.0,
            unit="ms",
            note=(
                f"ratio = gap / 10 ms; median of {rounds} runs; p99 gap "
                f"{statistics.median(b[1] for b in busy) * 1e3:.1f} ms; the same ticker with "
                f"no logins: worst {statistics.median(i[0] for i in idle) * 1e3:.1f} ms, p99 "
                f"{statistics.median(i[1] for i in idle) * 1e3:.1f} ms"
            ),
        )
    )


# -- memory: the child process -----------------------------------------------------------


def _child(logins: int) -> None:
    """Build the service, report ready, wait for 'go', run the logins, report."""

    async def run() -> None:
        service = AuthService(*generate_keypair(), MemoryStore(), config=AuthConfig())
        user = await service.register_user({"id": "u1", "password": PASSWORD})
        await service.login(
            user, PASSWORD, ip_address=CLIENT_IP
        )  # threads and pools exist before the base
        print(json.dumps({"ready": service.config.effective_hash_concurrency}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        started = time.perf_counter()
        await asyncio.gather(
            *(service.login(user, PASSWORD, ip_address=_ip(i)) for i in range(logins))
        )
        print(json.dumps({"done": time.perf_counter() - started}), flush=True)
        await service.aclose()

    asyncio.run(run())


def memory_goal(bench: Bench, settings: Settings) -> None:
    import psutil

    logins = 20 if settings.quick else 200
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.concurrency", "--child", str(logins)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        slots = json.loads(child.stdout.readline())["ready"]
        proc = psutil.Process(child.pid)
        time.sleep(0.2)
        base = proc.memory_info().rss
        peak = base
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                try:
                    peak = max(peak, proc.memory_info().rss)
                except psutil.Error:
                    return
                time.sleep(0.002)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        child.stdin.write("go\n")
        child.stdin.flush()
        elapsed = json.loads(child.stdout.readline())["done"]
        done.set()
        sampler.join()
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    memory_cost = AuthConfig().argon2_memory_cost * 1024
    limit = (slots + 1) * memory_cost
    growth = peak - base
    bench.add(
        Row(
            goal="5",
            backend="memory async",
            what=f"peak RSS growth, {logins} concurrent logins (64 MiB Argon2)",
            subject=growth,
            reference=limit,
            ratio=growth / limit,
            op="<=",
            target=1.0,
            unit="MiB",
            note=(
                f"limit (semaphore {slots} + 1) x 64 MiB; base RSS {base / MIB:.0f} MiB; "
                f"{logins} logins in {elapsed:.1f} s"
            ),
        )
    )


def run(bench: Bench, settings: Settings) -> None:
    ticker_goal(bench, settings)
    memory_goal(bench, settings)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]))
