"""Turning a fold model's scores into probabilities of "planet candidate".

Class-weighted losses, balanced batches and early stopping on PR-AUC make a model rank well, but
its raw score is not a probability: trained with ``pos_weight = n_neg / n_pos`` it shifts every
log-odds by about ``log(pos_weight)``, and says 0.9 where a third of such TCEs are planets. Each
fold model is therefore calibrated on its validation split, TCEs that fold never trains on, by
beta calibration (Kull, Silva Filho & Flach 2017):

    p = sigmoid(a * ln(raw) - b * ln(1 - raw) + c)

Platt scaling of the logit is the case a = b; two slopes let the map correct a model that is too
sure of itself at one end and not the other, which the default run's CNNs were when the map was
chosen: astronet's out-of-fold scores around 0.14 held 7.5% planets while those around 0.75-0.85
held 89-92%, and no single slope fits both. Measured on that run (its survey of the time: 1,468
labelled TCEs, each fold calibrated on its
~235 validation TCEs, pooled out-of-fold ECE): exominer 0.015 (Platt) / 0.016 (beta), astronet
0.031 / 0.019, raw_flux 0.027 / 0.023, trees 0.025 / 0.020. (Averaging Platt's map over its two
parameters' posterior, tried first, gave 0.018, 0.034, 0.028, 0.026 there.)

The three parameters are fitted by maximum likelihood with a weak Gaussian prior centred on the
identity (a = b = 1 +- 5, c = 0 +- 10), which keeps them finite when the validation split is
perfectly separated; on log-scores clipped to 16 (a probability within 1e-7 of 0 or 1), so that a
few extreme scores cannot set a slope; and with a, b >= 0, so that the map never reverses the order
of two scores (it is applied to the unclipped scores, so they keep their order). Platt's own
remedy for separation, smoothed targets ((N+ + 1) / (N+ + 2) for positives), is not used: it caps
every positive's target below 1, which flattened the slope and left the default run's
probabilities around 0.5-0.9 too low. Isotonic regression would need far more validation TCEs and
would make ties of distinct TCEs.

Multiplicity as evidence (``evaluation.multiplicity_prior``, off by default): planets come in
systems, so a TCE on a star with other TCEs is more often a planet (Lissauer et al. 2012; ExoMiner's
multiplicity boost). With m = 1 when the TCE's star has another TCE in the catalog (labelled or
not: what a vetter knows) at a distinct period, not this one's, twice or half it
(catalog.ephemeris.has_distinct_neighbour): an eclipsing binary's secondary and harmonics are TCEs
of their own, so on Kepler's DR24 table 83% of the AFPs share their star with another TCE against
45% of the PCs, but only 22% of the AFPs with one at a distinct period against 44% of the PCs.
Bayes' rule updates a calibrated probability p by the likelihood ratio of what was observed:

    odds(PC | score, m) = odds(PC | score) * P(m | PC) / P(m | not PC)

i.e. by LR_multi = q1 / q0 on multi-TCE stars and by LR_single = (1 - q1) / (1 - q0) on single-TCE
stars, q_c being the fraction of class c's labelled TCEs on multi-TCE stars. Both sides move (the
singles down when the multis go up), which keeps the probabilities calibrated: averaged over m the
update leaves the planet fraction as it was. It assumes m tells nothing more about the class once
the model's score is known (no model is given the star's TCE count), and that the labels' rates of
multi-TCE stars hold for the TCEs scored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit

EPS = 1e-15  # keeps the logs finite for raw scores of exactly 0 or 1
PROB_CLIP = 1e-6  # probabilities (written with 6 decimals) kept this far from 0 and 1 before taking odds
FIT_CLIP = 16.0
# The prior on (a, b, c): weak, centred on leaving the scores as they are.
PRIOR_SLOPE_SD, PRIOR_OFFSET_SD = 5.0, 10.0


def _log_terms(scores) -> tuple[np.ndarray, np.ndarray]:
    """ln(s) and -ln(1 - s), the two inputs of the map."""
    s = np.clip(np.asarray(scores, float), EPS, 1 - EPS)
    return np.log(s), -np.log1p(-s)


@dataclass(frozen=True)
class Calibration:
    a: float                # weight of ln(raw)
    b: float                # weight of -ln(1 - raw)
    c: float
    fitted_on: str          # "validation" (held-out TCEs), or "training" when no split could be spared
    n: int
    n_positive: int
    # Log-odds added for a catalog of another planet fraction than the one fitted on (prior_shift).
    prior_shift: float = 0.0

    def __call__(self, raw_scores) -> np.ndarray:
        """Calibrated probabilities for raw scores in [0, 1]."""
        raw = np.asarray(raw_scores, float)
        if not raw.size:
            return raw
        low, high = _log_terms(raw)
        return expit(self.a * low + self.b * high + self.c + self.prior_shift)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        """Also reads the Platt maps of model files written before beta calibration
        (``p = sigmoid(a * logit(raw) + b)``, i.e. a = b and c = their b)."""
        if "c" not in d:
            return cls(float(d["a"]), float(d["a"]), float(d["b"]), str(d["fitted_on"]), int(d["n"]),
                       int(d["n_positive"]))
        return cls(float(d["a"]), float(d["b"]), float(d["c"]), str(d["fitted_on"]), int(d["n"]), int(d["n_positive"]),
                   float(d.get("prior_shift", 0.0)))


def prior_shift(fitted_fraction: float, target_fraction: float) -> float:
    """The log-odds that turn probabilities calibrated at one planet fraction into those for a
    catalog at another, the classes' own distributions unchanged (Saerens, Latinne & Decaestecker
    2002): logit(target) - logit(fitted). A model that learned from a survey's every TCE (3%
    planets in Yu et al.'s TESS set) scores the TOIs a user vets, about half of them planets."""
    if not (0 < fitted_fraction < 1 and 0 < target_fraction < 1):
        raise ValueError(f"planet fractions must lie strictly between 0 and 1 (got {fitted_fraction} and "
                         f"{target_fraction})")
    return float(logit(target_fraction) - logit(fitted_fraction))


