"""Real Redis servers for the tests: the shared one, private ones, a Cluster.

* :func:`shared_redis_url` is the server at ``SECURE_AUTH_REDIS_URL``
  (default ``redis://127.0.0.1:6379/0``); tests isolate themselves by key
  prefix.
* :class:`RedisServer` runs a private ``redis-server`` on a free loopback
  port (nothing on disk) that a test may kill and restart.
* :func:`cluster_url` starts, once per test session, a 3-node Redis Cluster
  on free loopback ports with ``redis-cli --cluster create`` and kills it at
  interpreter exit. It is started lazily by whichever test needs it first
  (the contract suite's backend factories cannot take fixtures), and the
  nodes also die with the test process (``PR_SET_PDEATHSIG`` on Linux).

Anything missing (``redis-server``, ``redis-cli``, the shared server) goes
through ``skip_or_fail``: skipped locally, a failure under ``CI=true``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from conftest import skip_or_fail

REDIS_URL = os.environ.get("SECURE_AUTH_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, cluster_bus: bool = False) -> int:
    """A loopback TCP port nobody listens on (right now).

    A Cluster node also needs ``port + 10000`` for its bus, so it must be at
    most 55535: those come from below Linux's ephemeral range (32768+).
    """
    if not cluster_bus:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 22700)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Cluster node")


def _die_with_parent() -> None:  # runs in the child, before exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _ping(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.2, socket_timeout=0.5, retry=None)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class RedisServer:
    """One private ``redis-server`` process on loopback that keeps nothing."""

    def __init__(self, port: int | None = None, *, folder: Path, cluster: bool = False) -> None:
        self.port = port or free_port(cluster_bus=cluster)
        self.folder = folder
        self.cluster = cluster
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 5.0) -> RedisServer:
        if REDIS_SERVER is None:
            skip_or_fail("redis-server is not installed")
        argv = [
            str(REDIS_SERVER),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.folder),
        ]
        if self.cluster:
            conf = self.folder / f"nodes-{self.port}.conf"
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", str(conf)]
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """SIGKILL: a crash, not a shutdown (nothing is saved anyway)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


class LocalCluster:
    """Three master nodes, no replicas, all 16384 slots covered."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="secure-auth-cluster-"))
        self.nodes = [RedisServer(folder=self.folder, cluster=True) for _ in range(3)]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, timeout: float = 10.0) -> LocalCluster:
        if REDIS_CLI is None:
            skip_or_fail("redis-cli is not installed")
        try:
            for node in self.nodes:
                for attempt in range(3):  # a random port may be taken meanwhile
                    try:
                        node.start()
                        break
                    except RuntimeError:
                        if attempt == 2:
                            raise
                        node.port = free_port(cluster_bus=True)
            addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
            create = ["--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"]
            subprocess.run(
                [str(REDIS_CLI), *create],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
            deadline = time.monotonic() + timeout
            while not all(self._ok(n.port) for n in self.nodes):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _ok(port: int) -> bool:
        client = redis.Redis(port=port, socket_timeout=0.5, retry=None)
        try:
            info = client.execute_command("CLUSTER", "INFO")
        except redis.RedisError:
            return False
        finally:
            client.close()
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


_shared_checked: bool | None = None
_cluster: LocalCluster | None = None
_cluster_error: str | None = None


def shared_redis_url() -> str:
    """The shared server's URL, or skip/fail when it does not answer."""
    global _shared_checked
    if _shared_checked is None:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, retry=None)
        try:
            _shared_checked = bool(client.ping())
        except redis.RedisError:
            _shared_checked = False
        finally:
            client.close()
    if not _shared_checked:
        skip_or_fail(f"no Redis answers at SECURE_AUTH_REDIS_URL ({REDIS_URL})")
    return REDIS_URL


def cluster_url() -> str:
    """The URL of one node of the session's Cluster, started on first use."""
    global _cluster, _cluster_error
    if _cluster is None and _cluster_error is None:
        if REDIS_SERVER is None or REDIS_CLI is None:
            _cluster_error = "redis-server / redis-cli are not installed"
        else:
            try:
                _cluster = LocalCluster().start()
            except Exception as exc:
                _cluster_error = f"could not start a Redis Cluster: {exc!r}"
            else:
                atexit.register(_cluster.stop)
    if _cluster is None:
        skip_or_fail(_cluster_error or "no Redis Cluster")
        raise AssertionError("unreachable")
    return _cluster.url


# -- helpers for the service-level Redis tests ------------------------------------


def face_kind(request: pytest.FixtureRequest) -> str:
    """``"sync"`` or ``"async"``: which face ``make_face`` builds in this test."""
    return str(request.node.callspec.params["make_face"])


def redis_store(kind: str, url: str, **options: Any) -> Any:
    """A store of the form the face needs; it owns (and closes) its client."""
    from secure_auth.stores.redis import AsyncRedisStore, RedisStore

    cls = AsyncRedisStore if kind == "async" else RedisStore
    return cls.from_url(url, **options)


def delete_prefix(url: str, prefix: str) -> None:
    """Remove a test's keys from a shared server."""
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.unlink(key)
    finally:
        client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, on a free loopback port."""
    server = RedisServer(folder=tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A fresh key prefix on the shared server, cleaned up afterwards."""
    url = shared_redis_url()
    name = "t" + secrets.token_hex(6)
    yield name
    delete_prefix(url, name)


def cluster_node_urls() -> list[str]:
    """Every node of the session's Cluster (starting it if needed)."""
    cluster_url()
    assert _cluster is not None
    return [node.url for node in _cluster.nodes]
