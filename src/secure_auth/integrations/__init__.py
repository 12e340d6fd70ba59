"""Thin adapters from web frameworks to :mod:`secure_auth.web`.

Each module imports its framework, which is an optional extra; importing one
without its framework raises :class:`ImportError` with the exact
``pip install`` line. ``import secure_auth`` (and this package) never imports
a framework.

==========================================  ===========================  ============
module                                      for                          extra
==========================================  ===========================  ============
``secure_auth.integrations.starlette``      Starlette, FastAPI           ``starlette``
``secure_auth.integrations.flask``          Flask                        ``flask``
``secure_auth.integrations.django``         Django (sync and async)      ``django``
``secure_auth.integrations.aiohttp``        aiohttp                      ``aiohttp``
``secure_auth.integrations.asgi``           any ASGI app (Litestar...)   none
``secure_auth.integrations.wsgi``           any WSGI app (Falcon...)     none
==========================================  ===========================  ============
"""

from __future__ import annotations

__all__ = ["missing_extra"]


def missing_extra(module: str, framework: str, extra: str, *, also: str = "") -> ImportError:
    """The error an integration raises (``from`` the original) when its
    framework is not installed: it names the exact ``pip install`` line."""
    return ImportError(
        f"secure_auth.integrations.{module} needs {framework}: "
        f"pip install 'secure-auth[{extra}]'{also}",
        name=f"secure_auth.integrations.{module}",
    )
