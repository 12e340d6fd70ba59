"""``examples/asyncpg_store.py``, the three-method store of docs/stores.md, against PostgreSQL.

login -> validate -> logout -> rejected through a real ``AuthService``, and what
the service reports for a store this small.
"""

from __future__ import annotations

import importlib.util
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CHEAP
from contract.backend_sql import require, server_url
from secure_auth import AuthService, SessionRevoked, StoreUnavailable, UnsupportedByStore

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncpg_store.py"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("asyncpg_store_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def store() -> AsyncIterator[Any]:
    require("postgresql")
    dsn = server_url("postgresql", is_async=True).set(drivername="postgresql")
    table = "custom_" + secrets.token_hex(6)
    example = _load_example()
    made = await example.AsyncpgSessionStore.create(dsn.render_as_string(False), table=table)
    try:
        yield made
    finally:
        if not made.pool.is_closing():
            await made.pool.execute(f"DROP TABLE {table}")
            await made.pool.close()


async def test_minimal_store_logs_in_validates_and_logs_out(
    store: Any, keypair: tuple[bytes, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="secure_auth"):
        auth = AuthService(keypair[0], keypair[1], store, config=CHEAP)
    user = await auth.register_user({"id": "42", "password": "correct horse"})

    tokens = await auth.login(user, "correct horse")
    info = await auth.validate_session(tokens.access_token)
    assert (info.user_id, info.session_id) == ("42", tokens.session_id)
    assert info.auth_method is None  # a minimal store keeps no more than the Node table

    await auth.logout(tokens.session_id)
    with pytest.raises(SessionRevoked):
        await auth.validate_session(tokens.access_token)

    # What needs more than three methods is named at construction...
    assert auth.unsupported == {
        "refresh rotation": ("rotate_refresh", "get_session"),
        "list_sessions": ("list_sessions",),
        "logout_all / change_password": ("delete_user_sessions",),
    }
    assert "AsyncpgSessionStore lacks refresh rotation" in caplog.text
    # ...and refused when called.
    again = await auth.login(user, "correct horse")
    with pytest.raises(UnsupportedByStore):
        await auth.refresh(again.refresh_token)
    with pytest.raises(UnsupportedByStore):
        await auth.list_sessions("42")
    with pytest.raises(UnsupportedByStore):
        await auth.logout_all("42")
    await auth.logout(again.session_id)


async def test_a_failing_custom_store_fails_closed(
    store: Any, keypair: tuple[bytes, bytes]
) -> None:
    auth = AuthService(keypair[0], keypair[1], store, config=CHEAP)
    user = await auth.register_user({"id": "42", "password": "correct horse"})
    tokens = await auth.login(user, "correct horse")
    await auth.logout(tokens.session_id)
    await store.pool.execute(f"DROP TABLE {store.table}")
    await store.pool.close()  # every call now raises asyncpg's own error
    with pytest.raises(StoreUnavailable):
        await auth.validate_session(tokens.access_token)
