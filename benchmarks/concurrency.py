"""Goal 5: logins never block the event loop, and memory stays bounded.

* Ticker: a task that sleeps 1 ms in a loop records the longest gap between
  two of its wake-ups while N logins run concurrently on ``AuthService``
  (production Argon2id: 64 MiB, t=3, p=4). The same ticker with no logins
  running is measured in the same run, for comparison.
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
import subprocess
import sys
import threading
import time
from typing import Any

from secure_auth import AuthConfig, AuthService, MemoryStore, generate_keypair
from secure_auth._bench import Bench, Row, Settings

PASSWORD = "correct horse battery staple"
MIB = 2**20


async def _ticker(stop: asyncio.Event, gaps: list[float]) -> None:
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = loop.time()
        gaps.append(now - last)
        last = now


async def _worst_gap(logins: int, service: AuthService, user: dict[str, Any]) -> float:
    stop = asyncio.Event()
    gaps: list[float] = []
    ticker = asyncio.create_task(_ticker(stop, gaps))
    await asyncio.sleep(0.05)
    gaps.clear()  # the ticker's own start-up
    if logins:
        await asyncio.gather(*(service.login(user, PASSWORD) for _ in range(logins)))
    else:
        await asyncio.sleep(1.0)
    stop.set()
    await ticker
    return max(gaps)


def ticker_goal(bench: Bench, settings: Settings) -> None:
    logins = 8 if settings.quick else 32
    service = AuthService(*generate_keypair(), MemoryStore())

    async def run() -> tuple[float, float]:
        user = await service.register_user({"id": "u1", "password": PASSWORD})
        idle = await _worst_gap(0, service, user)
        busy = await _worst_gap(logins, service, user)
        await service.aclose()
        return busy, idle

    busy, idle = asyncio.run(run())
    bench.add(
        Row(
            goal="5",
            backend="memory async",
            what=f"worst 1 ms ticker gap, {logins} concurrent logins",
            subject=busy,
            reference=0.010,
            ratio=busy / 0.010,
            op="<=",
            target=1.0,
            unit="ms",
            note=f"ratio = gap / 10 ms limit; idle ticker worst gap {idle * 1e3:.1f} ms",
        )
    )


# -- memory: the child process -----------------------------------------------------------


def _child(logins: int) -> None:
    """Build the service, report ready, wait for 'go', run the logins, report."""

    async def run() -> None:
        service = AuthService(*generate_keypair(), MemoryStore(), config=AuthConfig())
        user = await service.register_user({"id": "u1", "password": PASSWORD})
        await service.login(user, PASSWORD)  # threads and pools exist before the base
        print(json.dumps({"ready": service.config.effective_hash_concurrency}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        started = time.perf_counter()
        await asyncio.gather(*(service.login(user, PASSWORD) for _ in range(logins)))
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
