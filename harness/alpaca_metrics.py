"""AlpacaEval 2.0 metrics from pairwise preferences (numpy; inspect only to read logs).

Conventions follow ``tatsu-lab/alpaca_eval`` (see README, "AlpacaEval"):

* A *preference* is in [1, 2]; ``preference - 1`` is the probability that the judge
  prefers ``output_2`` (the evaluated model) over ``output_1`` (the reference). The
  legacy draw encoding 0 means 1.5.
* **Unscored** rows (a missing, NaN, infinite or out-of-range preference: the judge gave
  no usable answer) are left out of every metric, as AlpacaEval does (its annotator drops
  NaN annotations with a warning, ``_postprocess``; ``describe_head2head`` keeps only valid
  preferences, so ``n_total`` counts scored rows). They are counted in ``n_unscored``, so
  a win rate over fewer rows than the file holds always says so.
* ``win_rate = 100 * mean(x)`` (a draw counts 0.5), ``standard_error = 100 * SEM(x)``
  (ddof = 1), ``discrete_win_rate`` rounds each x to 0 / 1 (exactly 0.5 stays a draw),
  all over the scored rows.
* ``avg_length`` is the mean model-output length in characters, truncated to an int.
* The length-controlled win rate is the GLM
  ``P(model wins | i) = sigmoid(phi * tanh(std_delta_len_i) + psi * d_i + theta)`` with
  ``delta_i = len(reference_i) - len(model_i)`` scaled by its std (ddof = 1, not centred),
  ``d_i`` the per-instruction difficulty looked up by row position, fitted as an
  L1-penalised logistic regression on soft labels with 5-fold grouped CV over
  ``C in logspace(-4, 4, 10)``. With the gamed-baseline rows (``df_gamed.csv``) the fit
  shares phi and psi with them at weight lambda/2 each (lambda = 0.2). The LC win rate is
  ``100 * mean_i sigmoid(theta + psi * d_i)``.

Nothing here downloads anything: the instruction difficulties and the gamed-baseline rows
are files the user supplies (the HF dataset ``tatsu-lab/alpaca_eval`` holds
``instruction_difficulty.csv`` and ``df_gamed.csv``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

import numpy as np
from pydantic import BaseModel

REGULARIZE_LAMBDA = 0.2
"""Weight of the gamed-baseline rows (split over the two gamed baselines)."""

CV_SPLITS = 5
CV_CS = np.logspace(-4, 4, 10)
"""Inverse L1 strengths tried by cross-validation (sklearn's LogisticRegressionCV default grid)."""

LcVariant = Literal["length_controlled_v1", "length_controlled_noreg", "length_controlled_minimal", "stored_weights", "baseline"]

LC_VARIANTS: dict[str, str] = {
    "length_controlled_v1": "GLM fit with instruction difficulty, regularised to the gamed baselines (official)",
    "length_controlled_noreg": "GLM fit with instruction difficulty, no gamed-baseline regularisation",
    "length_controlled_minimal": "GLM fit without instruction difficulty (no difficulty file supplied)",
    "stored_weights": "prediction from published GLM weights and instruction difficulty",
    "baseline": "model is the reference: LC = 50 by construction",
}


class AlpacaMetrics(BaseModel):
    """AlpacaEval leaderboard metrics for one model (percent units, as the leaderboard)."""

    name: str
    win_rate: float
    standard_error: float
    discrete_win_rate: float
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int
    """Scored rows: the denominator of the win rate."""
    n_unscored: int = 0
    """Rows without a usable preference, left out of every metric (AlpacaEval's rule)."""
    avg_length: int | None = None
    length_controlled_winrate: float | None = None
    lc_standard_error: float | None = None
    lc_variant: str | None = None
    """Which GLM produced the LC value (see LC_VARIANTS); None when not computed."""
    length_controlled_winrate_noreg: float | None = None
    """With the gamed-baseline rows supplied: the same fit without the regularisation."""
    lc_weights: dict[str, float] | None = None
    """Fitted GLM coefficients: length (tanh), instruction_difficulty, model intercept."""
    lc_weights_rejected: str | None = None
    """Why the published GLM weights row named like this model was not used (LC was fitted instead)."""


class GlmFit(BaseModel):
    length: float
    """phi: weight of tanh(std_delta_len) (delta = reference length - model length)."""
    difficulty: float
    """psi: weight of the instruction difficulty."""
    intercept: float
    """theta: the model's own term (not_gamed_baseline)."""
    C: float | None = None
    """Inverse L1 strength chosen by cross-validation (None: not fitted)."""


# --------------------------------------------------------------------------- reading


def read_json_records(path: str | Path) -> list[dict[str, Any]]:
    """Records from a JSON array or JSONL file, gzip-compressed or not (ValueError if unreadable)."""
    from harness.datasets import DataUnavailable, read_records

    try:
        return read_records(Path(path).expanduser())
    except DataUnavailable as ex:
        raise ValueError(str(ex)) from ex


def annotations_from_log(path: str | Path) -> list[dict[str, Any]]:
    """AlpacaEval annotation records from an inspect log of the ``alpacaeval`` task.

    One record per sample (epoch 1), in sample-index order: ``output_1`` the reference,
    ``output_2`` the model's completion, ``preference`` = 1 + the judge score (NaN when unscored).
    """
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(path))
    records = []
    for s in sorted(log.samples or [], key=lambda s: (s.metadata or {}).get("index", 0)):
        if s.epoch != 1:
            continue
        meta = s.metadata or {}
        score = next(iter((s.scores or {}).values()), None)
        value = score.as_float() if score is not None else math.nan
        records.append({
            "instruction": s.input if isinstance(s.input, str) else None,
            "output_1": meta.get("reference_output") or "",
            "output_2": s.output.completion if s.output else "",
            "generator_1": meta.get("reference_generator"),
            "generator_2": log.eval.model,
            "dataset": meta.get("dataset"),
            "preference": 1.0 + value,
        })
    if not records:
        raise ValueError(f"{path}: the log has no samples")
    return records


