"""A PostgreSQL restart under a running service: fail closed, then recover by itself.

The test runs its own PostgreSQL (``initdb`` into a temporary directory, started
and stopped with ``pg_ctl`` on a free port), because stopping the shared server
would disturb everything else. PostgreSQL refuses to run as root, so as root
the server runs as the ``postgres`` user through ``runuser``. When the private
server cannot be started the test skips locally and fails under CI.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import skip_or_fail
from contract.backend_sql import free_port
from secure_auth import StoreUnavailable
from secure_auth.stores.sql import AsyncSQLStore, SQLStore

pytestmark = pytest.mark.integration


class PrivatePostgres:
    """One throwaway PostgreSQL cluster: ``initdb`` once, then start/stop at will."""

    def __init__(self, bindir: Path, datadir: Path, port: int, run_as: list[str]) -> None:
        self.bindir, self.datadir, self.port, self.run_as = bindir, datadir, port, run_as

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.datadir / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.datadir} -F -c max_connections=20"
        log = str(self.datadir / "server.log")
        self._run(
            "pg_ctl", "start", "-w", "-D", str(self.datadir / "data"), "-l", log, "-o", options
        )

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.datadir / "data"))

    def url(self, driver: str) -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/postgres"


def _bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    bindir = _bindir()
    if bindir is None:
        skip_or_fail("no initdb/pg_ctl binaries: cannot start a private PostgreSQL")
    run_as: list[str] = []
    # Outside pytest's 0700 temp folders: the server user must reach it.
    datadir = Path(tempfile.mkdtemp(prefix="secure-auth-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            shutil.rmtree(datadir)
            skip_or_fail("running as root without runuser or a 'postgres' user to run the server")
        run_as = [runuser, "-u", "postgres", "--"]  # type: ignore[list-item]
        os.chown(datadir, owner.pw_uid, owner.pw_gid)  # type: ignore[union-attr]
    server = PrivatePostgres(bindir, datadir, free_port(), run_as)
    try:
        server.init()
        server.start()
    except subprocess.CalledProcessError as exc:
        log = datadir / "server.log"
        detail = (exc.stderr or "").strip()[-500:] or (
            log.read_text()[-500:] if log.exists() else ""
        )
        shutil.rmtree(datadir, ignore_errors=True)
        skip_or_fail(f"private PostgreSQL did not start ({' '.join(exc.cmd[-3:])}): {detail}")
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped by a failed test
        shutil.rmtree(datadir, ignore_errors=True)


def test_restart_fails_closed_then_recovers_without_rebuilding(
    private_pg: PrivatePostgres, make_face: Any, request: pytest.FixtureRequest
) -> None:
    is_async = request.node.callspec.params["make_face"] == "async"
    prefix = "r" + secrets.token_hex(4) + "_"
    admin = SQLStore(private_pg.url("psycopg"), table_prefix=prefix)
    admin.create_schema()
    admin.close()
    url = private_pg.url("asyncpg" if is_async else "psycopg")
    store = (AsyncSQLStore if is_async else SQLStore)(url, table_prefix=prefix)
    face = make_face(store)
    account = face.register_user({"id": "u1", "password": "correct horse"})
    tokens = face.login(account, "correct horse")
    assert face.validate_session(tokens.access_token).user_id == "u1"

    # A restart between two requests: the pooled connection is dead, the
    # store notices, reconnects and answers; no request fails.
    private_pg.stop()
    private_pg.start()
    assert face.validate_session(tokens.access_token).session_id == tokens.session_id

    # While the server is down every call fails closed: never a valid session.
    private_pg.stop()
    try:
        for _ in range(2):  # the stale pooled connection, then a refused connect
            with pytest.raises(StoreUnavailable):
                face.validate_session(tokens.access_token)
    finally:
        private_pg.start()

    # Same service, same engine: the first call after the restart succeeds.
    assert face.validate_session(tokens.access_token).session_id == tokens.session_id
    face.logout(tokens.session_id)
