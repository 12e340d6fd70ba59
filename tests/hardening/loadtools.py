"""Drivers for the load and fault tests: many validators, one event, outcomes counted.

Each validation is recorded as ``(start, outcome)`` with ``start`` from
``time.perf_counter()``, so a test can say which validations *started*
after an event (a revoke returning, a server dying) and what they got.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from secure_auth import AuthError, SessionRevoked, StoreUnavailable

OK, REVOKED, DOWN = "ok", "revoked", "down"


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, StoreUnavailable):
        return DOWN
    if isinstance(exc, SessionRevoked):
        return REVOKED
    if isinstance(exc, AuthError):
        return type(exc).__name__
    raise exc  # anything else is a bug the test must see


@dataclass
class Tally:
    """Every validation of a run, in the order each worker made them."""

    records: list[tuple[float, str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, start: float, outcome: str) -> None:
        end = time.perf_counter()
        with self.lock:
            self.records.append((start, outcome, end))

    def __len__(self) -> int:
        return len(self.records)

    def between(self, start: float, end: float = float("inf")) -> dict[str, int]:
        """Outcomes of the validations that *started* in ``[start, end)``."""
        counts: dict[str, int] = {}
        for s, outcome, _ in list(self.records):
            if start <= s < end:
                counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def within(self, start: float, end: float) -> dict[str, int]:
        """Outcomes of the validations that started *and ended* in ``[start, end)``."""
        counts: dict[str, int] = {}
        for s, outcome, e in list(self.records):
            if start <= s and e < end:
                counts[outcome] = counts.get(outcome, 0) + 1
        return counts


def run_threads(
    validate: Callable[[], Any],
    scenario: Callable[[Tally], None],
    *,
    workers: int = 8,
) -> Tally:
    """``workers`` threads validate in a loop while ``scenario(tally)`` runs."""
    tally = Tally()
    stop = threading.Event()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    validate()
                except Exception as exc:
                    tally.add(start, outcome_of(exc))
                else:
                    tally.add(start, OK)
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    try:
        scenario(tally)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    if failures:
        raise failures[0]
    return tally


async def run_tasks(
    validate: Callable[[], Awaitable[Any]],
    scenario: Callable[[Tally], Awaitable[None]],
    *,
    workers: int = 8,
) -> Tally:
    """``workers`` tasks validate in a loop while ``await scenario(tally)`` runs."""
    tally = Tally()
    stop = False

    async def work() -> None:
        while not stop:
            start = time.perf_counter()
            try:
                await validate()
            except Exception as exc:
                tally.add(start, outcome_of(exc))
            else:
                tally.add(start, OK)
            await asyncio.sleep(0)  # in-process stores never suspend: let others run

    tasks = [asyncio.create_task(work()) for _ in range(workers)]
    try:
        await scenario(tally)
    finally:
        stop = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return tally


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


async def await_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
