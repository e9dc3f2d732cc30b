"""Uncertainty for result tables: bootstrap CIs over problems and paired tests.

Every function takes one value per *problem* (a sample's score reduced over its epochs,
as inspect's reducers leave it), so the interval reflects which problems happened to be
in the benchmark: Mean@32 on 30 AIME problems has a wide interval however many epochs
were run. All resampling is vectorised with numpy and seeded, so tables are reproducible.
"""

from __future__ import annotations

import math
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
"""Up to this many paired differences the sign-flip test enumerates all 2^n flips."""


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
    """Mean of (b - a) over shared problems, with the 95% interval of the sign-flip test:
    the differences the test does not reject (bounds may be infinite with very few problems)."""
    p_value: float
    """Two-sided sign-flip permutation p-value for a mean difference of zero."""
    exact: bool
    """True when all 2^n sign flips were enumerated (n = shared problems)."""
    wins: int
    losses: int
    ties: int
    alpha: float = 1.0 - CONFIDENCE

    @property
    def distinguishable(self) -> bool:
        """The verdict: p < alpha. Equivalent to the interval excluding 0 (same test)."""
        return self.p_value < self.alpha

    @property
    def min_p(self) -> float:
        """Smallest p-value the (exact) test can give with n problems: 2 / 2^n, all signs alike."""
        return 2.0 / 2.0**self.diff.n


def paired_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    n_perm: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> PairedResult:
    """Compare two runs on the same problems (``a[i]`` and ``b[i]`` are one problem).

    One rule gives both numbers: the two-sided sign-flip permutation test of the mean
    difference (under the null the two runs are exchangeable per problem, so each
    difference's sign is a coin flip). The p-value tests a difference of 0; the interval
    is the test inverted, every difference delta for which the test of (b - a - delta)
    gives p >= 1 - confidence. So the interval excludes 0 exactly when p < 1 - confidence,
    and a verdict read from either agrees with the other.
    """
    x = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if x.shape != np.asarray(a).shape:
        raise ValueError("paired_test: a and b must have the same length")
    x = x[~np.isnan(x)]
    wins, losses = int((x > 0).sum()), int((x < 0).sum())
    ties = int(len(x) - wins - losses)
    alpha = round(1.0 - confidence, 12)
    flips = SignFlips(x, n_perm=n_perm, seed=seed)
    low, high = flips.interval(alpha)
    mean = float(x.mean()) if len(x) else float("nan")
    return PairedResult(
        diff=Interval(mean, low, high, len(x)), p_value=float(flips.p_value(0.0)), exact=flips.exact,
        wins=wins, losses=losses, ties=ties, alpha=alpha,
    )


class SignFlips:
    """The sign-flip test of H0: mean(d) = delta, for any delta, from one set of sign vectors.

    Exact (all 2^n vectors) for n <= EXACT_PERMUTATION_MAX_N differences, else ``n_perm``
    seeded random vectors (p = (1 + hits) / (n_perm + 1), never 0). With A = s.d and
    B = sum(s) precomputed per vector s, a p-value for any delta costs O(vectors).
    For delta below mean(d) every |A - delta*B| grows at most as fast as the observed
    |sum(d) - n*delta|, so p(delta) never increases away from the mean: the accepted
    deltas form one interval, found by bisection.
    """

    def __init__(self, d: np.ndarray, *, n_perm: int = N_BOOT, seed: int = SEED) -> None:
        self.d = np.asarray(d, dtype=float)
        n = len(self.d)
        self.n = n
        self.exact = n <= EXACT_PERMUTATION_MAX_N
        if self.exact:
            signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        else:
            signs = np.random.default_rng(seed).choice(np.array([-1, 1]), size=(n_perm, n))
        self.A = signs @ self.d if n else np.zeros(1)
        self.B = signs.sum(axis=1).astype(float) if n else np.zeros(1)
        self.S = float(self.d.sum())

    def p_value(self, delta: float) -> float:
        if self.n == 0:
            return 1.0
        observed = abs(self.S - self.n * delta)
        tol = 1e-12 * max(1.0, observed, abs(self.S))
        hits = np.count_nonzero(np.abs(self.A - delta * self.B) >= observed - tol)
        return float(hits / len(self.A) if self.exact else (1 + hits) / (len(self.A) + 1))

    def interval(self, alpha: float) -> tuple[float, float]:
        """[low, high]: every delta with p(delta) >= alpha (+-inf when no delta is rejected)."""
        if self.n == 0:
            return float("nan"), float("nan")
        mean = self.S / self.n
        span = float(self.d.max() - self.d.min()) + abs(mean) + 1.0
        return self._bound(mean, -span, alpha), self._bound(mean, span, alpha)

    def _bound(self, mean: float, step: float, alpha: float) -> float:
        inside, outside = mean, mean + step
        for _ in range(64):  # p far from the mean tends to its floor: all signs alike
            if self.p_value(outside) < alpha:
                break
            inside, outside = outside, outside + 2 * (outside - mean)
        else:
            return math.copysign(math.inf, step)
        for _ in range(100):
            mid = (inside + outside) / 2
            if mid in (inside, outside):
                break
            if self.p_value(mid) >= alpha:
                inside = mid
            else:
                outside = mid
        if abs(inside) < 1e-9 * abs(step) and self.p_value(0.0) >= alpha:
            return 0.0  # a bound at 0 (ties make p jump there), not float noise around it
        return inside


def sign_flip_p_value(diffs: np.ndarray, *, n_perm: int = N_BOOT, seed: int = SEED) -> tuple[float, bool]:
    """Two-sided p-value of |mean(diffs)| under random sign flips (exact for small n)."""
    flips = SignFlips(diffs, n_perm=n_perm, seed=seed)
    return flips.p_value(0.0), flips.exact
