"""The siting screen: layers, time to power, pillar scores, Monte Carlo and ranks of every candidate.

:func:`screen` runs in three stages:

1. the *time-to-power profiles*: candidates that share what the time-to-power engine reads (BA,
   target MW, existing service, adjacent plant, land and permitting status, ...) share one run of
   the engine, whose draws depend only on the seed and the profile (so a candidate's result never
   depends on the other candidates); profiles run in parallel;
2. *blocks* of candidates along ``site`` (Dask tasks when a client is given): layers, pillar
   scores, exclusions, useful work, and the Monte Carlo score draws — every random number of a
   candidate comes from a counter-based hash of (seed, site id, variable, draw), and the weight
   draws from the seed alone, so any chunking and any number of workers give identical numbers;
3. the *global* step on the client: ranks, P(top-k) per candidate (the share of draws in which it
   is among the k best non-excluded candidates) and rank stability (Spearman correlation of each
   draw's ranking of the nominal top candidates with the nominal ranking).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Cancelled, Problem, ValidationError

from .score import PILLARS, TIERS, Scorecard, load_scorecard, pillar_scores, total_score

__all__ = ["SCREEN_PATHS", "Cancelled", "ScreenSettings", "screen", "ttp_profiles", "weight_sensitivity", "explain"]

#: the time-to-power paths of the screen (the bridge and on-site paths need site options a
#: generated candidate does not have; a user's sites may name them with ``paths``)
SCREEN_PATHS = ("grid_firm", "grid_flexible", "existing_service", "colocation")

#: what the time-to-power engine reads of a candidate (the profile key)
_PROFILE_COLUMNS = ("ba", "target_mw", "existing_service_mw", "colocated_plant_mw", "upgrade_class",
                    "firm_headroom_mw", "bridge_mw", "gas_option_mw", "solar_option_mw", "storage_option_mwh",
                    "land_status", "permitting_status", "start_date", "request_date")
#: inputs a user's sites may add; in the profile only when the candidates have the column, so that the
#: profiles (and their draws) of candidates without them do not change
_OPTIONAL_PROFILE_COLUMNS = ("utility", "facility_type", "colocated_plant_owner")


def _stop_if(should_stop, stage: str, done: int, total: int, client=None, futures=None) -> None:
    """Ask ``should_stop(stage, done, total)``; on a true answer cancel the Dask ``futures`` and raise
    :class:`Cancelled`."""
    if should_stop is not None and should_stop(stage, done, total):
        if client is not None and futures:
            client.cancel(futures)
        raise Cancelled(f"the screen was cancelled ({stage}: {done} of {total} done)")


@dataclass(frozen=True)
class ScreenSettings:
    """Settings of a screen.

    Attributes
    ----------
    tier : str
        ``training``, ``regional`` or ``edge`` (weights, target MW, voltage and latency cap).
    curtailment_limit : float
        Curtailment limit of a flexible connection [% of annual energy] for the BA headroom.
    draws : int
        Monte Carlo draws of the uncertain layers and the weights.
    seed : int
    top_k : int
        k of P(top-k).
    horizon : float
        Horizon of the MW-months [month].
    ttp_draws : int
        Draws of the time-to-power engine per profile.
    start : str
        Project start of every candidate without a ``start_date`` (ISO date).
    paths : tuple of str
        Time-to-power paths.
    target_mw : float, optional
        Size of every candidate [MW] (default: the tier's ``target_mw`` of the scorecard).
    """

    tier: str = "training"
    curtailment_limit: float = 0.5
    draws: int = 200
    seed: int = 0
    top_k: int = 50
    horizon: float = 60.0
    ttp_draws: int = 2000
    start: str = "2027-01-01"
    paths: tuple = SCREEN_PATHS
    target_mw: float | None = None
    weight_range: float | None = None
    extra: dict = field(default_factory=dict)

    def check(self) -> None:
        probs = []
        if self.tier not in TIERS:
            probs.append(Problem(f"tier: expected one of {', '.join(TIERS)}, found {self.tier!r}", column="tier"))
        if not 0 < self.curtailment_limit <= 5:
            probs.append(Problem(f"curtailment_limit: expected 0 < % <= 5, found {self.curtailment_limit}",
                                 column="curtailment_limit"))
        if not 1 <= int(self.draws) <= 5000:
            probs.append(Problem(f"draws: expected 1..5000, found {self.draws}", column="draws"))
        if int(self.top_k) < 1:
            probs.append(Problem(f"top_k: expected >= 1, found {self.top_k}", column="top_k"))
        if self.target_mw is not None and not 0 < float(self.target_mw) <= 10_000:
            probs.append(Problem(f"target_mw: expected 0 < MW <= 10000, found {self.target_mw}", column="target_mw"))
        if self.weight_range is not None and not 0 <= float(self.weight_range) < 1:
            probs.append(Problem(f"weight_range: expected 0 <= r < 1, found {self.weight_range}", column="weight_range"))
        try:
            pd.Timestamp(self.start)
        except (ValueError, TypeError):
            probs.append(Problem(f"start: expected an ISO date, found {self.start!r}", column="start"))
        if probs:
            raise ValidationError(probs, what="screen settings")


# ----------------------------------------------------------------------------------------------
# counter-based random numbers: identical whatever the chunking


_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & _M64
    z = x
    z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _M64
    z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _M64
    return z ^ (z >> np.uint64(31))


def _site_keys(sites, seed: int) -> np.ndarray:
    return np.array([int.from_bytes(hashlib.blake2b(f"{seed}|{s}".encode(), digest_size=8).digest(), "little")
                     for s in sites], dtype=np.uint64)


def _normal(keys: np.ndarray, var: int, draws: int) -> np.ndarray:
    """Standard normal numbers (n, draws) from site keys, a variable number and the draw index."""
    with np.errstate(over="ignore"):
        d = np.arange(draws, dtype=np.uint64)[None, :]
        base = keys[:, None] ^ (np.uint64(var) * np.uint64(0xD1B54A32D192ED03))
        u1 = (_splitmix(base + np.uint64(2) * d) >> np.uint64(11)).astype(np.float64) / 2.0 ** 53
        u2 = (_splitmix(base + np.uint64(2) * d + np.uint64(1)) >> np.uint64(11)).astype(np.float64) / 2.0 ** 53
    u1 = np.maximum(u1, 2.0 ** -53)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _uniform(keys: np.ndarray, var: int, draws: int) -> np.ndarray:
    """Uniform numbers on [0, 1) (n, draws) from site keys, a variable number and the draw index."""
    with np.errstate(over="ignore"):
        d = np.arange(draws, dtype=np.uint64)[None, :]
        base = keys[:, None] ^ (np.uint64(var) * np.uint64(0xD1B54A32D192ED03))
        return (_splitmix(base + np.uint64(2) * d) >> np.uint64(11)).astype(np.float64) / 2.0 ** 53


def weight_draws(card: Scorecard, tier: str, draws: int, seed: int, weight_range: float) -> np.ndarray:
    """Weight vectors of the Monte Carlo draws (draws, P): each weight x U(1 - r, 1 + r), from the seed
    only (the same for every candidate and every block); draw 0 is the nominal weights."""
    w = card.tier_weights(tier)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5C0E]))
    f = rng.uniform(1.0 - weight_range, 1.0 + weight_range, size=(int(draws), len(PILLARS)))
    f[0] = 1.0
    return w[None, :] * f


# ----------------------------------------------------------------------------------------------
# time-to-power profiles


def _profile_frame(cands: pd.DataFrame, settings: ScreenSettings, card: Scorecard) -> pd.DataFrame:
    target = float(settings.target_mw or card.tiers[settings.tier]["target_mw"])
    prof = pd.DataFrame(index=cands.index)
    for c in _PROFILE_COLUMNS:
        if c in cands:
            col = cands[c]
            if c == "target_mw":
                col = col.astype(float).fillna(target)
            prof[c] = col.astype(object).where(col.notna(), "")
        elif c == "target_mw":
            prof[c] = target
        else:
            prof[c] = ""
    for c in _OPTIONAL_PROFILE_COLUMNS:
        if c in cands:
            prof[c] = cands[c].astype(object).where(cands[c].notna(), "")
    prof["colocated_plant"] = np.where(pd.to_numeric(prof["colocated_plant_mw"], errors="coerce").fillna(0) > 0,
                                       "adjacent plant", "")
    prof["start_date"] = prof["start_date"].where(prof["start_date"] != "", settings.start)
    prof = prof.astype(str)
    return prof


def _profile_ids(prof: pd.DataFrame) -> np.ndarray:
    if not len(prof):
        return np.array([], dtype=object)
    cols = [prof[c].astype(str) for c in prof.columns]
    joined = cols[0].str.cat(cols[1:], sep="|")
    uniq, inv = np.unique(joined.to_numpy(dtype=str), return_inverse=True)
    ids = np.array(["p" + hashlib.blake2b(s.encode(), digest_size=6).hexdigest() for s in uniq], dtype=object)
    return ids[inv.ravel()]


_NUMERIC_INPUTS = ("target_mw", "existing_service_mw", "colocated_plant_mw", "firm_headroom_mw", "bridge_mw",
                   "gas_option_mw", "solar_option_mw", "storage_option_mwh")


def _need_mw(row: dict) -> float:
    return max(float(row["target_mw"]) - float(row.get("firm_headroom_mw") or 0.0), 0.0)


def _run_profiles(rows: list[dict], settings: ScreenSettings, headroom: dict) -> list[dict]:
    """The time-to-power engine on a batch of profiles, each as if it were the only new load of its BA.

    The engine shares a BA's flexible headroom among its sites pro rata to their unmet MW; a batch is
    built (:func:`_batches`) so that the unmet MW of its profiles in a BA never exceeds the BA's
    headroom, so each profile gets ``min(unmet, headroom)`` — what it would get alone. BAs without a
    headroom figure get the engine's default share of the unmet MW, which does not depend on others.
    A profile's draws depend only on the seed and its own id, so the batch does not change them."""
    from powerfirst.models.time_to_power import DEFAULT_FLEXIBLE_FRACTION, time_to_power

    sites = []
    for row in rows:
        site = {k: (v if v != "" else None) for k, v in row.items() if k != "profile"}
        for k in _NUMERIC_INPUTS:
            if site.get(k) is not None:
                site[k] = float(site[k])
        site["site_id"] = row["profile"]
        sites.append(site)
    df = pd.DataFrame(sites).dropna(axis=1, how="all")
    flex: dict[str, float] = {}
    for row in rows:
        ba = str(row.get("ba") or "")
        share = headroom[ba] if ba in headroom else DEFAULT_FLEXIBLE_FRACTION * _need_mw(row)
        flex[ba] = share if ba in headroom else flex.get(ba, 0.0) + share
    from powerfirst.compute import worker_numba_threads

    with worker_numba_threads():  # on a worker: its own threads, not one per core of the machine
        ds = time_to_power(df, list(settings.paths), draws=settings.ttp_draws, seed=settings.seed,
                           start=settings.start, horizon=settings.horizon, tornado=False, flexible_mw=flex)
    q = {float(v): i for i, v in enumerate(ds["quantile"].values)}
    fp = ds["first_power"].values
    out = []
    for i, row in enumerate(rows):
        out.append({"profile": row["profile"],
                    "p10": fp[i, :, q[0.1]].astype(float), "p50": fp[i, :, q[0.5]].astype(float),
                    "p90": fp[i, :, q[0.9]].astype(float),
                    "mw_months": ds["mw_months"].values[i].astype(float),
                    "prob_never": ds["prob_never"].values[i].astype(float),
                    "available": ds["available"].values[i].astype(bool),
                    "reason": ds["unavailable_reason"].values[i].astype(str)})
    return out


def _batches(rows: list[dict], headroom: dict, size: int) -> list[list[dict]]:
    """Batches of at most ``size`` profiles in which the unmet MW of each BA stays within its headroom."""
    out: list[list[dict]] = []
    load: list[dict[str, float]] = []
    for row in rows:
        ba, need = str(row.get("ba") or ""), _need_mw(row)
        for b, batch in enumerate(out):
            if len(batch) >= size:
                continue
            if ba in headroom and load[b].get(ba, 0.0) + need > headroom[ba] and load[b].get(ba, 0.0) > 0:
                continue
            batch.append(row)
            load[b][ba] = load[b].get(ba, 0.0) + need
            break
        else:
            out.append([row])
            load.append({ba: need})
    return out


def ttp_profiles(cands: pd.DataFrame, settings: ScreenSettings, card: Scorecard, headroom: dict,
                 client=None, group: int = 64, should_stop=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Profile id of every candidate, and the engine's results per unique profile.

    Returns ``(profile_of_candidate, table)`` where the table is indexed by profile with arrays
    over ``settings.paths``: ``p10``, ``p50``, ``p90`` [month] to first power, ``mw_months``
    [MW-month] by the horizon, ``prob_never`` [1], ``available``, ``reason``.  ``should_stop`` is
    asked between batches of profiles (stage ``"profiles"``, as in :func:`screen`)."""
    ids, parts = _profile_batches(cands, settings, card, headroom, group)
    if client is not None:
        futs = client.map(_run_profiles, parts, settings=settings, headroom=headroom, pure=True)
        if should_stop is not None:
            from distributed import as_completed

            _stop_if(should_stop, "profiles", 0, len(futs), client, futs)
            for i, _ in enumerate(as_completed(futs), 1):
                _stop_if(should_stop, "profiles", i, len(futs), client, futs)
        results = [r for part in client.gather(futs) for r in part]
    else:
        results = []
        for i, part in enumerate(parts):
            _stop_if(should_stop, "profiles", i, len(parts))
            results += _run_profiles(part, settings, headroom)
    return ids, _profile_table(results)


def _profile_batches(cands: pd.DataFrame, settings: ScreenSettings, card: Scorecard, headroom: dict,
                     group: int = 64) -> tuple[np.ndarray, list[list[dict]]]:
    """Profile id of every candidate, and the unique profiles in batches for :func:`_run_profiles`."""
    prof = _profile_frame(cands, settings, card)
    ids = _profile_ids(prof)
    prof["profile"] = ids
    uniq = prof.drop_duplicates("profile").sort_values("profile")
    return ids, _batches(uniq.to_dict("records"), headroom, group)


def _profile_table(results: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(results).set_index("profile")


# ----------------------------------------------------------------------------------------------
# a block of candidates


def _log10_pos(x):
    x = np.asarray(x, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), np.where(np.isfinite(x), -np.inf, np.nan))


def _inputs(layers: pd.DataFrame, ttp: dict, target_mw: np.ndarray, horizon: float, cands: pd.DataFrame) -> dict:
    """The scorecard inputs of a block from its layers (nominal values)."""
    share = ttp["mw_months_best"] / (target_mw * horizon)
    inputs = {
        "p50_months": ttp["p50_best"], "p90_months": ttp["p90_best"], "mw_months_share": np.clip(share, 0, 1),
        "hv_distance_km": layers["hv_distance_km"].to_numpy(float),
        "headroom_ratio_log10": _log10_pos(layers["headroom_mw"].to_numpy(float) / target_mw),
        "plant_ratio_log10": _log10_pos(layers["plant_mw_25km"].to_numpy(float) / target_mw),
        "price_usd_per_mwh": layers["price"].to_numpy(float),
        "carbon_intensity_g_per_kwh": layers["carbon_intensity"].to_numpy(float),
        "renewable_cf": np.fmax(layers["solar_cf"].to_numpy(float), layers["wind_cf"].to_numpy(float)),
        "cooling_degree_hours": layers["cooling_degree_hours"].to_numpy(float),
        "p99_temp_c": layers["p99_temp_c"].to_numpy(float),
        "population_within_cap_log10": _log10_pos(layers["population_within_cap"].to_numpy(float)),
        "rtt_weighted_ms": layers["rtt_weighted_ms"].to_numpy(float),
        "water_stress_cat": layers["water_stress_cat"].to_numpy(float),
        "hazard_risk_score": layers["hazard_risk_score"].to_numpy(float),
        "social_severity": layers["social_severity"].to_numpy(float),
    }
    if layers["population_within_cap"].isna().all() and not np.isfinite(layers.attrs.get("rtt_cap_ms", np.inf)):
        del inputs["population_within_cap_log10"]  # no latency cap (training): not applicable, not missing
    for col in ("land_status", "permitting_status", "community_alignment"):
        inputs[col] = cands[col].to_numpy() if col in cands else np.full(len(cands), np.nan if col == "community_alignment" else "", object)
    inputs["community_alignment"] = pd.to_numeric(pd.Series(inputs["community_alignment"]), errors="coerce").to_numpy(float)
    inputs["candidate_kind"] = cands["kind"].astype(str).to_numpy()
    return inputs


#: which inputs are uncertain, and how (variable number of the hash, kind)
_UNCERTAIN = {"p50_months": 1, "headroom_ratio_log10": 2, "price_usd_per_mwh": 3, "renewable_cf": 4,
              "p99_temp_c": 5, "hv_distance_km": 6}


def _draw_inputs(inputs: dict, ttp: dict, layers: pd.DataFrame, keys: np.ndarray, draws: int, unc: dict) -> dict:
    out = {k: (v[:, None] if isinstance(v, np.ndarray) and v.dtype != object else v[:, None]) for k, v in inputs.items()}
    z = {k: _normal(keys, var, draws) for k, var in _UNCERTAIN.items()}
    for k in z:
        z[k][:, 0] = 0.0  # draw 0: nominal
    # time to power: lognormal through the fastest path's P10-P90
    p10, p50, p90 = ttp["p10_best"], ttp["p50_best"], ttp["p90_best"]
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = (np.log(p90) - np.log(np.maximum(p10, 1e-3))) / (2 * 1.2815515655446004)
        out["p50_months"] = np.exp(np.log(p50)[:, None] + np.nan_to_num(sigma)[:, None] * z["p50_months"])
    head = 10 ** inputs["headroom_ratio_log10"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["headroom_ratio_log10"] = np.log10(np.maximum(head[:, None] * (1 + unc["headroom_rel_sd"] * z["headroom_ratio_log10"]), 1e-9))
    out["price_usd_per_mwh"] = inputs["price_usd_per_mwh"][:, None] * np.maximum(1 + unc["price_rel_sd"] * z["price_usd_per_mwh"], 0.1)
    sd_cf = unc["cf_rel_sd_per_100km"] * layers["station_distance_km"].to_numpy(float) / 100.0
    out["renewable_cf"] = inputs["renewable_cf"][:, None] * np.maximum(1 + sd_cf[:, None] * z["renewable_cf"], 0.0)
    out["p99_temp_c"] = inputs["p99_temp_c"][:, None] + unc["temp_sd_per_100km"] * layers["station_distance_km"].to_numpy(float)[:, None] / 100.0 * z["p99_temp_c"]
    out["hv_distance_km"] = inputs["hv_distance_km"][:, None] * np.maximum(1 + unc["hv_distance_rel_sd"] * z["hv_distance_km"], 0.0)
    return out


def _best_path(ttp_tab: pd.DataFrame, prof_ids: np.ndarray, paths: tuple) -> dict:
    rows = ttp_tab.loc[prof_ids]
    p10 = np.stack(rows["p10"].to_numpy())
    p50 = np.stack(rows["p50"].to_numpy())
    p90 = np.stack(rows["p90"].to_numpy())
    mwm = np.stack(rows["mw_months"].to_numpy())
    avail = np.stack(rows["available"].to_numpy())
    reason = np.stack(rows["reason"].to_numpy())
    key = np.where(avail & np.isfinite(p50), p50, np.inf)
    best = np.argmin(key, axis=1)
    none = ~np.isfinite(key.min(axis=1))
    idx = np.arange(len(best))
    return {"p10": p10, "p50": p50, "p90": p90, "mw_months": mwm, "available": avail, "reason": reason,
            "best": np.where(none, "", np.asarray(paths)[best]),
            "p10_best": np.where(none, np.nan, p10[idx, best]), "p50_best": np.where(none, np.nan, p50[idx, best]),
            "p90_best": np.where(none, np.nan, p90[idx, best]),
            "mw_months_best": np.nanmax(np.where(avail, mwm, np.nan), axis=1, initial=0.0)}


def _flags(cands: pd.DataFrame, layers: pd.DataFrame, present: dict, card: Scorecard) -> np.ndarray:
    """Per candidate: which pillar inputs are missing and why ('; '-joined)."""
    why = {
        "hv_distance_km": np.where(~layers["grid_covered"].to_numpy(bool), "outside the grid layer's coverage", "no line of the tier's voltage"),
        "headroom_ratio_log10": np.where(cands["ba"].astype(str).to_numpy() == "", "BA unknown", "no headroom figure for the BA"),
        "plant_ratio_log10": np.where(cands["country"].astype(str).to_numpy() != "US", "plant layer covers the US only", "no plant data"),
        "hazard_risk_score": np.where(cands["country"].astype(str).to_numpy() != "US", "hazard layer covers US counties only", "county not in FEMA NRI"),
        "price_usd_per_mwh": np.full(len(cands), "no price for the state/country"),
        "water_stress_cat": np.full(len(cands), "country not scored by Aqueduct"),
        "carbon_intensity_g_per_kwh": np.full(len(cands), "no carbon figure for the grid"),
        "p50_months": np.full(len(cands), "no time-to-power path available"),
        "p90_months": np.full(len(cands), "no time-to-power path available"),
        "mw_months_share": np.full(len(cands), "no time-to-power path available"),
        "population_within_cap_log10": np.full(len(cands), "no population within the cap"),
        "rtt_weighted_ms": np.full(len(cands), "no market (US-48 or Europe)"),
        "community_alignment": None,  # optional user input: its absence is the default, not a flag
        "land_status": None, "permitting_status": None, "candidate_kind": None,
    }
    parts = [[] for _ in range(len(cands))]
    for p in PILLARS:
        for name, ok in present[p].items():
            reason = why.get(name, np.full(len(cands), "missing"))
            if reason is None:
                continue
            ok = np.asarray(ok).reshape(len(cands), -1)[:, 0]
            for i in np.flatnonzero(~ok):
                parts[i].append(f"{p}.{name}: {reason[i]}")
    return np.array(["; ".join(x) for x in parts], dtype=object)


def _exclusions(cands: pd.DataFrame, layers: pd.DataFrame, card: Scorecard, tier: str) -> tuple[np.ndarray, np.ndarray]:
    ex = card.exclusions
    reasons = [[] for _ in range(len(cands))]
    if ex.get("offshore", True):
        for i in np.flatnonzero(~cands["on_land"].to_numpy(bool)):
            reasons[i].append("offshore or outside every land boundary")
    if ex.get("moratorium", True):
        soc = layers["social_exclude"].to_numpy(bool)
        for i in np.flatnonzero(soc):
            reasons[i].append(f"moratorium in force: {layers['social_reason'].to_numpy()[i]}")
    cap = (ex.get("max_water_stress_cat") or {}).get(tier)
    if cap is not None:
        ws = layers["water_stress_cat"].to_numpy(float)
        for i in np.flatnonzero(np.nan_to_num(ws, nan=-1) > float(cap)):
            reasons[i].append(f"water stress category {ws[i]:.0f} above {cap} for the {tier} tier")
    text = np.array(["; ".join(r) for r in reasons], dtype=object)
    return text != "", text


def _explain_rows(scores: dict, weights: np.ndarray, inputs_default: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """One line per candidate: the pillars that lift and that drag the score most."""
    s = np.column_stack([scores[p] for p in PILLARS])
    ok = np.isfinite(s)
    wn = np.where(ok, weights[None, :], 0.0)
    wn = wn / np.where(wn.sum(axis=1, keepdims=True) > 0, wn.sum(axis=1, keepdims=True), 1.0)
    total = np.nansum(np.where(ok, s, 0) * wn, axis=1)
    contrib = wn * (np.where(ok, s, 0.0) - total[:, None])
    out = []
    for i in range(len(s)):
        order = np.argsort(-contrib[i])
        up = [f"{PILLARS[j]} {s[i, j]:.2f}" for j in order[:2] if contrib[i, j] > 0]
        down = [f"{PILLARS[j]} {s[i, j]:.2f}" for j in order[::-1][:2] if contrib[i, j] < 0]
        txt = f"lifted by {', '.join(up) or 'nothing'}; held back by {', '.join(down) or 'nothing'}"
        if inputs_default[i]:
            txt += f"; defaults used: {inputs_default[i]}"
        out.append(txt)
    return np.array(out, dtype=object)


def _block_layers(cands: pd.DataFrame, ctx, card: Scorecard, settings: ScreenSettings) -> pd.DataFrame:
    """Every layer of a block of candidates (they do not need time to power: on a cluster they run
    while the time-to-power profiles are computed)."""
    from .layers import compute_layers

    return compute_layers(cands, ctx, card.tiers[settings.tier], settings.tier)


def _block(cands: pd.DataFrame, prof_ids: np.ndarray, ttp_tab: pd.DataFrame, ctx, card: Scorecard,
           settings: ScreenSettings, wdraws: np.ndarray, layers: pd.DataFrame | None = None) -> dict:
    tier = settings.tier
    tier_spec = card.tiers[tier]
    layers = _block_layers(cands, ctx, card, settings) if layers is None else layers
    ttp = _best_path(ttp_tab, prof_ids, settings.paths)
    target = (pd.to_numeric(cands["target_mw"], errors="coerce").fillna(settings.target_mw or tier_spec["target_mw"]).to_numpy(float)
              if "target_mw" in cands else np.full(len(cands), float(settings.target_mw or tier_spec["target_mw"])))
    inputs = _inputs(layers, ttp, target, settings.horizon, cands)
    nominal, present = pillar_scores(card, inputs)
    w = card.tier_weights(tier)
    score = total_score(nominal, w)
    excluded, reason = _exclusions(cands, layers, card, tier)
    flags = _flags(cands, layers, present, card)
    method = cands["ba_method"].astype(str).to_numpy()
    conf = cands["ba_confidence"].to_numpy(float)
    blank = {c: np.array([not str(v or "") or str(v) == "nan" for v in inputs[c]]) for c in ("land_status", "permitting_status")}
    defaults = []
    for i in range(len(cands)):
        d = [c for c in ("land_status", "permitting_status") if blank[c][i]]
        if method[i] != "given":
            d.append(f"ba from {method[i]} ({conf[i]:.2f})")
        defaults.append(", ".join(d))
    defaults = np.array(defaults, dtype=object)
    # Monte Carlo
    keys = _site_keys(cands["site"].astype(str), settings.seed)
    unc = card.uncertainty
    dinp = _draw_inputs(inputs, ttp, layers, keys, int(settings.draws), unc)
    names = sorted({k for p in PILLARS for k in card.normalisation[p]["combine"]})
    miss = {}
    for j, name in enumerate(names):
        u = _uniform(keys, 100 + j, int(settings.draws))
        u[:, 0] = float(unc.get("missing_input", 0.5))
        miss[name] = u
    dscores, _ = pillar_scores(card, dinp, missing=miss)
    sdraw = total_score(dscores, wdraws).astype(np.float32)
    sdraw = np.where(excluded[:, None], np.nan, sdraw)
    # useful work per kWh
    kw = _kw_per_accelerator(card)
    pue = layers["pue_annual"].to_numpy(float)
    curt = np.where(ttp["best"] == "grid_flexible", settings.curtailment_limit / 100.0, 0.0)
    return {
        "layers": layers, "ttp": ttp, "score": np.where(excluded, np.nan, score), "score_raw": score,
        "pillars": np.column_stack([nominal[p] for p in PILLARS]), "excluded": excluded,
        # text as numpy strings here, on the workers (the global step only concatenates them)
        "exclusion_reason": np.asarray(reason).astype(str), "flags": np.asarray(flags).astype(str),
        "defaults": defaults.astype(str), "explanation": _explain_rows(nominal, w, defaults, flags).astype(str),
        "score_draws": sdraw,
        "accelerator_hours_per_mwh": 1000.0 / (pue * kw),
        "accelerator_hours_per_kw_year": 8760.0 * (1 - curt) / (pue * kw),
        "gco2_per_accelerator_hour": layers["carbon_intensity"].to_numpy(float) * pue * kw,
        "expected_curtailment": curt, "target_mw": target,
    }


def _kw_per_accelerator(card: Scorecard) -> float:
    import yaml

    from .score import default_scorecard_path

    data = {}
    for f in card.source:
        data.update((yaml.safe_load(open(f, encoding="utf-8")) or {}).get("compute", {}) or {})
    v = float(data.get("kw_per_accelerator", np.nan))
    if not 0.05 <= v <= 20:
        raise ValidationError([Problem(f"compute.kw_per_accelerator: expected 0.05..20 kW, found {v}",
                                       file=str(default_scorecard_path()), column="compute.kw_per_accelerator")],
                              what="scorecard")
    return v


# ----------------------------------------------------------------------------------------------
# the screen


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return np.nan
    return float(spearmanr(a[ok], b[ok]).statistic)


def screen(candidates: pd.DataFrame, *, settings: ScreenSettings | None = None, weights=None, client=None,
           chunk: int = 4096, ctx=None, progress: bool = False, should_stop=None) -> xr.Dataset:
    """Screen candidates: every layer, pillar score, total score, rank and P(top-k).

    Parameters
    ----------
    candidates : pandas.DataFrame
        ``site``, ``lat``, ``lon`` (and optionally ``kind``, ``ba``, ``country``, ``target_mw``,
        ``land_status``, ``permitting_status``, ``community_alignment``, ``existing_service_mw``,
        ``colocated_plant_mw``, ...) — from :mod:`powerfirst.models.siting.candidates`.
    settings : ScreenSettings
    weights : path-like, optional
        A scorecard override (YAML) merged over ``data/siting/scorecard.yaml``.
    client : distributed.Client, optional
        Run the profiles and the blocks on this Dask client.
    chunk : int
        Candidates per block.
    ctx : SitingContext, optional
        Reference tables (default :func:`~powerfirst.models.siting.layers.load_context`).
    should_stop : callable, optional
        A cooperative stop and progress hook, called as ``should_stop(stage, done, total)``: before
        every batch of time-to-power profiles (``stage="profiles"``) and every block of candidates
        (``stage="blocks"``; with a client, each time a block finishes), ``done`` of ``total``
        finished.  A true answer stops the screen: the Dask futures are cancelled and
        :class:`Cancelled` is raised.

    Returns
    -------
    xarray.Dataset
        On ``site`` (and ``pillar``, ``path``, ``draw``): ``score`` [1] (NaN when excluded),
        ``score_<pillar>`` [1], ``rank`` (1 = best), ``p_top_k`` [1], ``score_p10``/``score_p90``,
        ``rank_p10``/``rank_p90``, the layers (units in attrs), time to power per path
        (``ttp_p10``/``ttp_p50``/``ttp_p90`` [month], ``ttp_mw_months`` [MW-month]), ``best_path``,
        ``excluded``, ``exclusion_reason``, ``flags``, ``explanation``, useful work
        (``accelerator_hours_per_mwh``, ``gco2_per_accelerator_hour``) and ``score_draws``.
        Attrs: the settings, the scorecard files, ``rank_stability`` (median Spearman over draws).
    """
    from .candidates import annotate
    from .layers import LAYER_META, load_context

    settings = settings or ScreenSettings()
    settings.check()
    card = load_scorecard(weights)
    wr = float(card.uncertainty.get("weight_range", 0.25) if settings.weight_range is None else settings.weight_range)
    if not {"site", "lat", "lon"} <= set(candidates.columns):
        raise ValidationError([Problem(f"candidates need columns site, lat, lon; found {sorted(candidates.columns)}",
                                       column="site")], what="screen")
    cands = candidates if "ba_method" in candidates else annotate(candidates)
    if "kind" not in cands:
        cands = cands.assign(kind="user")
    ctx = ctx or load_context(float(settings.curtailment_limit))
    n = len(cands)
    wdraws = weight_draws(card, settings.tier, int(settings.draws), settings.seed, wr)
    bounds = [(a, min(a + int(chunk), n)) for a in range(0, n, int(chunk))]
    if client is not None:
        # the profiles first; the layers of every block (they need no time to power) run beside them,
        # and the rest of each block once the profile table is there
        prof_ids, batches = _profile_batches(cands, settings, card, ctx.headroom)
        pfuts = client.map(_run_profiles, batches, settings=settings, headroom=ctx.headroom, pure=True)
        ctx_f = client.scatter(ctx, broadcast=True)
        from dask.base import tokenize

        # keys: the settings and the block's sites (a screen with other settings never reuses a result)
        tok_l, tok_b = tokenize(settings, card.tiers[settings.tier])[:10], tokenize(settings, wdraws)[:10]
        tags = [f"{a}-{b}-{hashlib.blake2b(cands['site'].iloc[a:b].astype(str).str.cat().encode(), digest_size=6).hexdigest()}"
                for a, b in bounds]
        lfuts = [client.submit(_block_layers, cands.iloc[a:b], ctx_f, card, settings, pure=True,
                               key=f"screen-layers-{tok_l}-{t}")
                 for (a, b), t in zip(bounds, tags, strict=True)]
        if should_stop is not None:
            from distributed import as_completed

            _stop_if(should_stop, "profiles", 0, len(pfuts), client, pfuts + lfuts)
            for i, _ in enumerate(as_completed(pfuts), 1):
                _stop_if(should_stop, "profiles", i, len(pfuts), client, pfuts + lfuts)
        ttp_tab = _profile_table([r for part in client.gather(pfuts) for r in part])
        tab_f = client.scatter(ttp_tab, broadcast=True)
        futs = [client.submit(_block, cands.iloc[a:b], prof_ids[a:b], tab_f, ctx_f, card, settings, wdraws, layers=lf,
                              pure=True, key=f"screen-block-{tok_b}-{t}")
                for (a, b), t, lf in zip(bounds, tags, lfuts, strict=True)]
        if progress or should_stop is not None:  # progress on stderr: stdout carries the results (--format json|csv)
            import sys

            from distributed import as_completed

            done = as_completed(futs)
            if progress:
                from tqdm.auto import tqdm

                done = tqdm(done, total=len(futs), desc=f"screen {settings.tier}", unit="block", file=sys.stderr)
            _stop_if(should_stop, "blocks", 0, len(futs), client, futs)
            for i, _ in enumerate(done, 1):
                _stop_if(should_stop, "blocks", i, len(futs), client, futs)
        parts = client.gather(futs)
    else:
        prof_ids, ttp_tab = ttp_profiles(cands, settings, card, ctx.headroom, should_stop=should_stop)
        it = bounds
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(bounds, desc=f"screen {settings.tier}", unit="block")
        parts = []
        for i, (a, b) in enumerate(it):
            _stop_if(should_stop, "blocks", i, len(bounds))
            parts.append(_block(cands.iloc[a:b], prof_ids[a:b], ttp_tab, ctx, card, settings, wdraws))
    return _assemble(cands, parts, settings, card, prof_ids, LAYER_META, wr)


def _vintage(col: str) -> str:
    from .layers import _vintage as v

    return v(col)


def _threads() -> int:
    import os

    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


def _in_slices(fn, n: int, parts: int) -> None:
    """``fn(slice)`` over ``parts`` contiguous slices of ``range(n)`` in threads (numpy releases the GIL
    in sorting and partitioning); every slice writes its own part of the output, so the result does
    not depend on the number of threads."""
    bounds = np.linspace(0, n, max(1, min(parts, n)) + 1).astype(int)
    slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    if len(slices) <= 1:
        for sl in slices:
            fn(sl)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(slices)) as ex:
        list(ex.map(fn, slices))


def _row_quantile(x: np.ndarray, q, valid: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` over the draws of the candidates not excluded (their draws are all finite); NaN
    else.  ``x`` has shape ``(site, draw)``, site-major or draw-major (a transposed array, as
    :func:`_draw_ranks` gives).  Shape ``(len(q), site)`` (one partition of the draws for every
    quantile, candidates in threads)."""
    q = np.atleast_1d(np.asarray(q, float))
    out = np.full((len(q), x.shape[0]), np.nan)
    rows = np.flatnonzero(valid)
    if not len(rows):
        return out
    if x.flags.f_contiguous and not x.flags.c_contiguous:  # draw-major: contiguous ranges of candidates
        xt = x.T

        def part(sl):
            out[:, sl] = np.quantile(np.asarray(xt[:, sl], float), q, axis=0)

        _in_slices(part, x.shape[0], _threads())
        out[:, ~np.asarray(valid, bool)] = np.nan
        return out

    def part(sl):
        r = rows[sl]
        out[:, r] = np.quantile(np.asarray(x[r], float), q, axis=1)

    _in_slices(part, len(rows), _threads())
    return out


def _sort_keys32(x: np.ndarray) -> np.ndarray:
    """Unsigned integers in the order of the float32 values ``x`` (IEEE 754 bits with the sign folded:
    negative values reversed below the positive ones); ``-0.0`` and ``+0.0`` get one key."""
    b = (np.asarray(x, np.float32) + np.float32(0.0)).view(np.uint32)  # + 0.0 maps -0.0 to +0.0
    return np.where(b >> 31, ~b, b | np.uint32(0x80000000))


def _draw_ranks(filled: np.ndarray) -> np.ndarray:
    """Rank of every candidate in every draw (1 = best score; ties by candidate order), draws in
    threads: the inverse permutation of the order of each draw.

    The draws are float32 (as ``score_draws`` are kept) and tie often among 100,000 candidates, so a
    draw is ordered by one unsigned 64-bit key per candidate, the score's order-preserving bits above
    the candidate's index: the keys are unique, NumPy's (SIMD) quicksort of them gives exactly the
    order of a stable sort, ``argsort(-x, kind="stable")``, at a fraction of its cost.  Other dtypes
    take the stable sort.  Returns shape ``(site, draw)`` (a transposed, draw-major array)."""
    n, m = filled.shape
    out = np.empty((m, n), dtype=float)
    ranks = np.arange(1, n + 1, dtype=float)
    if filled.dtype == np.float32 and n < 2**32:
        neg = np.ascontiguousarray(-filled.T)  # (draw, site): one contiguous row per draw, best first
        sites = np.arange(n, dtype=np.uint64)
        low = np.uint64(0xFFFFFFFF)

        def order(d):
            key = (_sort_keys32(neg[d]).astype(np.uint64) << np.uint64(32)) | sites
            return (np.sort(key) & low).astype(np.intp)
    else:
        neg = np.ascontiguousarray(-filled.T)

        def order(d):
            return np.argsort(neg[d], kind="stable")

    def part(sl):
        for d in range(sl.start, sl.stop):
            out[d, order(d)] = ranks

    _in_slices(part, m, _threads())
    return out.T


def _cat(parts, key):
    return np.concatenate([p[key] for p in parts])


def _assemble(cands, parts, settings, card, prof_ids, LAYER_META, wr) -> xr.Dataset:
    site = cands["site"].astype(str).to_numpy()
    score = _cat(parts, "score")
    draws = np.concatenate([p["score_draws"] for p in parts])
    # ranks (1 = best; excluded and unscored candidates get no rank); ties broken by site id
    order = np.lexsort((site, -np.nan_to_num(score, nan=-np.inf)))
    rank = np.full(len(site), np.nan)
    valid = np.isfinite(score)
    rank[order[:valid.sum()]] = np.arange(1, valid.sum() + 1)
    # P(top-k): per draw the k-th best score among the candidates that are not excluded
    k = min(int(settings.top_k), max(int(valid.sum()), 1))
    filled = np.where(np.isfinite(draws), draws, -np.inf)
    if valid.sum():
        kth = -np.partition(-filled, k - 1, axis=0)[k - 1]
        p_top = np.where(valid, (filled >= kth[None, :]).mean(axis=1), np.nan)
    else:
        p_top = np.full(len(site), np.nan)
    # rank of every candidate in every draw -> spread; rank stability of the nominal top-N
    rank_draws = _draw_ranks(filled)
    rank_draws[~np.isfinite(draws)] = np.nan
    top_n = order[:min(max(int(settings.top_k), 20), int(valid.sum()))]
    rho = np.array([_spearman(score[top_n], draws[top_n, d]) for d in range(1, draws.shape[1])]) if len(top_n) >= 3 else np.array([np.nan])
    ttp_p = {k: np.concatenate([p["ttp"][k] for p in parts]) for k in ("p10", "p50", "p90", "mw_months", "available", "reason")}
    layers = pd.concat([p["layers"] for p in parts])
    pillars = np.concatenate([p["pillars"] for p in parts])
    ds = xr.Dataset(coords={"site": site, "pillar": list(PILLARS), "path": list(settings.paths),
                            "draw": np.arange(draws.shape[1])})
    ds["lat"] = ("site", cands["lat"].to_numpy(float), {"units": "degrees_north", "long_name": "latitude"})
    ds["lon"] = ("site", cands["lon"].to_numpy(float), {"units": "degrees_east", "long_name": "longitude"})
    for c in ("name", "kind", "country", "state", "county_fips", "ba", "ba_method"):
        if c in cands:
            ds[c] = ("site", cands[c].astype(str).to_numpy())
    ds["ba_confidence"] = ("site", cands["ba_confidence"].to_numpy(float), {"units": "1", "long_name": "confidence of the BA from location"})
    ds["on_land"] = ("site", cands["on_land"].to_numpy(bool))
    from powerfirst.io.geodata import EU27

    ds["bloc"] = ("site", np.where(np.isin(cands["country"].astype(str), list(EU27)), "EU", ""))
    ds["score"] = ("site", score, {"units": "1", "long_name": f"siting score, {settings.tier} tier (NaN when excluded)"})
    for i, p in enumerate(PILLARS):
        ds[f"score_{p}"] = ("site", pillars[:, i], {"units": "1", "long_name": f"pillar score: {p.replace('_', ' ')}"})
    ds["pillar_score"] = (("site", "pillar"), pillars, {"units": "1", "long_name": "pillar scores"})
    ds["weight"] = ("pillar", card.tier_weights(settings.tier), {"units": "1", "long_name": f"weights of the {settings.tier} tier"})
    ds["rank"] = ("site", rank, {"units": "1", "long_name": "rank by score (1 = best)"})
    ds["p_top_k"] = ("site", p_top, {"units": "1", "long_name": f"P(in the top {k}) over the Monte Carlo draws"})
    s10, s90 = _row_quantile(draws, (0.1, 0.9), valid)
    r10, r90 = _row_quantile(rank_draws, (0.1, 0.9), valid)
    ds["score_p10"] = ("site", s10, {"units": "1", "long_name": "P10 of the score over the draws"})
    ds["score_p90"] = ("site", s90, {"units": "1", "long_name": "P90 of the score over the draws"})
    ds["rank_p10"] = ("site", r10, {"units": "1", "long_name": "P10 of the rank over the draws"})
    ds["rank_p90"] = ("site", r90, {"units": "1", "long_name": "P90 of the rank over the draws"})
    for col in layers.columns:
        if col in ("social_reason", "station"):
            ds[col] = ("site", layers[col].astype(str).to_numpy())
        elif col in ("grid_covered", "social_exclude"):
            ds[col] = ("site", layers[col].to_numpy(bool))
        else:
            units, long, source = LAYER_META.get(col, ("1", col, ""))
            ds[col] = ("site", layers[col].to_numpy(float), {"units": units, "long_name": long, "source": source,
                                                           "vintage": _vintage(col)})
    ds["ttp_p10"] = (("site", "path"), ttp_p["p10"], {"units": "month", "long_name": "P10 months from start to first power"})
    ds["ttp_p50"] = (("site", "path"), ttp_p["p50"], {"units": "month", "long_name": "P50 months from start to first power"})
    ds["ttp_p90"] = (("site", "path"), ttp_p["p90"], {"units": "month", "long_name": "P90 months from start to first power"})
    ds["ttp_mw_months"] = (("site", "path"), ttp_p["mw_months"], {"units": "MW month", "long_name": f"MW-months delivered within {settings.horizon:g} months"})
    ds["ttp_available"] = (("site", "path"), ttp_p["available"])
    ds["ttp_unavailable_reason"] = (("site", "path"), ttp_p["reason"])
    ds["best_path"] = ("site", np.concatenate([p["ttp"]["best"] for p in parts]))
    ds["ttp_profile"] = ("site", prof_ids)
    for key, units, long in (("accelerator_hours_per_mwh", "h MWh-1", "accelerator-hours per MWh of facility energy"),
                             ("accelerator_hours_per_kw_year", "h kW-1 year-1", "accelerator-hours per kW of connection per year, after expected curtailment"),
                             ("gco2_per_accelerator_hour", "gCO2 h-1", "grid CO2 per accelerator-hour (annual mean intensity x PUE x kW per accelerator)"),
                             ("expected_curtailment", "1", "expected curtailed share of the energy (flexible path)"),
                             ("target_mw", "MW", "target size of the candidate")):
        ds[key] = ("site", _cat(parts, key), {"units": units, "long_name": long})
    ds["excluded"] = ("site", _cat(parts, "excluded"))
    for key in ("exclusion_reason", "flags", "defaults", "explanation"):
        ds[key] = ("site", _cat(parts, key).astype(str))
    ds["score_draws"] = (("site", "draw"), draws.astype(np.float32), {"units": "1", "long_name": "score in each Monte Carlo draw (draw 0 nominal)"})
    ds.attrs.update({"tier": settings.tier, "seed": int(settings.seed), "draws": int(settings.draws),
                     "top_k": int(k), "curtailment_limit_pct": float(settings.curtailment_limit),
                     "horizon_months": float(settings.horizon), "start": str(settings.start),
                     "weight_range": float(wr), "scorecard": "; ".join(card.source),
                     "rank_stability": float(np.nanmedian(rho)) if np.isfinite(rho).any() else np.nan,
                     "rank_stability_n": int(len(top_n))})
    return ds


def weight_sensitivity(ds: xr.Dataset, *, rel: float = 0.25, draws: int = 200, top: int = 20, seed: int = 0) -> dict:
    """How the ranking of the top candidates moves when the weights move by ``±rel``.

    Recomputes the total score from the stored pillar scores (no layer is recomputed) under
    ``draws`` random weight vectors (each weight × U(1 - rel, 1 + rel)) and under one-at-a-time
    changes (each pillar's weight × (1 ± rel)); reports the Spearman correlation of the new scores
    of the nominal top ``top`` with their nominal scores.

    Returns
    -------
    dict
        ``median`` and ``p10`` of the random-draw correlations, and ``one_at_a_time``:
        {pillar: min correlation of the two changes} (low values name the fragile pillars).
    """
    score = ds["score"].values
    pill = {p: ds[f"score_{p}"].values for p in PILLARS}
    w = ds["weight"].values
    valid = np.isfinite(score)
    order = np.argsort(-np.where(valid, score, -np.inf), kind="stable")[:min(top, int(valid.sum()))]
    rng = np.random.default_rng(seed)
    rhos = []
    for _ in range(int(draws)):
        wd = w * rng.uniform(1 - rel, 1 + rel, size=len(w))
        rhos.append(_spearman(score[order], total_score({p: v[order] for p, v in pill.items()}, wd)))
    oat = {}
    for i, p in enumerate(PILLARS):
        vals = []
        for f in (1 - rel, 1 + rel):
            wd = w.copy()
            wd[i] *= f
            vals.append(_spearman(score[order], total_score({q: v[order] for q, v in pill.items()}, wd)))
        oat[p] = float(np.nanmin(vals))
    rhos = np.array(rhos)
    return {"median": float(np.nanmedian(rhos)), "p10": float(np.nanquantile(rhos, 0.1)), "top": int(len(order)),
            "rel": float(rel), "one_at_a_time": oat}


def explain(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """The score of one site pillar by pillar: score, weight, contribution and the inputs behind it."""
    one = ds.sel(site=str(site))
    rows = []
    for p in PILLARS:
        s = float(one[f"score_{p}"])
        w = float(one["weight"].sel(pillar=p))
        rows.append({"pillar": p, "score": s, "weight": w, "contribution": s * w if np.isfinite(s) else np.nan})
    df = pd.DataFrame(rows).set_index("pillar")
    df.attrs["explanation"] = str(one["explanation"].values)
    df.attrs["flags"] = str(one["flags"].values)
    df.attrs["exclusion_reason"] = str(one["exclusion_reason"].values)
    return df
