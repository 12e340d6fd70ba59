"""The async face hashes off the event loop, with bounded concurrency."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from conftest import CHEAP
from secure_auth import AuthService, InvalidCredentials, MemoryStore


class Observed:
    """Wraps argon2-cffi's hasher to record threads and concurrency (hashing stays real)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.threads: set[int] = set()
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def _enter(self) -> None:
        with self.lock:
            self.threads.add(threading.get_ident())
            self.active += 1
            self.peak = max(self.peak, self.active)

    def _exit(self) -> None:
        with self.lock:
            self.active -= 1

    def verify(self, h: str, p: str) -> bool:
        self._enter()
        try:
            return self.inner.verify(h, p)
        finally:
            self._exit()

    def hash(self, p: str) -> str:
        self._enter()
        try:
            return self.inner.hash(p)
        finally:
            self._exit()

    def check_needs_rehash(self, h: str) -> bool:
        return self.inner.check_needs_rehash(h)


def test_hashing_never_runs_on_the_event_loop_thread(keypair) -> None:
    async def main() -> Observed:
        auth = AuthService(*keypair, MemoryStore(), config=CHEAP)
        observed = Observed(auth._hasher._hasher)
        auth._hasher._hasher = observed
        user = await auth.register_user({"id": "a", "password": "pw"})
        await auth.login(user, "pw")
        loop_thread = threading.get_ident()
        assert loop_thread not in observed.threads and observed.threads
        await auth.aclose()
        return observed

    asyncio.run(main())


def test_a_thousand_simultaneous_logins_hash_at_most_n_at_once(keypair) -> None:
    config = CHEAP.replace(hash_concurrency=3)

    async def main() -> None:
        auth = AuthService(*keypair, MemoryStore(), config=config)
        user = await auth.register_user({"id": "a", "password": "pw"})
        observed = Observed(auth._hasher._hasher)
        auth._hasher._hasher = observed
        results = await asyncio.gather(
            *(auth.login(user, "pw" if i % 2 else "bad") for i in range(1000)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, InvalidCredentials) for r in results) == 500
        assert sum(not isinstance(r, BaseException) for r in results) == 500
        # Memory held by Argon2 is bounded by the concurrency, not the load.
        assert 1 <= observed.peak <= 3
        await auth.aclose()

    asyncio.run(main())


def test_event_loop_keeps_serving_while_logins_hash(keypair) -> None:
    """Other coroutines make progress during a burst of real Argon2 work."""
    config = CHEAP.replace(argon2_memory_cost=8192, argon2_time_cost=2, hash_concurrency=2)

    async def main() -> None:
        auth = AuthService(*keypair, MemoryStore(), config=config)
        user = await auth.register_user({"id": "a", "password": "pw"})
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.gather(*(auth.login(user, "pw") for _ in range(8)))
        done.set()
        await task
        # If hashing ran on the loop, the ticker could only run between logins (<= ~16).
        assert ticks > 100
        await auth.aclose()

    asyncio.run(main())
