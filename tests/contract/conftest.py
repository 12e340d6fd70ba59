"""Fixtures of the store contract: every backend, blocking and async.

``handle`` gives the tests one calling style whatever the backend's form:
``handle.call("get_session", sid, now)`` and ``handle.race(n, method, args)``
(n truly concurrent calls: threads for blocking stores, tasks for async).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .backends import Backend

_PACKAGE = __name__.rsplit(".", 1)[0]


def _collect() -> list[Backend]:
    found: list[Backend] = []
    folder = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda i: i.name):
        if info.name.startswith("backend_"):
            module = importlib.import_module(f"{_PACKAGE}.{info.name}")
            found.extend(module.BACKENDS)
    return found


ALL_BACKENDS = _collect()


class Handle:
    """A store plus the way to call it (blocking or on a private loop)."""

    def __init__(self, store: Any, loop: asyncio.AbstractEventLoop | None, backend: Backend):
        self.store = store
        self.loop = loop
        self.backend = backend

    @property
    def kind(self) -> str:
        return "async" if self.loop is not None else "sync"

    def call(self, method: str, *args: Any) -> Any:
        result = getattr(self.store, method)(*args)
        if inspect.isawaitable(result):
            assert self.loop is not None
            return self.loop.run_until_complete(result)
        return result

    def race(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]:
        """Run every call at once; return results in order (exceptions included)."""
        fn = getattr(self.store, method)
        if self.loop is not None and inspect.iscoroutinefunction(fn):

            async def run_all() -> list[Any]:
                return await asyncio.gather(*(fn(*a) for a in calls), return_exceptions=True)

            return self.loop.run_until_complete(run_all())
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(fn, *a) for a in calls]
            out: list[Any] = []
            for f in futures:
                try:
                    out.append(f.result())
                except Exception as exc:
                    out.append(exc)
            return out


def _params(broken: bool) -> list[Any]:
    params = []
    for backend in ALL_BACKENDS:
        sync_f = backend.make_broken_sync if broken else backend.make_sync
        async_f = backend.make_broken_async if broken else backend.make_async
        if sync_f is not None:
            params.append(pytest.param((backend, "sync"), id=f"{backend.name}-sync"))
        if async_f is not None:
            params.append(pytest.param((backend, "async"), id=f"{backend.name}-async"))
    return params


def _open(request: pytest.FixtureRequest, tmp_path: Path, broken: bool) -> Iterator[Handle]:
    backend, kind = request.param
    ns = "t" + secrets.token_hex(6)
    if kind == "sync":
        factory = backend.make_broken_sync if broken else backend.make_sync
        with factory(ns, tmp_path) as store:
            yield Handle(store, None, backend)
        return
    factory = backend.make_broken_async if broken else backend.make_async
    loop = asyncio.new_event_loop()
    cm = factory(ns, tmp_path)
    try:
        store = loop.run_until_complete(cm.__aenter__())
        try:
            yield Handle(store, loop, backend)
        finally:
            loop.run_until_complete(cm.__aexit__(None, None, None))
    finally:
        loop.close()


@pytest.fixture(params=_params(broken=False))
def handle(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Handle]:
    yield from _open(request, tmp_path, broken=False)


@pytest.fixture(params=_params(broken=True))
def broken_handle(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Handle]:
    yield from _open(request, tmp_path, broken=True)
