"""Revocation under load: after ``logout`` returns, no validation succeeds.

Eight workers (threads on the blocking face, tasks on the async face)
validate one session in a loop; another revokes it half-way. Every
validation records when it *started*; none that started after the revoke
returned may succeed. At least 10,000 validations per run, on every store.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import CHEAP
from secure_auth import AuthService, MemoryStore, SQLiteStore, SyncAuthService

from .loadtools import OK, REVOKED, Tally, await_for, run_tasks, run_threads, wait_for

TOTAL = 10_000
BEFORE = TOTAL // 2
AFTER = 2_000  # at least this many must start after the revoke returned

Cleanup = Callable[[], None]
# name -> (tmp folder, async?) -> (store, cleanup after the run)
StoreFactory = Callable[[Path, bool], tuple[Any, Cleanup]]


def _nothing() -> None:
    return None


def _memory(tmp: Path, is_async: bool) -> tuple[Any, Cleanup]:
    return MemoryStore(), _nothing


def _sqlite(tmp: Path, is_async: bool) -> tuple[Any, Cleanup]:
    return SQLiteStore(tmp / "auth.db"), _nothing


def _redis(tmp: Path, is_async: bool) -> tuple[Any, Cleanup]:
    """The shared Redis (SECURE_AUTH_REDIS_URL), under a prefix of this run."""
    from redis_servers import delete_prefix, redis_store, shared_redis_url

    url = shared_redis_url()
    prefix = "revoke-" + secrets.token_hex(4)
    store = redis_store("async" if is_async else "sync", url, prefix=prefix)
    return store, lambda: delete_prefix(url, prefix)


def _postgresql(tmp: Path, is_async: bool) -> tuple[Any, Cleanup]:
    """The shared PostgreSQL of the contract suite, under a table prefix of this run."""
    from contract.backend_sql import connect_args, require, server_url
    from secure_auth.stores.sql import AsyncSQLStore, SQLStore

    require("postgresql")
    prefix = "revoke" + secrets.token_hex(4) + "_"
    admin_url = server_url("postgresql", is_async=False)
    admin = SQLStore(admin_url, table_prefix=prefix, connect_args=connect_args(admin_url))
    admin.create_schema()

    def cleanup() -> None:
        admin.drop_schema()
        admin.close()

    if not is_async:
        return SQLStore(
            admin_url, table_prefix=prefix, connect_args=connect_args(admin_url)
        ), cleanup
    url = server_url("postgresql", is_async=True)
    return AsyncSQLStore(url, table_prefix=prefix, connect_args=connect_args(url)), cleanup


STORES: dict[str, StoreFactory] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "redis": _redis,
    "postgresql": _postgresql,
}


def check(tally: Tally, revoked_at: float) -> None:
    after = tally.between(revoked_at)
    before = tally.between(0.0, revoked_at)
    assert len(tally) >= TOTAL
    assert after.get(OK, 0) == 0, f"validations that started after the revoke succeeded: {after}"
    assert set(after) == {REVOKED} and after[REVOKED] >= AFTER, after
    assert before.get(OK, 0) >= BEFORE // 2, before


def enough(tally: Tally, revoked_at: float) -> bool:
    return len(tally) >= TOTAL and sum(tally.between(revoked_at).values()) >= AFTER


def revocation_sync(store: Any, keypair: tuple[bytes, bytes]) -> None:
    auth = SyncAuthService(*keypair, store, config=CHEAP)
    user = auth.register_user({"id": "u", "password": "pw"})
    tokens = auth.login(user, "pw")
    revoked_at = [float("inf")]

    def scenario(tally: Tally) -> None:
        wait_for(lambda: len(tally) >= BEFORE, 60, "validations before the revoke")
        auth.logout(tokens.session_id)
        revoked_at[0] = time.perf_counter()
        wait_for(lambda: enough(tally, revoked_at[0]), 60, "validations after the revoke")

    tally = run_threads(lambda: auth.validate_session(tokens.access_token), scenario)
    auth.close()
    check(tally, revoked_at[0])


def revocation_async(store: Any, keypair: tuple[bytes, bytes]) -> None:
    revoked_at = [float("inf")]

    async def main() -> Tally:
        auth = AuthService(*keypair, store, config=CHEAP)
        user = await auth.register_user({"id": "u", "password": "pw"})
        tokens = await auth.login(user, "pw")

        async def scenario(tally: Tally) -> None:
            await await_for(lambda: len(tally) >= BEFORE, 60, "validations before the revoke")
            await auth.logout(tokens.session_id)
            revoked_at[0] = time.perf_counter()
            await await_for(lambda: enough(tally, revoked_at[0]), 60, "after the revoke")

        try:
            return await run_tasks(lambda: auth.validate_session(tokens.access_token), scenario)
        finally:
            await auth.aclose()

    check(asyncio.run(main()), revoked_at[0])


@pytest.mark.parametrize("backend", list(STORES))
def test_no_validation_succeeds_after_revoke_threads(backend: str, keypair, tmp_path) -> None:
    store, cleanup = STORES[backend](tmp_path, False)
    try:
        revocation_sync(store, keypair)
    finally:
        cleanup()


@pytest.mark.parametrize("backend", list(STORES))
def test_no_validation_succeeds_after_revoke_tasks(backend: str, keypair, tmp_path) -> None:
    store, cleanup = STORES[backend](tmp_path, True)
    try:
        revocation_async(store, keypair)
    finally:
        cleanup()
