"""Profiles behind BENCHMARKS.md: where the time of one operation goes.

``python -m benchmarks.profile validate --store sqlite`` validates first-seen
tokens under pyinstrument and prints the call tree; ``cached`` does the same
with one token again and again; ``--py-spy`` runs the same loop under
``py-spy record`` instead (native frames included, a flat summary printed).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from secure_auth import AuthConfig, KeySet, SyncAuthService, generate_keypair
from secure_auth._bench import Workload, memory_backend, sqlite_backend


def loop(kind: str, store_name: str, count: int, *, wait: bool = False) -> None:
    """Validate ``count`` tokens; with ``wait``, say "ready" and wait for a line first
    (so that a sampling profiler attached meanwhile sees the loop, not the set-up)."""
    folder = Path(tempfile.mkdtemp(prefix="secure-auth-profile-"))
    backend = memory_backend() if store_name == "memory" else sqlite_backend(folder)
    keys = KeySet.from_pem(*generate_keypair())
    config = AuthConfig()
    workload = Workload.create(keys, config, 1000, store=backend.store)
    workload.save_into(backend.store)
    service = SyncAuthService(keys=keys, session_store=backend.store, config=config)
    if kind == "validate":
        tokens = [workload.token() for _ in range(count)]
    else:
        tokens = [workload.token()] * count
    validate = service.validate_session
    if wait:
        print("ready", flush=True)
        sys.stdin.readline()
    start = time.perf_counter()
    if os.environ.get("SA_PROFILE_PYINSTRUMENT") == "1":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0001)
        profiler.start()
        for token in tokens:
            validate(token)
        profiler.stop()
        print(profiler.output_text(unicode=False, show_all=False))
    else:
        for token in tokens:
            validate(token)
    print(f"{count} validations in {time.perf_counter() - start:.2f} s", file=sys.stderr)
    backend.close()


def flat(raw: Path, top: int = 25) -> str:
    """Self time per function from py-spy's raw (collapsed) output."""
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        leaf = stack.split(";")[-1]
        own[re.sub(r":\d+\)", ")", leaf)] += int(n)
    rows = [f"{100 * v / total:5.1f}%  {k}" for k, v in own.most_common(top)]
    return f"{total} samples, self time:\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("kind", choices=["validate", "cached"])
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--py-spy", action="store_true", help="py-spy (native frames) instead")
    parser.add_argument("--loop-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop_only:
        loop(args.kind, args.store, args.count, wait=True)
        return
    if not args.py_spy:
        os.environ["SA_PROFILE_PYINSTRUMENT"] = "1"
        loop(args.kind, args.store, args.count)
        return
    raw = Path(tempfile.mkdtemp()) / "py-spy.txt"
    command = [sys.executable, "-m", "benchmarks.profile", args.kind, "--store", args.store]
    child = subprocess.Popen(
        [*command, "--count", str(args.count), "--loop-only"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdout.readline()  # "ready": set-up done
    record = ["py-spy", "record", "--native", "-r", "500", "-f", "raw", "-o", str(raw)]
    spy = subprocess.Popen(
        [*record, "--pid", str(child.pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attached
    child.stdin.write("go\n")
    child.stdin.flush()
    child.wait()
    spy.wait()
    print(flat(raw))


if __name__ == "__main__":
    main()
