"""docs/stores.md says what the code does: its DDL and its example are the real ones."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from secure_auth.models import PasskeyCredential, SessionRecord
from secure_auth.stores.sql import make_metadata

from .sql_helpers import SERVER_KINDS, make_store

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "stores.md").read_text()
HEADINGS = {"postgresql": "#### PostgreSQL", "mysql": "#### MySQL / MariaDB"}
DIALECTS = {"postgresql": postgresql.dialect(), "mysql": mysql.dialect()}


def _block(after: str, language: str) -> str:
    """The first fenced ``language`` block after the line ``after``."""
    rest = DOC[DOC.index(after + "\n") :]
    match = re.search(rf"```{language}\n(.*?)```", rest, re.S)
    assert match is not None, f"no {language} block after {after!r}"
    return match.group(1)


def _statements(sql: str) -> list[str]:
    """Statements without comments, whitespace removed: layout may differ, text may not."""
    sql = re.sub(r"--[^\n]*", "", sql)
    return [re.sub(r"\s+", "", s) for s in sql.split(";") if s.strip()]


def _generated(kind: str, prefix: str) -> str:
    md = make_metadata(prefix)
    out = []
    for name in ("sessions", "challenges", "passkeys", "throttle"):
        table = md.tables[prefix + name]
        out.append(str(CreateTable(table).compile(dialect=DIALECTS[kind])) + ";")
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            out.append(str(CreateIndex(index).compile(dialect=DIALECTS[kind])) + ";")
    return "\n".join(out)


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_documented_ddl_is_what_create_schema_emits(kind: str) -> None:
    documented = _block(HEADINGS[kind], "sql")
    assert _statements(documented) == _statements(_generated(kind, "secure_auth_"))


@pytest.mark.integration
@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_documented_ddl_makes_tables_the_store_works_with(kind: str, tmp_path: Path) -> None:
    prefix = "d" + secrets.token_hex(5) + "_"
    ddl = _block(HEADINGS[kind], "sql").replace("secure_auth_", prefix)
    store = make_store(kind, tmp_path, prefix, is_async=False)
    try:
        with store.engine.connect() as conn:
            for statement in ddl.split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement)
        store.create_schema()  # the tables exist: nothing to do, no error
        record = SessionRecord("s1", "ü-user", 1.5, 2e9, 1.25, user_agent="UA")
        store.save_session(record)
        assert store.get_session("s1", 1.0) == record
        assert store.rotate_refresh("s1", 0, 2.0) is True
        store.put_challenge("c1", '{"ceremony": 1}', 2e9)
        assert store.pop_challenge("c1", 1.0) == '{"ceremony": 1}'
        cred = PasskeyCredential("cred", "ü-user", "h", bytes(range(256)), 2**32 - 1, ("usb",))
        assert store.save_passkey(cred) is True
        assert store.get_passkey("cred") == cred
        assert store.throttle_hit("thr:ip:x:f", 60, 1.0) == (1, 61.0)
    finally:
        store.drop_schema()
        store.close()


def test_documented_example_is_the_tested_file() -> None:
    example = (ROOT / "examples" / "asyncpg_store.py").read_text()
    documented = _block("#### Example: plain asyncpg", "python")
    assert documented.startswith("class AsyncpgSessionStore:")
    assert documented in example
