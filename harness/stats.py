"""Uncertainty for result tables: bootstrap CIs over problems and paired tests.

Every function takes one value per *problem* (a sample's score reduced over its epochs,
as inspect's reducers leave it), so the interval reflects which problems happened to be
in the benchmark: Mean@32 on 30 AIME problems has a wide interval however many epochs
were run. All resampling is vectorised with numpy and seeded, so tables are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

N_BOOT = 10_000
"""Bootstrap resamples per interval."""

CONFIDENCE = 0.95
SEED = 0
"""Default seed: the same logs always give the same intervals."""

EXACT_PERMUTATION_MAX_N = 16
"""Up to this many non-zero paired differences the sign-flip test enumerates all 2^n flips."""


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    n: int
    """Number of problems the interval is over."""


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> Interval:
    """Mean of ``values`` with a percentile bootstrap interval (resampling problems)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    means = bootstrap_means(x[None, :], n_boot=n_boot, seed=seed)[0]
    low, high = _percentiles(means, confidence)
    return Interval(float(x.mean()), low, high, n)


def bootstrap_means(matrix: np.ndarray, *, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """Bootstrap means of each row of ``matrix`` (metrics x problems), resampling the same
    problems for every row. Returns an array of shape (rows, n_boot)."""
    m = np.asarray(matrix, dtype=float)
    n = m.shape[1]
    return (m @ _resample_counts(n, n_boot, seed)) / n


@lru_cache(maxsize=4)
def _resample_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """counts[j, b] = how often problem j is drawn in resample b (cached: tables with
    many runs over the same benchmark reuse one draw; stored problems-major so the
    product with a metrics x problems matrix is a plain contiguous matmul)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    flat = (np.arange(n_boot)[:, None] * n + idx).ravel()
    counts = np.ascontiguousarray(np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).T, dtype=np.float64)
    counts.setflags(write=False)
    return counts


def bootstrap_cis(
    matrix: np.ndarray,
    *,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> list[Interval]:
    """One interval per row of ``matrix`` (metrics x problems, no NaN), same resamples for all."""
    m = np.asarray(matrix, dtype=float)
    if m.size == 0:
        return [Interval(float("nan"), float("nan"), float("nan"), 0) for _ in range(len(m))]
    means = bootstrap_means(m, n_boot=n_boot, seed=seed)
    alpha = (1.0 - confidence) / 2.0
    lows, highs = np.quantile(means, [alpha, 1.0 - alpha], axis=1)
    centre = m.mean(axis=1)
    return [Interval(float(c), float(lo), float(hi), m.shape[1]) for c, lo, hi in zip(centre, lows, highs)]


def _percentiles(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedResult:
    diff: Interval
    """Mean of (b - a) over shared problems with its paired-bootstrap interval."""
    p_value: float
    """Two-sided sign-flip permutation p-value for a mean difference of zero."""
    exact: bool
    """True when all 2^n sign flips were enumerated (n = non-zero differences)."""
    wins: int
    losses: int
    ties: int


def paired_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    n_boot: int = N_BOOT,
    n_perm: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> PairedResult:
    """Compare two runs on the same problems (``a[i]`` and ``b[i]`` are one problem).

    The difference's interval is a paired bootstrap (problems resampled, pairs kept).
    The p-value is the sign-flip permutation test of the mean difference: under the null
    the two runs are exchangeable per problem, so each difference's sign is a coin flip.
    """
    x = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if x.shape != np.asarray(a).shape:
        raise ValueError("paired_test: a and b must have the same length")
    keep = ~np.isnan(x)
    x = x[keep]
    diff = bootstrap_ci(x, n_boot=n_boot, confidence=confidence, seed=seed)
    wins, losses = int((x > 0).sum()), int((x < 0).sum())
    ties = int(len(x) - wins - losses)
    p, exact = sign_flip_p_value(x, n_perm=n_perm, seed=seed)
    return PairedResult(diff=diff, p_value=p, exact=exact, wins=wins, losses=losses, ties=ties)


def sign_flip_p_value(diffs: np.ndarray, *, n_perm: int = N_BOOT, seed: int = SEED) -> tuple[float, bool]:
    """Two-sided p-value of |mean(diffs)| under random sign flips (exact for small n)."""
    d = np.asarray(diffs, dtype=float)
    d = d[d != 0]  # zero differences are unaffected by a flip
    n = len(d)
    if n == 0:
        return 1.0, True
    observed = abs(d.sum())
    tol = 1e-12 * max(1.0, observed)
    if n <= EXACT_PERMUTATION_MAX_N:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        sums = np.abs(signs @ d)
        return float(np.mean(sums >= observed - tol)), True
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_perm, n))
    sums = np.abs(signs @ d)
    # include the observed assignment so p is never 0 (Phipson & Smyth)
    return float((1 + np.sum(sums >= observed - tol)) / (n_perm + 1)), False
