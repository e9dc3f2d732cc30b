"""AlpacaEval 2.0 metrics from pairwise preferences (numpy, scikit-learn for the LC fit; inspect only to read logs).

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
  ``d_i`` the per-instruction difficulty looked up by row position, fitted as AlpacaEval
  fits it: scikit-learn's L1-penalised ``LogisticRegressionCV`` (liblinear) on soft labels
  with 5-fold grouped CV over ``C in logspace(-4, 4, 10)`` (:func:`fit_glm_cv`). With the
  gamed-baseline rows (``df_gamed.csv``) the fit shares phi and psi with them at weight
  lambda/2 each (lambda = 0.2). The LC win rate is ``100 * mean_i sigmoid(theta + psi * d_i)``.

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
"""Folds of the grouped cross-validation; also the fewest scored rows an LC fit accepts."""
CV_CS = np.logspace(-4, 4, 10)
"""Inverse L1 strengths tried by cross-validation (sklearn's LogisticRegressionCV default grid)."""
LIBLINEAR_TOL = 1e-4
LIBLINEAR_MAX_ITER = 100
LIBLINEAR_SEED = 123
"""liblinear's stopping tolerance, iteration cap and coordinate-shuffling seed, as AlpacaEval
(the fit is stopped early, so these decide the last digits of the coefficients)."""
SKLEARN_MIN = (1, 8)
"""The fit uses the ``l1_ratios`` spelling of the L1 penalty (scikit-learn 1.8+)."""

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
    lc_skipped: str | None = None
    """Why no length-controlled win rate was computed although it was asked for (see :class:`LcNotFittable`)."""


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
    """The gamed-baseline training rows (``df_gamed.csv``): already featurised, in file order."""

    x: list[float]
    """preference - 1, in [0, 1]."""
    std_delta_len: list[float]
    instruction_difficulty: list[float]
    not_gamed_baseline: list[bool] | None = None
    """Per row: True for a row that is not a gamed baseline (AlpacaEval fits such a row at
    full weight with the model term 1); None: every row is a gamed baseline."""


def read_gamed(path: str | Path) -> GamedRows:
    """Read ``df_gamed.csv`` (columns preference, std_delta_len, instruction_difficulty, not_gamed_baseline).

    Every row with a preference is kept, in file order, as AlpacaEval's fit uses the file
    (rows without a preference are dropped, as it drops them).
    """
    import pandas as pd

    df = pd.read_csv(Path(path).expanduser())
    missing = {"preference", "std_delta_len", "instruction_difficulty"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: gamed-baseline file lacks column(s) {sorted(missing)}")
    pref = df["preference"].astype(float).replace({0.0: 1.5} if (df["preference"] > 1).any() else {})
    x = pref - 1 if (pref > 1).any() else pref  # upstream stores [0, 1]; accept [1, 2] too
    keep = x.notna().to_numpy()
    flags = None
    if "not_gamed_baseline" in df.columns:
        flags = df["not_gamed_baseline"].map(_as_bool)
        if flags.isna().any():
            bad = df["not_gamed_baseline"][flags.isna()].iloc[0]
            raise ValueError(f"{path}: not_gamed_baseline must be True/False, got {bad!r}")
        flags = flags[keep].astype(bool).tolist()
    return GamedRows(
        x=x[keep].tolist(),
        std_delta_len=df["std_delta_len"].astype(float)[keep].tolist(),
        instruction_difficulty=df["instruction_difficulty"].astype(float)[keep].tolist(),
        not_gamed_baseline=flags,
    )


def _as_bool(v: Any) -> bool | None:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
        return bool(v)
    return {"true": True, "false": False}.get(str(v).strip().lower())


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


class LcNotFittable(ValueError):
    """The length-controlled GLM cannot be fitted on these rows (the message says why)."""


def _soft_log_loss(label, proba, true_prob, true_sample_weight):
    """CV score of the soft-label fit: the weighted log loss against the soft target.

    Each instruction appears twice (label 1 with ``true_prob`` = y, label 0 with
    ``true_prob`` = 1 - y); both copies are scored against y, as AlpacaEval's scorer does.
    """
    y = np.where(np.asarray(label) == 1, true_prob, 1 - np.asarray(true_prob))
    q = np.clip(proba, 1e-15, 1 - 1e-15)
    return -np.mean((y * np.log(q) + (1 - y) * np.log(1 - q)) * true_sample_weight)


def _check_sklearn() -> None:
    import re

    import sklearn

    found = re.match(r"(\d+)\.(\d+)", sklearn.__version__)
    if found is None or (int(found[1]), int(found[2])) < SKLEARN_MIN:
        raise RuntimeError(
            f"the length-controlled fit needs scikit-learn >= {'.'.join(map(str, SKLEARN_MIN))} "
            f"(found {sklearn.__version__}; older versions read l1_ratios differently): pip install -U scikit-learn"
        )


def fit_glm_cv(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, *, n_splits: int = CV_SPLITS, Cs: np.ndarray = CV_CS
) -> tuple[np.ndarray, float]:
    """AlpacaEval's GLM fit on soft labels y in [0, 1] with row weights w. -> (coef, C).

    scikit-learn's ``LogisticRegressionCV`` exactly as ``alpaca_eval.metrics.glm_winrate``
    sets it up: L1 penalty, liblinear (tol 1e-4, 100 iterations, random_state 123), no
    intercept (the design carries the model term); each row duplicated as label 1 at
    weight y*w and label 0 at weight (1-y)*w (the soft-label log loss), copies of one row
    kept in one fold by ``GroupKFold``; C from ``Cs`` by the summed weighted soft log loss
    over the folds, then refit on all rows. Needs at least ``n_splits`` rows.
    """
    _check_sklearn()
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    X, y, w = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(w, dtype=float)
    n = len(y)
    if n < n_splits:
        raise LcNotFittable(f"{n} scored rows, the {n_splits}-fold cross-validated GLM fit needs at least {n_splits}")
    for value, outcome in ((0.0, "loses"), (1.0, "wins")):
        if np.all(y[w > 0] == value):
            # one class only: liblinear drops the zero-weight copies and has nothing to fit
            # (AlpacaEval would report 50 for a model that loses every comparison)
            raise LcNotFittable(
                f"every scored preference is {value:g} (the model always {outcome}): the GLM has no finite fit"
            )
    true_prob = np.concatenate([y, 1 - y])
    true_weight = np.concatenate([w, w])
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(_soft_log_loss, response_method="predict_proba", greater_is_better=False)
        scorer = scorer.set_score_request(true_prob=True, true_sample_weight=True)
        options: dict[str, Any] = {}
        if LogisticRegressionCV().get_params().get("use_legacy_attributes") == "warn":
            options["use_legacy_attributes"] = False  # scikit-learn 1.8/1.9: silence the transition warning
        model = LogisticRegressionCV(
            Cs=Cs, l1_ratios=(1.0,), cv=GroupKFold(n_splits=n_splits), scoring=scorer, solver="liblinear",
            fit_intercept=False, dual=False, tol=LIBLINEAR_TOL, max_iter=LIBLINEAR_MAX_ITER,
            random_state=LIBLINEAR_SEED, **options,
        ).set_fit_request(sample_weight=True)
        model.fit(
            np.vstack([X, X]), np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)]),
            sample_weight=true_prob * true_weight, groups=np.concatenate([np.arange(n), np.arange(n)]),
            true_prob=true_prob, true_sample_weight=true_weight,
        )
    return np.asarray(model.coef_[0], dtype=float), float(np.ravel(model.C_)[0])


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
        own = np.asarray(gamed.not_gamed_baseline if gamed.not_gamed_baseline is not None else [False] * len(gamed.x))
        gX = np.column_stack([np.tanh(gamed.std_delta_len), gamed.instruction_difficulty, own.astype(float)])
        X = np.vstack([gX, X])  # AlpacaEval puts the gamed rows first (fold assignment follows row order)
        y = np.concatenate([np.asarray(gamed.x), y])
        # lambda split over the two gamed baselines; a row that is not a gamed baseline weighs 1
        w = np.concatenate([np.where(own, 1.0, regularize_lambda / 2), w])
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
        try:
            value, se, fit, variant = length_controlled(
                x, len_ref, len_model, difficulty=difficulty, gamed=gamed,
                regularize_lambda=regularize_lambda, is_baseline=is_baseline,
            )
        except LcNotFittable as ex:
            m.lc_skipped = f"length-controlled win rate not computed: {ex}"
            return m
    m.length_controlled_winrate = value
    m.lc_standard_error = se
    m.lc_variant = variant
    if variant == "length_controlled_v1":
        try:
            m.length_controlled_winrate_noreg = length_controlled(x, len_ref, len_model, difficulty=difficulty)[0]
        except LcNotFittable:
            pass  # the unregularised fit needs the model's own rows to hold both outcomes
    m.lc_weights = {"length": fit.length, "instruction_difficulty": fit.difficulty, "intercept": fit.intercept}
    return m
