"""``python -m secure_auth``: the same as the ``secure-auth`` command."""

import sys

from .cli import main

sys.exit(main())