def read_annotations(path: str | Path) -> list[dict[str, Any]]:
    """Annotation records from an AlpacaEval annotations file or an inspect log (.eval)."""
    p = Path(path).expanduser()
    if p.suffix == ".eval":
        return annotations_from_log(p)
    return read_json_records(p)


def annotation_name(path: str | Path, records: Sequence[dict[str, Any]]) -> str:
    gens = {str(r.get("generator_2")) for r in records if r.get("generator_2") is not None}
    if len(gens) == 1:
        return gens.pop()
    name = Path(path).name
    for suffix in (".gz", ".json", ".jsonl"):
        name = name.removesuffix(suffix)
    return name


def read_difficulty(path: str | Path) -> np.ndarray:
    """Per-instruction difficulties, in instruction order.

    Accepts the HF ``instruction_difficulty.csv`` (an index column and a value column),
    a one-column CSV, or a JSON list of numbers.
    """
    p = Path(path).expanduser()
    if p.suffix == ".json":
        values = json.loads(p.read_text(encoding="utf-8"))
        return np.asarray(values, dtype=float)
    import pandas as pd

    df = pd.read_csv(p)
    col = "instruction_difficulty" if "instruction_difficulty" in df.columns else df.columns[-1]
    return df[col].to_numpy(dtype=float)


class GamedRows(BaseModel):
    """The gamed-baseline training rows (``df_gamed.csv``): already featurised."""

    x: list[float]
    """preference - 1, in [0, 1]."""
    std_delta_len: list[float]
    instruction_difficulty: list[float]


