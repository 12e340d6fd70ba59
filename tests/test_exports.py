"""The public surface is exactly what ``__all__`` says."""

from __future__ import annotations

import secure_auth
import secure_auth.stores


def test_all_lists_exactly_the_public_names() -> None:
    public = {n for n in dir(secure_auth) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(secure_auth, n)).__name__ == "module"}
    assert set(secure_auth.__all__) == public - modules - {"annotations"}
    assert secure_auth.__all__ == sorted(secure_auth.__all__)


def test_every_error_has_a_stable_code_and_safe_message() -> None:
    errors = [getattr(secure_auth, n) for n in secure_auth.__all__]
    errors = [e for e in errors if isinstance(e, type) and issubclass(e, secure_auth.AuthError)]
    assert len(errors) >= 15
    for cls in errors:
        assert cls.code and cls.public_message and 400 <= cls.status < 600


def test_importing_the_package_pulls_no_optional_dependency() -> None:
    import subprocess
    import sys

    code = (
        "import sys, secure_auth, secure_auth.stores;"
        "bad = [m for m in ('redis','sqlalchemy','webauthn','starlette','flask','django','aiohttp')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
