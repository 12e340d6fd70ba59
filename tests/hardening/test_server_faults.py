"""Servers dying mid-traffic: validation fails closed, then recovers by itself.

A private Redis / PostgreSQL (``servers.py``) is killed with SIGKILL while
workers validate one session in a loop (threads on the blocking face, tasks
on the async face), then started again on the same port and data. Counted
by when each validation *started*:

* before the kill: successes;
* from the kill until the restart begins: **zero** successes, every one a
  ``StoreUnavailable`` (never "valid", never a raw driver error). Counted
  are the validations that started after the server was dead and ended
  before it was started again: the drivers retry, and a retry that lands
  on the restarted server rightly succeeds;
* after the server is back: successes again, from the same service and
  store objects (no restart of the application).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import CHEAP
from secure_auth import AuthService, SyncAuthService

from .loadtools import DOWN, OK, Tally, await_for, run_tasks, run_threads, wait_for
from .servers import PostgresServer, RedisServer

pytestmark = pytest.mark.integration

BEFORE, WHILE_DOWN, AFTER = 300, 100, 300


class Marks:
    killing = killed = restarting = up = 0.0


def check(tally: Tally, marks: Marks) -> None:
    # A validation in flight when the server dies fails: only outages, no errors.
    before = tally.between(0.0, marks.killing)
    down = tally.within(marks.killed, marks.restarting)
    after = tally.between(marks.up)
    assert set(before) <= {OK, DOWN} and before.get(OK, 0) >= BEFORE // 2, before
    assert down.get(OK, 0) == 0, f"validations succeeded while the server was down: {down}"
    assert set(down) == {DOWN} and down[DOWN] >= WHILE_DOWN, down
    assert set(after) <= {OK, DOWN} and after.get(OK, 0) >= AFTER, after
    # Once back, every validation succeeds (the pool reconnected by itself).
    late = tally.between(marks.up + (time.perf_counter() - marks.up) / 2)
    assert set(late) == {OK}, late


def count_since(tally: Tally, start: float, outcome: str) -> int:
    return tally.between(start).get(outcome, 0)


def sync_scenario(server: Any, marks: Marks) -> Any:
    def scenario(tally: Tally) -> None:
        wait_for(lambda: len(tally) >= BEFORE, 30, "validations before the kill")
        marks.killing = time.perf_counter()
        server.kill()
        marks.killed = time.perf_counter()
        wait_for(lambda: count_since(tally, marks.killed, DOWN) >= WHILE_DOWN, 60, "outage seen")
        marks.restarting = time.perf_counter()
        server.start()
        marks.up = time.perf_counter()
        wait_for(lambda: count_since(tally, marks.up, OK) >= AFTER, 60, "recovery")

    return scenario


def async_scenario(server: Any, marks: Marks) -> Any:
    async def scenario(tally: Tally) -> None:
        await await_for(lambda: len(tally) >= BEFORE, 30, "validations before the kill")
        marks.killing = time.perf_counter()
        await asyncio.to_thread(server.kill)
        marks.killed = time.perf_counter()
        await await_for(
            lambda: count_since(tally, marks.killed, DOWN) >= WHILE_DOWN, 60, "outage seen"
        )
        marks.restarting = time.perf_counter()
        await asyncio.to_thread(server.start)
        marks.up = time.perf_counter()
        await await_for(lambda: count_since(tally, marks.up, OK) >= AFTER, 60, "recovery")

    return scenario


# -- Redis --------------------------------------------------------------------------

REDIS_OPTIONS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}


def test_redis_killed_mid_traffic_threads(tmp_path: Path, keypair) -> None:
    redis_store = pytest.importorskip("secure_auth.stores.redis")
    with RedisServer(tmp_path) as server:
        store = redis_store.RedisStore.from_url(server.url, **REDIS_OPTIONS)
        auth = SyncAuthService(*keypair, store, config=CHEAP)
        tokens = auth.login(auth.register_user({"id": "u", "password": "pw"}), "pw")
        marks = Marks()
        tally = run_threads(
            lambda: auth.validate_session(tokens.access_token),
            sync_scenario(server, marks),
            workers=4,
        )
        auth.close()
    check(tally, marks)


def test_redis_killed_mid_traffic_tasks(tmp_path: Path, keypair) -> None:
    redis_store = pytest.importorskip("secure_auth.stores.redis")
    marks = Marks()

    async def main(server: RedisServer) -> Tally:
        store = redis_store.AsyncRedisStore.from_url(server.url, **REDIS_OPTIONS)
        auth = AuthService(*keypair, store, config=CHEAP)
        try:
            tokens = await auth.login(await auth.register_user({"id": "u", "password": "pw"}), "pw")
            return await run_tasks(
                lambda: auth.validate_session(tokens.access_token),
                async_scenario(server, marks),
            )
        finally:
            await auth.aclose()

    with RedisServer(tmp_path) as server:
        tally = asyncio.run(main(server))
    check(tally, marks)


# -- PostgreSQL -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Any:
    pytest.importorskip("secure_auth.stores.sql")
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_postgresql_restarted_mid_traffic_threads(postgres: PostgresServer, keypair) -> None:
    from secure_auth.stores.sql import SQLStore

    store = SQLStore(postgres.url, table_prefix="sync_", connect_args={"connect_timeout": 2})
    store.create_schema()
    auth = SyncAuthService(*keypair, store, config=CHEAP)
    tokens = auth.login(auth.register_user({"id": "u", "password": "pw"}), "pw")
    marks = Marks()
    tally = run_threads(
        lambda: auth.validate_session(tokens.access_token),
        sync_scenario(postgres, marks),
        workers=4,
    )
    auth.close()
    check(tally, marks)


def test_postgresql_restarted_mid_traffic_tasks(postgres: PostgresServer, keypair) -> None:
    from secure_auth.stores.sql import AsyncSQLStore

    marks = Marks()

    async def main() -> Tally:
        store = AsyncSQLStore(
            postgres.async_url, table_prefix="async_", connect_args={"timeout": 2}
        )
        await store.create_schema()
        auth = AuthService(*keypair, store, config=CHEAP)
        try:
            tokens = await auth.login(await auth.register_user({"id": "u", "password": "pw"}), "pw")
            return await run_tasks(
                lambda: auth.validate_session(tokens.access_token),
                async_scenario(postgres, marks),
            )
        finally:
            await auth.aclose()

    check(asyncio.run(main()), marks)
