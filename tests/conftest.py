"""Shared fixtures: keys, cheap Argon2, an injectable clock, both service faces.

Both faces run the same behavioural tests through :class:`Face`, which gives
the async ``AuthService`` the blocking call style of ``SyncAuthService``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secure_auth import AuthConfig, AuthService, SyncAuthService, generate_keypair

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT.parent / "shared" / "vectors"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Cheap Argon2id (64 KiB, 1 pass): tests exercise the logic, not the cost.
CHEAP = AuthConfig(argon2_time_cost=1, argon2_memory_cost=64, argon2_parallelism=1)


def skip_or_fail(reason: str) -> None:
    """Skip locally, fail under CI: a store test must never silently not run."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


class Clock:
    """A settable clock, seconds since the epoch."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Face:
    """Calls either face with the blocking style; ``face.kind`` says which."""

    def __init__(self, service: AuthService | SyncAuthService) -> None:
        self.service = service
        self.kind = "async" if isinstance(service, AuthService) else "sync"
        self._loop = asyncio.new_event_loop() if self.kind == "async" else None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.service, name)
        if self._loop is None or not inspect.iscoroutinefunction(attr):
            return attr
        loop = self._loop

        def call(*args: Any, **kwargs: Any) -> Any:
            return loop.run_until_complete(attr(*args, **kwargs))

        return call

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self.service.aclose())  # type: ignore[union-attr]
            self._loop.close()


@pytest.fixture(scope="session")
def keypair() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture
def clock() -> Clock:
    return Clock()


FaceFactory = Callable[..., Face]


@pytest.fixture(params=["sync", "async"])
def make_face(
    request: pytest.FixtureRequest, keypair: tuple[bytes, bytes], clock: Clock
) -> Iterator[FaceFactory]:
    """Build a service of the parametrized face; extra kwargs go to the constructor."""
    faces: list[Face] = []
    cls = SyncAuthService if request.param == "sync" else AuthService

    def make(store: object, **kwargs: Any) -> Face:
        kwargs.setdefault("config", CHEAP)
        kwargs.setdefault("clock", clock)
        face = Face(cls(keypair[0], keypair[1], store, **kwargs))
        faces.append(face)
        return face

    yield make
    for face in faces:
        face.close()
