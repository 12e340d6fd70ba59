"""Ed25519 public keys of small and mixed order, from the shared Wycheproof
vectors (C2SP/wycheproof pull request 271, Apache-2.0; see
``shared/vectors/README.md``). ``cryptography`` accepts signatures under
these keys, so a verifier that takes keys from outside must refuse them."""

from __future__ import annotations

import json

from conftest import VECTORS

SOURCE = VECTORS / "wycheproof_ed25519_test_pr271_small_order.json"


def _keys(flag: str) -> list[str]:
    if not SOURCE.exists():
        return []
    data = json.loads(SOURCE.read_text())
    keys = {
        group["publicKey"]["pk"]
        for group in data["testGroups"]
        for test in group["tests"]
        if flag in test["flags"]
    }
    return sorted(keys)


SMALL_ORDER_KEYS = _keys("SmallOrderPublicKey")
MIXED_ORDER_KEYS = _keys("MixedOrderPublicKey")
