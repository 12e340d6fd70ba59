"""Fixtures for the passkey tests: a relying party, stores, both faces.

Every flow test runs four times: sync and async face (``make_face``) times
the memory and SQLite stores (``store``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CHEAP, Face, FaceFactory
from secure_auth import AuthConfig, AuthEvent, MemoryStore, PasskeyCredential, SQLiteStore

from .softauthn import SoftAuthenticator

RP_ID = "login.example.com"
ORIGIN = "https://login.example.com"
PASSKEY_CONFIG = CHEAP.replace(rp_id=RP_ID, rp_name="Example", expected_origins=(ORIGIN,))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "memory":
        yield MemoryStore()
        return
    sqlite = SQLiteStore(tmp_path / "auth.db")
    yield sqlite
    sqlite.close()


@pytest.fixture
def events() -> list[AuthEvent]:
    return []


ServiceFactory = Callable[..., Face]


@pytest.fixture
def make_service(make_face: FaceFactory, store: object, events: list[AuthEvent]) -> ServiceFactory:
    """A service over ``store``; ``config`` defaults to PASSKEY_CONFIG."""

    def make(config: AuthConfig = PASSKEY_CONFIG, **kwargs: Any) -> Face:
        kwargs.setdefault("on_event", events.append)
        return make_face(store, config=config, **kwargs)

    return make


@pytest.fixture
def service(make_service: ServiceFactory) -> Face:
    return make_service()


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)


def register(
    service: Face,
    authenticator: SoftAuthenticator,
    user_id: str = "alice",
    *,
    label: str | None = None,
    **create: Any,
) -> PasskeyCredential:
    """The whole registration ceremony, for tests that need a passkey first."""
    options = service.register_passkey(user_id, f"{user_id}@example.com")
    response = authenticator.create(options, **create)
    credential: PasskeyCredential = service.finish_passkey_registration(
        user_id, response, label=label
    )
    return credential


def of_type(events: list[AuthEvent], type_: str) -> list[AuthEvent]:
    return [e for e in events if e.type == type_]


ROOT_SRC = Path(__file__).resolve().parents[2] / "src"
