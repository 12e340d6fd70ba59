"""The public surface of passkeys: both faces alike, errors, exports, the
optional dependency and the shipped browser module."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from typing import Any

import pytest

import secure_auth
from secure_auth import (
    AuthService,
    ConfigurationError,
    MemoryStore,
    PasskeyError,
    SyncAuthService,
    errors,
)
from secure_auth.passkeys import INSTALL_HINT, javascript_path, javascript_source

from .conftest import ROOT_SRC, ServiceFactory

PASSKEY_METHODS = [
    "register_passkey",
    "finish_passkey_registration",
    "passkey_login_options",
    "verify_passkey",
    "login_with_passkey",
    "list_passkeys",
    "rename_passkey",
    "delete_passkey",
]


@pytest.mark.parametrize("name", PASSKEY_METHODS)
def test_both_faces_have_the_same_signature(name: str) -> None:
    async_method = getattr(AuthService, name)
    sync_method = getattr(SyncAuthService, name)
    assert inspect.iscoroutinefunction(async_method)
    assert not inspect.iscoroutinefunction(sync_method)
    assert inspect.signature(async_method) == inspect.signature(sync_method)
    assert "Raises:" in (async_method.__doc__ or "") or name == "list_passkeys"


def _passkey_errors() -> list[type[PasskeyError]]:
    found = []
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, PasskeyError):
            found.append(value)
    return found


def test_every_passkey_error_is_exported_documented_and_has_its_own_code() -> None:
    classes = _passkey_errors()
    assert len(classes) >= 12
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes)
    for cls in classes:
        assert cls.__name__ in secure_auth.__all__
        assert getattr(secure_auth, cls.__name__) is cls
        assert cls.__name__ in errors.__all__
        assert f"── {cls.__name__} " in (errors.__doc__ or ""), cls.__name__
        assert cls.code.startswith("passkey")


def test_all_is_sorted_and_complete() -> None:
    assert secure_auth.__all__ == sorted(secure_auth.__all__)
    assert errors.__all__ == sorted(errors.__all__)
    assert "PasskeyVerification" in secure_auth.__all__


def test_without_webauthn_passkeys_say_how_to_install_it(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()
    monkeypatch.setitem(sys.modules, "webauthn", None)  # import webauthn -> ImportError
    with pytest.raises(ConfigurationError) as info:
        service.register_passkey("alice", "alice")
    assert INSTALL_HINT == "pip install 'secure-auth[passkeys]'"
    assert INSTALL_HINT in str(info.value)
    with pytest.raises(ConfigurationError, match=re.escape(INSTALL_HINT)):
        service.passkey_login_options()


def test_secure_auth_imports_without_webauthn() -> None:
    code = (
        "import sys; sys.modules['webauthn'] = None\n"
        "import secure_auth, secure_auth.passkeys\n"
        "from secure_auth import SyncAuthService, MemoryStore, generate_keypair\n"
        "s = SyncAuthService(*generate_keypair(), MemoryStore())\n"
        "assert s.list_passkeys('alice') == []\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT_SRC)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_passkeys_need_a_passkey_store(keypair: tuple[bytes, bytes]) -> None:
    class MinimalStore:
        def save_session(self, *args: Any) -> None: ...

        def is_session_valid(self, session_id: str) -> bool:
            return False

        def delete_session(self, session_id: str) -> None: ...

    service = SyncAuthService(*keypair, MinimalStore(), challenge_store=MemoryStore())
    with pytest.raises(ConfigurationError, match="no passkeys store"):
        service.register_passkey("alice", "alice")


def test_browser_module_ships_with_the_package() -> None:
    path = javascript_path()
    assert path.is_file()
    source = javascript_source()
    assert source == path.read_text("utf-8")
    for name in (
        "registerPasskey",
        "signInWithPasskey",
        "createPasskey",
        "getPasskey",
        "creationOptionsFromJSON",
        "requestOptionsFromJSON",
        "credentialToJSON",
        "isConditionalMediationAvailable",
    ):
        assert re.search(rf"^export (async )?function {name}\(", source, re.M), name
    assert "parseCreationOptionsFromJSON" in source
    assert "parseRequestOptionsFromJSON" in source
    assert not re.search(r"^\s*import\s", source, re.M)  # dependency-free
