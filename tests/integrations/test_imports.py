"""Frameworks are optional extras: the core never imports one, and each
integration names the exact ``pip install`` line when its framework is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
FRAMEWORKS = ["starlette", "fastapi", "flask", "werkzeug", "django", "aiohttp", "asgiref"]


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC)},
        timeout=60,
        check=False,
    )


def test_core_and_plain_middleware_import_no_framework() -> None:
    result = run(
        "import sys\n"
        "import secure_auth, secure_auth.web, secure_auth.integrations\n"
        "import secure_auth.integrations.asgi, secure_auth.integrations.wsgi\n"
        f"loaded = sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)\n"
        "print(loaded)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("starlette", "starlette", "starlette"),
        ("flask", "flask", "flask"),
        ("django", "django", "django"),
        ("aiohttp", "aiohttp", "aiohttp"),
    ],
)
def test_missing_framework_names_the_extra(module: str, blocked: str, extra: str) -> None:
    result = run(
        "import sys\n"
        f"sys.modules[{blocked!r}] = None  # as if not installed\n"
        "try:\n"
        f"    import secure_auth.integrations.{module}\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert f"pip install 'secure-auth[{extra}]'" in result.stdout
