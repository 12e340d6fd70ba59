"""Private database servers for the fault tests: started here, killed here.

Each runs on a free loopback port with its data in a temp folder, so a test
can kill it mid-traffic (SIGKILL, like a crash or an OOM kill) and start it
again on the same port and data. Durable settings (Redis: AOF with fsync on
every write; PostgreSQL: its WAL) mean a session that existed before the
crash exists after it: recovery is observable as "valid again".

Missing binaries go through ``skip_or_fail``: skipped locally, a failure
under CI.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import skip_or_fail


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # in the child, before exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class _Server:
    port: int
    process: subprocess.Popen[bytes] | None = None

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        return _accepts(self.port)

    def _preexec(self) -> None:
        _die_with_parent()

    def start(self, timeout: float = 20.0) -> None:
        self.process = subprocess.Popen(
            self._argv(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=self._preexec,
            start_new_session=True,  # its own process group: kill() takes every child
        )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{type(self).__name__} exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} did not start in {timeout} s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown, no goodbye to clients.

        The group matters for PostgreSQL: its backends outlive a killed
        postmaster for a while, and would keep answering open connections.
        """
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                self.process.kill()
            self.process.wait(10)
        self.process = None
        deadline = time.monotonic() + 5
        while _accepts(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def __enter__(self) -> _Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


class RedisServer(_Server):
    """``redis-server`` with AOF and ``appendfsync always``: a kill loses nothing."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            skip_or_fail("redis-server is not installed")
        self.binary = str(binary)
        self.folder = folder
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _argv(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--daemonize", "no",
        ]  # fmt: skip

    def _ready(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        skip_or_fail(f"PostgreSQL's {name} is not installed")
    return found[-1]


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster (``initdb``) with trust auth on loopback.

    PostgreSQL refuses to run as root, so as root the cluster belongs to,
    and runs as, the ``postgres`` system user, in a folder of its own
    (pytest's temp folders are private to root). :meth:`remove` deletes it.
    """

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="secure-auth-pg-"))
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.postgres = _postgres_bin("postgres")
        self.uid = self.gid = None
        if os.geteuid() == 0:
            import pwd

            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                skip_or_fail("running as root and there is no 'postgres' user")
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        initdb = _postgres_bin("initdb")
        done = subprocess.run(
            [
                initdb,
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            capture_output=True,
            preexec_fn=self._drop,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.decode()[-500:]}")

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _drop(self) -> None:
        if self.uid is not None and self.gid is not None:
            os.setgid(self.gid)
            os.setuid(self.uid)

    def _preexec(self) -> None:
        self._drop()
        _die_with_parent()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def async_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _argv(self) -> list[str]:
        return [
            self.postgres,
            "-D", str(self.data),
            "-p", str(self.port),
            "-k", str(self.folder),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=on",
            "-c", "max_connections=50",
        ]  # fmt: skip

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname="postgres",
                connect_timeout=1,
            ) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False