def fit_calibration(raw_scores, labels, fitted_on: str = "validation") -> Calibration:
    """Beta calibration of ``raw_scores`` (in [0, 1]) to ``labels`` (0/1): the most probable
    (a, b, c) under the weak prior above, with a, b >= 0; deterministic."""
    y = np.asarray(labels, float)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"calibration needs both classes; got {n_pos} positives and {n_neg} negatives")
    low, high = _log_terms(raw_scores)
    x = np.column_stack([np.maximum(low, -FIT_CLIP), np.minimum(high, FIT_CLIP), np.ones_like(low)])
    centre = np.array([1.0, 1.0, 0.0])
    precision = np.array([PRIOR_SLOPE_SD, PRIOR_SLOPE_SD, PRIOR_OFFSET_SD]) ** -2.0

    def neg_log_posterior(params):
        z = x @ params
        value = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * np.sum(precision * (params - centre) ** 2)
        return float(value), x.T @ (expit(z) - y) + precision * (params - centre)

    result = minimize(neg_log_posterior, x0=centre, jac=True, method="L-BFGS-B",
                      bounds=[(0.0, None), (0.0, None), (None, None)])
    a, b, c = (float(v) for v in result.x)
    return Calibration(a, b, c, fitted_on, int(y.size), n_pos)


@dataclass(frozen=True)
class MultiplicityRatio:
    """The likelihood ratios of the multiplicity indicator: ``multi`` = P(>= 2 TCEs | PC) /
    P(>= 2 TCEs | not PC) for a TCE on a multi-TCE star, ``single`` = P(1 TCE | PC) /
    P(1 TCE | not PC) for one alone on its star; estimated from ``n_positive`` + ``n_negative``
    labelled TCEs."""
    multi: float
    single: float
    n_positive: int
    n_negative: int


def multiplicity_ratio(labels, multi) -> MultiplicityRatio:
    """The two likelihood ratios from labelled TCEs (``labels`` 1 = PC, 0 = not; other values, e.g.
    -1 for unlabelled, are ignored) and ``multi`` (whether each TCE's star has >= 2 TCEs). Each
    class's multi fraction is the posterior mean under a uniform Beta(1, 1) prior, (k + 1) / (n + 2)
    (one pseudo-count on each side), so a small fold gives ratios that are finite and positive, and
    no labels at all give 1 (no update)."""
    y = np.asarray(labels, float)
    m = np.asarray(multi, bool)
    pos, neg = y == 1, y == 0
    q1 = (np.sum(m & pos) + 1.0) / (np.sum(pos) + 2.0)
    q0 = (np.sum(m & neg) + 1.0) / (np.sum(neg) + 2.0)
    return MultiplicityRatio(float(q1 / q0), float((1 - q1) / (1 - q0)), int(pos.sum()), int(neg.sum()))


def apply_multiplicity(prob, multi, ratio: MultiplicityRatio) -> np.ndarray:
    """Bayes' update of calibrated probabilities ``prob`` by each TCE's multiplicity: the odds
    (of ``prob`` clipped to [PROB_CLIP, 1 - PROB_CLIP]) times ``ratio.multi`` where ``multi`` is
    true, times ``ratio.single`` where it is false. NaN stays NaN."""
    p = np.clip(np.asarray(prob, float), PROB_CLIP, 1 - PROB_CLIP)
    lr = np.where(np.asarray(multi, bool), ratio.multi, ratio.single)
    return expit(logit(p) + np.log(lr))
