"""The benchmarks run: a cheap subset in quick mode, no thresholds asserted."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT
from secure_auth.cli import build_parser

ARGS = ("--only", "floor", "cache", "--backends", "memory")


def test_quick_benchmarks_run_and_print_the_ratio_table() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", *ARGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ratio table" in done.stdout
    assert "| goal | backend | measured |" in done.stdout
    assert "| 1 | memory sync | validate_session, first-seen token |" in done.stdout
    assert "| 2 | memory sync |" in done.stdout


def test_the_cli_has_a_bench_command() -> None:
    args = build_parser().parse_args(["bench"])
    assert args.func.__name__ == "_bench" and args.full is False
