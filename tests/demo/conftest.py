"""Fixtures for the demo: the app in-process (httpx) and a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from secure_auth.demo import Demo, DemoSettings, create_app, prepare

ORIGIN = "http://localhost:8000"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> DemoSettings:
    return DemoSettings(host="127.0.0.1", port=8000, data_dir=tmp_path / "data", cheap_hash=True)


@pytest.fixture
async def app(settings: DemoSettings) -> AsyncIterator[Starlette]:
    keys, _ = prepare(settings)
    app = create_app(settings, keys)
    yield app
    demo: Demo = app.state.demo
    await demo.service.aclose()
    demo.users.close()


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def make_client(app: Starlette) -> AsyncIterator[ClientFactory]:
    """Browser-like clients of one app, each with its own cookie jar. They send
    this site's Origin, as a browser does on a same-origin form POST."""
    clients: list[httpx.AsyncClient] = []

    def make(user_agent: str = FIREFOX, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(ip, 50000)),
            base_url=ORIGIN,
            headers={"origin": ORIGIN, "user-agent": user_agent},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return make_client()


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    demo: Demo


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo on uvicorn in a thread, at http://localhost:PORT (cheap Argon2)."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("demo-data")
    settings = DemoSettings(host="127.0.0.1", port=port, data_dir=data_dir, cheap_hash=True)
    keys, _ = prepare(settings)
    app = create_app(settings, keys)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the demo server did not start")
        time.sleep(0.02)
    yield LiveServer(settings.url, data_dir, app.state.demo)
    server.should_exit = True
    thread.join(10)
