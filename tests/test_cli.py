"""The ``secure-auth`` command."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from secure_auth import KeySet
from secure_auth.cli import main


def test_keygen_writes_0600_key_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    assert main(["keygen", "--dir", str(tmp_path)]) == 0
    private = tmp_path / "private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    before = private.read_bytes()
    assert main(["keygen", "--dir", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert private.read_bytes() == before
    assert main(["keygen", "--dir", str(tmp_path), "--force"]) == 0
    assert private.read_bytes() != before


def test_jwks_prints_the_public_keys(tmp_path: Path, capsys) -> None:
    main(["keygen", "--dir", str(tmp_path)])
    capsys.readouterr()
    assert main(["jwks", "--dir", str(tmp_path)]) == 0
    jwks = json.loads(capsys.readouterr().out)
    assert KeySet.from_jwks(jwks).kids() == KeySet.load(tmp_path).kids()
    assert "d" not in jwks["keys"][0]


def test_jwks_without_keys_is_a_clear_error(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("JWT_PRIVATE_KEY", raising=False)
    assert main(["jwks", "--dir", str(tmp_path / "none")]) == 2
    assert "secure-auth keygen" in capsys.readouterr().err


def test_hash_password_reads_stdin_not_argv(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hunter2\n"))
    assert main(["hash-password"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(out, "hunter2")
    with pytest.raises(SystemExit):
        main(["hash-password", "hunter2"])  # a password on argv is refused


def test_walkthrough_runs_register_to_logout(tmp_path: Path, capsys) -> None:
    assert main(["walkthrough", "--data-dir", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    for step in ("register_user", "login", "validate_session", "refresh", "session_revoked"):
        assert step in out
    assert (tmp_path / "data" / "sessions.db").exists()


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "secure_auth", "--help"], capture_output=True, text=True, check=True
    )
    assert "keygen" in done.stdout and "jwks" in done.stdout
