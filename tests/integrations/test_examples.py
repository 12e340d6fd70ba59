"""Each example in ``examples/`` as a real server process, called over real HTTP.

uvicorn serves Starlette, FastAPI and Django (ASGI); the Flask CLI serves
Flask (werkzeug); ``python -m aiohttp.web`` serves aiohttp. The servers start
together (module fixture), each on a free loopback port, in its own temporary
working directory with a key pair given through ``JWT_PRIVATE_KEY`` /
``JWT_PUBLIC_KEY``. Then every example must go through
login -> protected route -> refresh -> logout -> 401.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _apps import require

from secure_auth import write_keypair

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
STARTUP_TIMEOUT = 30.0


def _uvicorn(target: str, port: int) -> list[str]:
    app_dir = ["--app-dir", str(EXAMPLES)]
    return [sys.executable, "-m", "uvicorn", target, *app_dir, "--port", str(port)]


COMMANDS = {
    "starlette": lambda port: _uvicorn("starlette_app:app", port),
    "fastapi": lambda port: _uvicorn("fastapi_app:app", port),
    "django": lambda port: _uvicorn("django_app:application", port),
    "flask": lambda port: [
        sys.executable,
        "-m",
        "flask",
        "--app",
        str(EXAMPLES / "flask_app.py"),
        "run",
        "--port",
        str(port),
    ],
    "aiohttp": lambda port: [
        sys.executable,
        "-m",
        "aiohttp.web",
        "-H",
        "127.0.0.1",
        "-P",
        str(port),
        "aiohttp_app:init_app",
    ],
}


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"{server.name} example exited:\n{server.output()}")
        try:
            httpx.get(server.base_url + "/auth/login", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return
    pytest.fail(f"{server.name} example did not start in time:\n{server.output()}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    require("uvicorn", "starlette", "fastapi", "flask", "django", "aiohttp")
    keys = tmp_path_factory.mktemp("keys")
    private, public = write_keypair(keys)
    env = {
        **os.environ,
        "JWT_PRIVATE_KEY": str(private),
        "JWT_PUBLIC_KEY": str(public),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(EXAMPLES)]),
        "PYTHONUNBUFFERED": "1",
    }
    started: dict[str, Server] = {}
    try:
        for name, command in COMMANDS.items():
            workdir = tmp_path_factory.mktemp(name)
            port = _free_port()
            log = workdir / "server.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    command(port), cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT
                )
            started[name] = Server(name, process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for server in started.values():
            _wait_until_up(server, deadline)
        yield started
    finally:
        for server in started.values():
            server.process.terminate()
        for server in started.values():
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_example_login_refresh_logout(servers: dict[str, Server], name: str) -> None:
    server = servers[name]
    with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        response = client.post("/auth/login", json={"login": "alice", "password": "wonderland"})
        assert response.status_code == 200, server.output()
        tokens = response.json()

        def me(access_token: str) -> httpx.Response:
            return client.get("/me", headers={"Authorization": f"Bearer {access_token}"})

        answer = me(tokens["access_token"])
        assert answer.json()["user_id"] == "1"
        # The adapter's security-headers helper is wired in (clickjacking, sniffing).
        for response in (answer, client.get("/me"), response):
            assert response.headers["x-frame-options"] == "DENY", name
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"

        response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert response.status_code == 200, response.text
        rotated = response.json()
        assert rotated["refresh_token"] != tokens["refresh_token"]
        assert rotated["session_id"] == tokens["session_id"]
        assert me(rotated["access_token"]).status_code == 200

        bearer = {"Authorization": f"Bearer {rotated['access_token']}"}
        assert client.post("/auth/logout", headers=bearer).status_code == 204

        response = me(rotated["access_token"])
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_token"}
        assert response.headers["www-authenticate"].startswith("Bearer realm=")
