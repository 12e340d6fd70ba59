"""``secure-auth demo``: the newcomer's first command."""

from __future__ import annotations

import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from .conftest import free_port


def test_demo_command_creates_keys_prints_the_url_and_serves(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "SECURE_AUTH_DEMO_CHEAP_HASH": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("JWT_PRIVATE_KEY", None)
    env.pop("JWT_PUBLIC_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "secure_auth", "demo", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    output: list[str] = []
    try:
        url = f"http://localhost:{port}"
        deadline = time.monotonic() + 20
        while not any(f"open {url}" in line for line in output):
            assert process.poll() is None, "".join(output)
            assert time.monotonic() < deadline, "no URL printed:\n" + "".join(output)
            try:
                output.append(lines.get(timeout=0.2))
            except queue.Empty:
                pass
        text = "".join(output)
        assert "Created an Ed25519 key pair" in text
        assert "test-only Argon2 parameters" in text
        assert stat.S_IMODE((data / "private.pem").stat().st_mode) == 0o600
        page = httpx.get(f"http://127.0.0.1:{port}/signin", timeout=5)
        assert page.status_code == 200 and "Sign in" in page.text
        assert (data / "sessions.db").exists()
        process.send_signal(signal.SIGINT)  # Ctrl+C
        assert process.wait(10) == 0
        reader.join(5)
        while not lines.empty():
            output.append(lines.get())
        assert "stopped." in output[-1] and "Traceback" not in "".join(output)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def test_a_busy_port_gets_a_hint_not_just_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "secure_auth",
                "demo",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "data"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode != 0
    assert f"Try: secure-auth demo --port {port + 1}" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_demo_extra_the_command_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['starlette'] = None  # as if the [demo] extra were not installed\n"
        "from secure_auth.cli import main\n"
        f"sys.exit(main(['demo', '--data-dir', {str(tmp_path / 'data')!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'secure-auth[demo]'" in done.stdout
    assert "logout" in done.stdout  # the command-line walkthrough ran instead
