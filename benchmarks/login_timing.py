"""Login timing: unknown user, wrong password and right password look the same.

Run::

    PYTHONPATH=src python -m benchmarks.login_timing            # defaults: 300 rounds
    PYTHONPATH=src python -m benchmarks.login_timing --rounds 50 --quick

Each round times one login of each kind, in a freshly shuffled order
(interleaving spreads drift, frequency scaling and GC evenly over the three
kinds), with the production Argon2id parameters (RFC 9106 low-memory
profile) and throttling on; every attempt comes from its own address so
that no attempt is throttled, and passes ``account=`` as the docs say.

The three distributions are compared pairwise with two tests written out
below (no SciPy): Mann-Whitney U (do the values of one kind tend to be
larger?) and Kolmogorov-Smirnov (do the distributions differ at all?).
A p-value well above 0.05 means the samples give no evidence of a
difference. ``--markdown`` prints the table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from secure_auth import (
    AuthConfig,
    InvalidCredentials,
    MemoryStore,
    SyncAuthService,
    generate_keypair,
)

KINDS = ("unknown user", "wrong password", "right password")


# -- statistics, by hand ------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (NumPy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sided Mann-Whitney U: ``(U of a, p)``, normal approximation with
    tie correction and continuity correction (fine for n > 20 each)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    r1 = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    mu = n1 * n2 / 2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return u1, 1.0
    z = (abs(u1 - mu) - 0.5) / sigma
    return u1, math.erfc(max(z, 0.0) / math.sqrt(2))


def kolmogorov_smirnov(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sample KS: ``(D, p)`` with the asymptotic Kolmogorov distribution
    (Stephens' small-sample correction)."""
    sa, sb = sorted(a), sorted(b)
    n1, n2 = len(sa), len(sb)
    i = j = 0
    d = 0.0
    while i < n1 and j < n2:
        x = min(sa[i], sb[j])
        while i < n1 and sa[i] == x:
            i += 1
        while j < n2 and sb[j] == x:
            j += 1
        d = max(d, abs(i / n1 - j / n2))
    en = math.sqrt(n1 * n2 / (n1 + n2))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 1e-3:
        return d, 1.0
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return d, min(max(p, 0.0), 1.0)


# -- measurement ------------------------------------------------------------------------


def measure(rounds: int, config: AuthConfig, seed: int) -> dict[str, list[float]]:
    auth = SyncAuthService(*generate_keypair(), MemoryStore(), config=config)
    user = auth.register_user({"id": "alice", "login": "alice", "password": "correct horse"})
    counter = iter(range(10**9))

    def address() -> str:
        n = next(counter)
        return f"198.18.{n // 250 % 250}.{n % 250 + 1}"  # RFC 2544 benchmark range

    def unknown() -> None:
        auth.login(None, "correct horse", account="mallory", ip_address=address())

    def wrong() -> None:
        auth.login(user, "wrong horse", account="alice", ip_address=address())

    def right() -> None:
        auth.login(user, "correct horse", account="alice", ip_address=address())

    calls: dict[str, Callable[[], None]] = dict(zip(KINDS, (unknown, wrong, right), strict=True))
    samples: dict[str, list[float]] = {k: [] for k in KINDS}
    rng = random.Random(seed)
    order = list(KINDS)
    for kind in order * 3:  # warm-up: caches, allocator, thread start
        _timed(calls[kind])
    for _ in range(rounds):
        rng.shuffle(order)
        gc.collect()
        for kind in order:
            samples[kind].append(_timed(calls[kind]))
    auth.close()
    return samples


def _timed(call: Callable[[], None]) -> float:
    start = time.perf_counter_ns()
    with contextlib.suppress(InvalidCredentials):
        call()
    return (time.perf_counter_ns() - start) / 1e6  # ms


# -- report -------------------------------------------------------------------------------


def report(samples: dict[str, list[float]], config: AuthConfig, markdown: bool) -> str:
    lines = []
    n = len(samples[KINDS[0]])
    params = (
        f"Argon2id t={config.argon2_time_cost}, m={config.argon2_memory_cost // 1024} MiB, "
        f"p={config.argon2_parallelism}"
    )
    lines.append(
        f"{n} interleaved rounds; {params}; Python {platform.python_version()} on "
        f"{platform.machine()}, {platform.system()}; sync face, memory store, throttling on."
    )
    lines.append("")
    lines.append("| login | median (ms) | p95 (ms) | mean (ms) | stdev (ms) |")
    lines.append("|---|---:|---:|---:|---:|")
    for kind in KINDS:
        s = samples[kind]
        lines.append(
            f"| {kind} | {statistics.median(s):.2f} | {percentile(s, 0.95):.2f} | "
            f"{statistics.fmean(s):.2f} | {statistics.stdev(s):.2f} |"
        )
    lines.append("")
    lines.append("| pair | median difference (ms) | Mann-Whitney p | KS D | KS p |")
    lines.append("|---|---:|---:|---:|---:|")
    pairs = [(KINDS[0], KINDS[1]), (KINDS[0], KINDS[2]), (KINDS[1], KINDS[2])]
    for a, b in pairs:
        _, p_mw = mann_whitney(samples[a], samples[b])
        d, p_ks = kolmogorov_smirnov(samples[a], samples[b])
        diff = statistics.median(samples[a]) - statistics.median(samples[b])
        lines.append(f"| {a} vs {b} | {diff:+.2f} | {p_mw:.3f} | {d:.3f} | {p_ks:.3f} |")
    text = "\n".join(lines)
    if not markdown:
        text = text.replace("|---|---:|---:|---:|---:|\n", "")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.login_timing", description=__doc__)
    parser.add_argument("--rounds", type=int, default=300, help="samples per kind (300)")
    parser.add_argument("--seed", type=int, default=1, help="shuffle seed")
    parser.add_argument(
        "--quick", action="store_true", help="cheap Argon2 (a smoke run, not a measurement)"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    config = AuthConfig()
    if args.quick:
        config = config.replace(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1)
    samples = measure(args.rounds, config, args.seed)
    print(report(samples, config, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