def read_gamed(path: str | Path) -> GamedRows:
    """Read ``df_gamed.csv`` (columns preference, std_delta_len, instruction_difficulty, ...)."""
    import pandas as pd

    df = pd.read_csv(Path(path).expanduser())
    missing = {"preference", "std_delta_len", "instruction_difficulty"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: gamed-baseline file lacks column(s) {sorted(missing)}")
    if "not_gamed_baseline" in df.columns:
        df = df[~df["not_gamed_baseline"].astype(bool)]
    pref = df["preference"].astype(float).replace({0.0: 1.5} if (df["preference"] > 1).any() else {})
    x = pref - 1 if (pref > 1).any() else pref  # upstream stores [0, 1]; accept [1, 2] too
    keep = x.notna().to_numpy()
    return GamedRows(
        x=x[keep].tolist(),
        std_delta_len=df["std_delta_len"].astype(float)[keep].tolist(),
        instruction_difficulty=df["instruction_difficulty"].astype(float)[keep].tolist(),
    )


def read_glm_weights(path: str | Path) -> dict[str, GlmFit]:
    """Published GLM weights CSV (index = model; length, difficulty, intercept columns)."""
    import pandas as pd

    df = pd.read_csv(Path(path).expanduser(), index_col=0)
    cols = list(df.columns)
    if len(cols) != 3:
        raise ValueError(f"{path}: expected 3 weight columns (length, difficulty, intercept), got {cols}")
    return {
        str(model): GlmFit(length=float(row[cols[0]]), difficulty=float(row[cols[1]]), intercept=float(row[cols[2]]))
        for model, row in df.iterrows()
    }


# --------------------------------------------------------------------------- raw metrics


def to_x(preferences: Iterable[Any]) -> np.ndarray:
    """preference (1..2, 0 = draw) -> x = P(model preferred); invalid -> NaN."""
    out = []
    for p in preferences:
        try:
            v = float(p)
        except (TypeError, ValueError):
            v = math.nan
        if v == 0.0:
            v = 1.5
        out.append(v - 1 if 1.0 <= v <= 2.0 else math.nan)
    return np.asarray(out, dtype=float)


def sem(values: np.ndarray) -> float:
    """Standard error of the mean, ddof = 1 (pandas' ``Series.sem``)."""
    n = len(values)
    if n < 2:
        return math.nan
    return float(np.std(values, ddof=1) / math.sqrt(n))


def discrete(x: np.ndarray) -> np.ndarray:
    """0/1 by rounding, with exactly 0.5 kept as a draw (0.5)."""
    return np.where(x == 0.5, 0.5, np.where(x > 0.5, 1.0, 0.0))


def scored(x: np.ndarray) -> np.ndarray:
    """True where x is a usable preference (finite, in [0, 1])."""
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & (x >= 0.0) & (x <= 1.0)


def raw_metrics(x: np.ndarray, name: str = "", avg_length: int | None = None) -> AlpacaMetrics:
    """Win rate, SE, discrete win rate and counts over the scored x values (the rest counted as unscored)."""
    x = np.asarray(x, dtype=float)
    keep = scored(x)
    n_unscored = int((~keep).sum())
    x = x[keep]
    n = len(x)
    return AlpacaMetrics(
        name=name,
        win_rate=float(100 * x.mean()) if n else math.nan,
        standard_error=100 * sem(x),
        discrete_win_rate=float(100 * discrete(x).mean()) if n else math.nan,
        n_wins=int((x > 0.5).sum()),
        n_wins_base=int((x < 0.5).sum()),
        n_draws=int((x == 0.5).sum()),
        n_total=n,
        n_unscored=n_unscored,
        avg_length=avg_length,
    )


# --------------------------------------------------------------------------- length-controlled GLM


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def _fit_l1_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float, tol: float = 1e-12) -> np.ndarray:
    """argmin_b ||b||_1 + C * sum_i w_i * logloss(y_i, sigmoid(X_i b)) with soft labels y.

    This is liblinear's L1 logistic objective after AlpacaEval's soft-label duplication
    (row copy with label 1 at weight y*w, label 0 at weight (1-y)*w). Solved to
    convergence by proximal Newton (exact Hessian, the L1-penalised quadratic step solved
    exactly, backtracking line search); the design has only 2-3 columns.
    """
    k = X.shape[1]
    lam = 1.0 / C  # same minimiser: sum_i w_i loss_i + ||b||_1 / C

    def objective(b: np.ndarray) -> float:
        z = X @ b
        # -[y log s(z) + (1-y) log s(-z)] = logaddexp(0, z) - y z
        return float(np.sum(w * (np.logaddexp(0.0, z) - y * z)) + lam * np.abs(b).sum())

    b = np.zeros(k)
    f = objective(b)
    for _ in range(100):
        p = _sigmoid(X @ b)
        g = X.T @ (w * (p - y))
        H = (X * (w * p * (1 - p))[:, None]).T @ X + 1e-9 * np.eye(k)
        d = _l1_quadratic_argmin(g - H @ b, H, lam) - b
        delta = g @ d + lam * (np.abs(b + d).sum() - np.abs(b).sum())
        if np.max(np.abs(d)) < tol or delta > -1e-14 * max(1.0, abs(f)):
            break  # no descent left: converged
        t = 1.0
        while t > 1e-8:
            f_new = objective(b + t * d)
            if f_new <= f + 1e-4 * t * delta:
                break
            t /= 2
        else:
            break  # line search failed (flat or separable direction)
        converged = f - f_new <= 1e-15 * max(1.0, abs(f))
        b, f = b + t * d, f_new
        if converged:
            break
    return b


