"""The async face hashes in threads that yield the CPU to the event loop."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from conftest import CHEAP
from secure_auth import AuthService, MemoryStore, generate_keypair


def own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_hashing_threads_run_at_a_lower_priority_than_the_event_loop() -> None:
    async def run() -> tuple[int, int]:
        service = AuthService(*generate_keypair(), MemoryStore(), config=CHEAP)
        await service.hash_password("correct horse")  # starts the hashing threads
        assert service._executor is not None
        loop = asyncio.get_running_loop()
        # Every thread of the executor ran its initializer: any one answers.
        worker = await loop.run_in_executor(service._executor, own_niceness)
        mine = own_niceness()
        await service.aclose()
        return worker, mine

    worker, mine = asyncio.run(run())
    assert worker > mine
