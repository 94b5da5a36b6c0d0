"""The siting scorecard: pillar scores from a candidate's own layers, fixed normalisation, weights per tier.

The scorecard (``data/siting/scorecard.yaml``, overridable) defines, for each of the eight
:data:`PILLARS`, the layer inputs it reads, how each input maps to 0-1 (``ramp: [worst, best]``,
linear and clipped, or a ``values`` table for categories) and how the inputs combine (a weighted
mean over the inputs that are present).  The anchors are fixed numbers, so a site's score depends
on its own layers only, never on the other candidates screened (scores are *absolute*).

Missing inputs are never scored as bad, nor as good: a missing input (e.g. the distance to the
grid outside the grid layer's coverage) takes the neutral score ``uncertainty.missing_input``
(0.5) and is flagged (``flags``: ``power_capacity.hv_distance_km: outside the grid layer's
coverage``); the Monte Carlo draws it uniformly on 0-1, so a candidate known less well has a wider
score spread.  An input that does not apply (the population within a latency cap for the training
tier, which has none) is left out of its pillar, and a pillar with no applicable input is NaN and
left out of the total, whose weights are renormalised over the pillars present.

The total score is ``sum_p w_p s_p / sum_p w_p`` over the pillars present, with the tier's weights.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from powerfirst.errors import Problem, ValidationError

__all__ = ["OPTIONAL_INPUTS", "PILLARS", "TIERS", "Scorecard", "load_scorecard", "pillar_scores", "total_score"]

#: the eight pillars, in display order
PILLARS = ("time_to_power", "power_capacity", "energy_cost_carbon", "cooling_climate", "latency",
           "water_hazard", "land_permitting", "social_licence")
#: the three tiers of the network
TIERS = ("training", "regional", "edge")


def default_scorecard_path() -> Path:
    from powerfirst.paths import data_dir

    return data_dir() / "siting" / "scorecard.yaml"


@dataclass(frozen=True)
class Scorecard:
    """A validated scorecard: ``weights[tier][pillar]`` (normalised to sum 1), ``normalisation``,
    ``tiers`` (target_mw [MW], min_voltage_kv [kV], rtt_cap_ms [ms]), ``exclusions``, ``uncertainty``
    and ``source`` (the files it was read from)."""

    weights: dict
    normalisation: dict
    tiers: dict
    exclusions: dict
    uncertainty: dict
    source: tuple

    def tier_weights(self, tier: str) -> np.ndarray:
        """Weights of the pillars for ``tier`` in :data:`PILLARS` order [1], summing to 1."""
        if tier not in self.weights:
            raise ValidationError([Problem(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}",
                                           column="tier")], what="tier")
        return np.array([self.weights[tier][p] for p in PILLARS], float)

    def inputs(self, pillar: str) -> list[str]:
        """The layer inputs a pillar reads."""
        return [k for k in self.normalisation[pillar] if k != "combine"]


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError([Problem(f"scorecard file not found: {path}", file=str(path))], what=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError([Problem(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                                       line=(mark.line + 1) if mark else None)], what=str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError([Problem(f"expected a mapping at the top level, found {type(data).__name__}",
                                       file=str(path))], what=str(path))
    return data


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=2)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _check(card: dict, files: tuple) -> list[Problem]:
    where = files[-1]
    probs: list[Problem] = []
    for key in ("weights", "normalisation", "tiers", "exclusions", "uncertainty"):
        if not isinstance(card.get(key), dict):
            probs.append(Problem(f"'{key}': expected a mapping", file=where, column=key))
    if probs:
        return probs
    for tier, w in card["weights"].items():
        if tier not in TIERS:
            probs.append(Problem(f"weights: unknown tier {tier!r}{_suggest(tier, TIERS)}; expected one of "
                                 f"{', '.join(TIERS)}", file=where, column=f"weights.{tier}"))
            continue
        if not isinstance(w, dict):
            probs.append(Problem(f"weights.{tier}: expected a mapping pillar: weight", file=where,
                                 column=f"weights.{tier}"))
            continue
        for p, v in w.items():
            if p not in PILLARS:
                probs.append(Problem(f"weights.{tier}: unknown pillar {p!r}{_suggest(p, PILLARS)}; the pillars are "
                                     f"{', '.join(PILLARS)}", file=where, column=f"weights.{tier}.{p}"))
            elif isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                probs.append(Problem(f"weights.{tier}.{p}: expected a number >= 0, found {v!r}", file=where,
                                     column=f"weights.{tier}.{p}"))
            elif v < 0:
                probs.append(Problem(f"weights.{tier}.{p}: weights must be >= 0, found {v}", file=where,
                                     column=f"weights.{tier}.{p}"))
        missing = [p for p in PILLARS if p not in w]
        if missing:
            probs.append(Problem(f"weights.{tier}: no weight for {', '.join(missing)} (give 0 to drop a pillar)",
                                 file=where, column=f"weights.{tier}"))
        vals = [v for p, v in w.items() if p in PILLARS and isinstance(v, int | float) and not isinstance(v, bool)]
        if not missing and vals and not sum(vals) > 0:
            probs.append(Problem(f"weights.{tier}: the weights sum to {sum(vals)}; they must sum to a positive "
                                 "number", file=where, column=f"weights.{tier}"))
    for p, spec in card["normalisation"].items():
        if p not in PILLARS:
            probs.append(Problem(f"normalisation: unknown pillar {p!r}{_suggest(p, PILLARS)}", file=where,
                                 column=f"normalisation.{p}"))
            continue
        comb = spec.get("combine") if isinstance(spec, dict) else None
        if not isinstance(comb, dict) or not comb:
            probs.append(Problem(f"normalisation.{p}: a 'combine' mapping input: weight is required", file=where,
                                 column=f"normalisation.{p}.combine"))
            continue
        for name, w in comb.items():
            col = f"normalisation.{p}.{name}"
            if name not in spec:
                probs.append(Problem(f"normalisation.{p}.combine names {name!r}, which has no mapping", file=where,
                                     column=col))
            elif not isinstance(w, int | float) or w < 0:
                probs.append(Problem(f"normalisation.{p}.combine.{name}: expected a weight >= 0, found {w!r}",
                                     file=where, column=col))
            else:
                m = spec[name]
                ok = isinstance(m, dict) and (
                    (isinstance(m.get("ramp"), list) and len(m["ramp"]) == 2 and m["ramp"][0] != m["ramp"][1])
                    or isinstance(m.get("values"), dict))
                if not ok:
                    probs.append(Problem(f"{col}: expected {{ramp: [worst, best]}} with worst != best, or "
                                         f"{{values: {{...}}, default: x}}, found {m!r}", file=where, column=col))
    for p in PILLARS:
        if p not in card["normalisation"]:
            probs.append(Problem(f"normalisation: pillar {p!r} has no mapping", file=where, column="normalisation"))
    for tier in TIERS:
        t = card["tiers"].get(tier)
        if not isinstance(t, dict) or not {"target_mw", "min_voltage_kv", "rtt_cap_ms"} <= set(t):
            probs.append(Problem(f"tiers.{tier}: target_mw [MW], min_voltage_kv [kV] and rtt_cap_ms [ms] are "
                                 "required", file=where, column=f"tiers.{tier}"))
        elif not (0 < float(t["target_mw"]) <= 10_000):
            probs.append(Problem(f"tiers.{tier}.target_mw: expected 0 < MW <= 10000, found {t['target_mw']}",
                                 file=where, column=f"tiers.{tier}.target_mw"))
    return probs


def load_scorecard(path=None) -> Scorecard:
    """Read the default scorecard, merged with an override file (weights, normalisation, ...).

    Parameters
    ----------
    path : path-like, optional
        A YAML file with any of the blocks ``weights``, ``tiers``, ``normalisation``,
        ``exclusions``, ``uncertainty``; each given key replaces the default's.

    Raises
    ------
    ValidationError
        Every problem at once: an unknown pillar or tier (with a suggestion), a negative or
        non-numeric weight, weights summing to zero, a malformed mapping.
    """
    base_path = default_scorecard_path()
    card = _read_yaml(base_path)
    files = (str(base_path),)
    if path is not None:
        over = _read_yaml(Path(path))
        unknown = [k for k in over if k not in ("weights", "tiers", "normalisation", "exclusions", "uncertainty")]
        if unknown:
            raise ValidationError([Problem(f"unknown block {k!r}{_suggest(k, ['weights', 'tiers', 'normalisation', 'exclusions', 'uncertainty'])}",
                                           file=str(path), column=k) for k in unknown], what=str(path))
        # a tier given in the override replaces that tier's weights whole (a pillar left out is an error)
        w = dict(card.get("weights", {}))
        w.update(over.get("weights", {}) or {})
        card = _merge(card, {k: v for k, v in over.items() if k != "weights"})
        card["weights"] = w
        files = files + (str(path),)
    probs = _check(card, files)
    if probs:
        raise ValidationError(probs, what=files[-1])
    weights = {t: {p: float(card["weights"][t][p]) / sum(float(card["weights"][t][q]) for q in PILLARS)
                   for p in PILLARS} for t in TIERS}
    return Scorecard(weights=weights, normalisation=card["normalisation"], tiers=card["tiers"],
                     exclusions=card["exclusions"], uncertainty=card["uncertainty"], source=files)


def _map(spec: dict, x):
    """One input mapped to 0-1 by its ``ramp`` or ``values`` table (NaN stays NaN for ramps)."""
    if "ramp" in spec:
        worst, best = (float(v) for v in spec["ramp"])
        return np.clip((np.asarray(x, float) - worst) / (best - worst), 0.0, 1.0)
    table = spec["values"]
    default = float(spec.get("default", np.nan))
    arr = np.asarray(x, dtype=object)
    out = np.array([float(table.get(v, default)) if isinstance(v, str) and v else default for v in arr.ravel()],
                   float)
    return out.reshape(arr.shape)


#: inputs that refine a pillar when the user gives them; their absence is no missing information
OPTIONAL_INPUTS = frozenset({"community_alignment"})


def pillar_scores(card: Scorecard, layers: dict, *, missing=None) -> tuple[dict, dict]:
    """Score of every pillar [1] from the layer inputs.

    Parameters
    ----------
    card : Scorecard
    layers : dict of str to array
        Each input named in the scorecard's normalisation (shape ``(n,)`` or ``(n, draws)``;
        arrays broadcast). An input absent from ``layers`` is not applicable (left out of its
        pillar); an input that is NaN is *missing*.
    missing : float or dict of str to array, optional
        Score given to a missing input (default the scorecard's ``uncertainty.missing_input``,
        0.5: neither near nor far); a dict gives per-input arrays (the Monte Carlo draws them
        uniformly on 0-1, so a missing input widens the score's spread). An optional input
        (:data:`OPTIONAL_INPUTS`) that is missing is left out instead.

    Returns
    -------
    scores : dict pillar -> array [1] (NaN only where the pillar has no applicable input)
    present : dict pillar -> dict input -> bool array (False where the input was missing)
    """
    default = float(card.uncertainty.get("missing_input", 0.5)) if missing is None or isinstance(missing, dict) \
        else float(missing)
    scores, present = {}, {}
    for p in PILLARS:
        spec = card.normalisation[p]
        num = den = 0.0
        pres = {}
        for name, w in spec["combine"].items():
            if name not in layers or float(w) == 0:
                continue
            s = _map(spec[name], layers[name])
            ok = np.isfinite(s)
            pres[name] = ok
            if name in OPTIONAL_INPUTS:
                num = num + np.where(ok, s, 0.0) * float(w)
                den = den + ok * float(w)
                continue
            fill = missing.get(name, default) if isinstance(missing, dict) else default
            num = num + np.where(ok, s, fill) * float(w)
            den = den + np.ones_like(s) * float(w)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores[p] = np.where(np.asarray(den) > 0, num / np.where(np.asarray(den) > 0, den, 1.0), np.nan)
        present[p] = pres
    return scores, present


def total_score(scores: dict, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of the pillar scores present [1], weights renormalised over them.

    ``weights`` has shape ``(P,)`` or ``(draws, P)`` (one weight vector per Monte Carlo draw;
    pillar scores then have shape ``(n, draws)``)."""
    w = np.asarray(weights, float)
    num = den = 0.0
    for i, p in enumerate(PILLARS):
        s = scores[p]
        wi = w[..., i]
        ok = np.isfinite(s)
        num = num + np.where(ok, s, 0.0) * wi
        den = den + ok * wi
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
