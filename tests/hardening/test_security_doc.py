"""docs/security.md maps each defence to a test: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "security.md").read_text()
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")


def test_every_test_named_in_security_md_exists() -> None:
    references = set(REFERENCE.findall(DOC))
    assert len(references) > 60
    missing = []
    for path, name in sorted(references):
        source = ROOT / path
        text = source.read_text() if source.exists() else ""
        if not re.search(rf"^(async )?def {name}\(", text, re.M):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_every_table_row_names_a_test() -> None:
    for line in DOC.splitlines():
        if line.startswith("| ") and not line.startswith(("| attack", "| fault", "| claim")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            last = cells[-1]
            if last and not set(last) <= {"-", ":"} and "tests/" not in last:
                # Only the reference tables of "Threat model" and "Throttling in
                # detail" have rows without tests; they describe, not claim.
                assert cells[0] in _DESCRIPTIVE_FIRST_CELLS, line


_DESCRIPTIVE_FIRST_CELLS = {
    "who",
    "a remote attacker without credentials",
    "a thief of a token (XSS elsewhere, a leaked log, a stolen device)",
    "a malicious web site",
    "a malicious or cloned authenticator",
    "whoever reads the logs",
    "infrastructure failure",
    "budget",
    "`account_ip`",
    "`ip`",
    "`refresh_ip`",
    "`passkey_ip`",
}