def _l1_quadratic_argmin(c: np.ndarray, H: np.ndarray, lam: float) -> np.ndarray:
    """Exact argmin_b c.b + b.H.b/2 + lam*|b|_1 for a few coordinates (H positive definite).

    Enumerates supports and sign patterns: the minimiser is the best candidate whose signs
    are consistent (3 columns: 27 candidates).
    """
    from itertools import combinations, product

    k = len(c)
    best, best_val = np.zeros(k), 0.0
    for size in range(1, k + 1):
        for support in combinations(range(k), size):
            idx = list(support)
            H_ss = H[np.ix_(idx, idx)]
            for signs in product((-1.0, 1.0), repeat=size):
                s_vec = np.array(signs)
                try:
                    b_s = -np.linalg.solve(H_ss, c[idx] + lam * s_vec)
                except np.linalg.LinAlgError:
                    continue
                if np.any(np.sign(b_s) != s_vec):
                    continue
                val = float(c[idx] @ b_s + 0.5 * b_s @ H_ss @ b_s + lam * np.abs(b_s).sum())
                if val < best_val:
                    best_val, best = val, np.zeros(k)
                    best[idx] = b_s
    return best


def _group_folds(n: int, n_splits: int) -> np.ndarray:
    """Fold of each row under sklearn's GroupKFold with one equal-size group per row."""
    return (n - 1 - np.arange(n)) % n_splits


def fit_glm_cv(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, *, n_splits: int = CV_SPLITS, Cs: np.ndarray = CV_CS
) -> tuple[np.ndarray, float]:
    """Choose C by grouped K-fold CV (weighted log loss), refit on all rows. -> (coef, C)."""
    folds = _group_folds(len(y), n_splits)
    scores = np.zeros(len(Cs))
    for f in range(n_splits):
        train, test = folds != f, folds == f
        if not test.any() or not train.any():
            continue  # fewer rows than folds
        for j, C in enumerate(Cs):
            b = _fit_l1_logistic(X[train], y[train], w[train], C)
            p = np.clip(_sigmoid(X[test] @ b), 1e-15, 1 - 1e-15)
            scores[j] += np.mean(w[test] * (y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
    best = float(Cs[int(np.argmax(scores))])
    return _fit_l1_logistic(X, y, w, best), best


def length_features(len_reference: Sequence[int], len_model: Sequence[int]) -> np.ndarray:
    """std_delta_len: (reference length - model length) / std (ddof = 1), not centred."""
    delta = np.asarray(len_reference, dtype=float) - np.asarray(len_model, dtype=float)
    std = np.std(delta, ddof=1) if len(delta) > 1 else 0.0
    return delta / std if std > 0 else np.zeros_like(delta)


def positional_difficulty(difficulty: np.ndarray | None, n: int, index: Sequence[int] | None = None) -> np.ndarray:
    """d_i for n rows: by row position (AlpacaEval), or by the given instruction indices."""
    if difficulty is None:
        return np.zeros(n)
    idx = np.arange(n) if index is None else np.asarray(index, dtype=int)
    if len(idx) and idx.max() >= len(difficulty):
        raise ValueError(f"instruction difficulty has {len(difficulty)} values; row index {idx.max()} is out of range")
    return np.asarray(difficulty, dtype=float)[idx]


def length_controlled(
    x: np.ndarray,
    len_reference: Sequence[int],
    len_model: Sequence[int],
    *,
    difficulty: np.ndarray | None = None,
    index: Sequence[int] | None = None,
    gamed: GamedRows | None = None,
    regularize_lambda: float | None = REGULARIZE_LAMBDA,
    is_baseline: bool = False,
) -> tuple[float, float, GlmFit, LcVariant]:
    """LC win rate (percent), its SE, the GLM coefficients and the variant used.

    ``difficulty`` None fits the minimal GLM (length + intercept). ``gamed`` (with a
    difficulty vector and a non-zero lambda) adds the regularisation rows of the official
    ``length_controlled_v1``. Unscored rows (see :func:`scored`) are dropped from the fit but predicted.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    d = positional_difficulty(difficulty, n, index)
    if is_baseline:
        fit = GlmFit(length=0.0, difficulty=0.0, intercept=0.0)
        return 50.0, 0.0, fit, "baseline"
    sdl = length_features(len_reference, len_model)
    keep = scored(x)
    use_d = difficulty is not None
    cols = [np.tanh(sdl[keep])] + ([d[keep]] if use_d else []) + [np.ones(keep.sum())]
    X = np.column_stack(cols)
    y = x[keep]
    w = np.ones(len(y))
    variant: LcVariant = "length_controlled_noreg" if use_d else "length_controlled_minimal"
    if gamed is not None and use_d and regularize_lambda:
        gX = np.column_stack([np.tanh(gamed.std_delta_len), gamed.instruction_difficulty, np.zeros(len(gamed.x))])
        X = np.vstack([gX, X])  # upstream puts the gamed rows first (fold assignment follows row order)
        y = np.concatenate([np.asarray(gamed.x), y])
        w = np.concatenate([np.full(len(gamed.x), regularize_lambda / 2), w])
        variant = "length_controlled_v1"
    coef, C = fit_glm_cv(X, y, w)
    fit = GlmFit(length=float(coef[0]), difficulty=float(coef[1]) if use_d else 0.0, intercept=float(coef[-1]), C=C)
    p = _sigmoid(fit.intercept + fit.difficulty * d)
    return float(100 * p.mean()), 100 * sem(p), fit, variant


WEIGHTS_ROW_TOLERANCE = 0.1
"""Largest |predicted - observed| raw win rate (percentage points) for which a published GLM
weights row is taken as the file's own.

A row fitted on a file reproduces that file's raw win rate: the model term theta is an
L1-penalised coefficient whose feature is 1 on exactly the model's rows, so at the optimum
the row's mean prediction misses the observed mean by 1 / (C n). Measured with the real
instruction difficulties on the 50 published models whose annotation files the alpaca_eval
repository stores: at most 0.048 points (median 0.026). A row of another model passed this
tolerance in 81 of 9,900 mismatched (file, row) pairs (0.8%), then with an LC error of
median 0.35 and at most 5.2 points; AlpacaEval's NullModel file, whose ``generator_2`` is
"example", misses the "example" row by 76.7 points.
"""


def weights_row_gap(
    fit: GlmFit, x: np.ndarray, len_reference: Sequence[int], len_model: Sequence[int], difficulty: np.ndarray
) -> float:
    """Raw win rate (points) a stored GLM row predicts for this file, minus the file's own.

    About 0 for the row fitted on this very file with these difficulties (see
    :data:`WEIGHTS_ROW_TOLERANCE`); far from 0 for another model's row (or a difficulty
    file the row was not fitted with). NaN preferences are left out of both means.
    """
    x = np.asarray(x, dtype=float)
    d = positional_difficulty(difficulty, len(x))
    sdl = length_features(len_reference, len_model)
    p = _sigmoid(fit.length * np.tanh(sdl) + fit.difficulty * d + fit.intercept)
    keep = ~np.isnan(x)
    if not keep.any():
        return math.nan
    return float(100 * (p[keep].mean() - x[keep].mean()))


def predict_from_weights(fit: GlmFit, difficulty: np.ndarray, baseline: GlmFit | None = None) -> tuple[float, float]:
    """LC win rate (and SE) from stored GLM weights, against ``baseline`` (default: the reference)."""
    dt = fit.intercept - (baseline.intercept if baseline else 0.0)
    dd = fit.difficulty - (baseline.difficulty if baseline else 0.0)
    p = _sigmoid(dt + dd * np.asarray(difficulty, dtype=float))
    return float(100 * p.mean()), 100 * sem(p)


def difficulty_from_glm_preference(glm_preference: Sequence[float], fit: GlmFit) -> np.ndarray:
    """Recover d_i from a file's ``glm_preference`` column: d = (logit(g) - theta) / psi."""
    g = np.asarray(glm_preference, dtype=float)
    if fit.difficulty == 0:
        raise ValueError("the model's difficulty weight is 0: the difficulties cannot be recovered")
    return (np.log(g) - np.log1p(-g) - fit.intercept) / fit.difficulty


# --------------------------------------------------------------------------- one annotation file


def annotation_metrics(
    records: Sequence[dict[str, Any]],
    *,
    name: str = "",
    difficulty: np.ndarray | None = None,
    gamed: GamedRows | None = None,
    regularize_lambda: float | None = REGULARIZE_LAMBDA,
    weights: dict[str, GlmFit] | None = None,
    lc: bool = True,
) -> AlpacaMetrics:
    """All metrics of one AlpacaEval annotation file (``output_1`` = reference, ``output_2`` = model).

    ``weights`` (published GLM weights) with ``difficulty``: LC is predicted from the
    model's stored coefficients (``stored_weights``) when a row is named like the model
    AND reproduces this file's raw win rate (:func:`weights_row_gap` within
    :data:`WEIGHTS_ROW_TOLERANCE`): a name alone does not make a row the file's (AlpacaEval's
    own NullModel file is named "example", like another model's row). A row that fails
    the check is reported in ``lc_weights_rejected`` and LC is fitted instead (see
    :func:`length_controlled`).
    """
    for i, r in enumerate(records):
        if "preference" not in r or "output_1" not in r or "output_2" not in r:
            raise ValueError(f"{name or 'annotations'}: record {i} lacks preference/output_1/output_2")
    x = to_x(r.get("preference") for r in records)
    len_model = [len(str(r["output_2"] or "")) for r in records]
    len_ref = [len(str(r["output_1"] or "")) for r in records]
    m = raw_metrics(x, name=name, avg_length=int(np.mean(len_model)) if records else None)
    if not lc or m.n_total < 2:
        return m
    model = records[0].get("generator_2")
    is_baseline = model is not None and model == records[0].get("generator_1")
    stored = weights.get(str(model)) if weights is not None and difficulty is not None and not is_baseline else None
    if stored is not None:
        gap = weights_row_gap(stored, x, len_ref, len_model, difficulty)
        if not abs(gap) <= WEIGHTS_ROW_TOLERANCE:
            m.lc_weights_rejected = (
                f"GLM weights row '{model}' not used: it predicts a raw win rate of {m.win_rate + gap:.2f} for "
                f"this file, which has {m.win_rate:.2f} (the row was fitted on other data, or with other "
                f"instruction difficulties); LC fitted instead"
            )
            stored = None
    if stored is not None:
        fit = stored
        value, se = predict_from_weights(fit, positional_difficulty(difficulty, len(records)))
        variant: str = "stored_weights"
    else:
        value, se, fit, variant = length_controlled(
            x, len_ref, len_model, difficulty=difficulty, gamed=gamed,
            regularize_lambda=regularize_lambda, is_baseline=is_baseline,
        )
    m.length_controlled_winrate = value
    m.lc_standard_error = se
    m.lc_variant = variant
    if variant == "length_controlled_v1":
        m.length_controlled_winrate_noreg = length_controlled(x, len_ref, len_model, difficulty=difficulty)[0]
    m.lc_weights = {"length": fit.length, "instruction_difficulty": fit.difficulty, "intercept": fit.intercept}
    return m
