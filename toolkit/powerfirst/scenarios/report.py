"""Result tables shared by the CLI, the apps and the notebooks: one record (a dict of plain numbers,
units in the keys) per row, ready for ``--format json|csv``, a Tabulator or a DataFrame."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["headroom_records", "ttp_records", "dispatch_records", "run_summary_records", "screen_records"]


def _num(v, nd=2):
    v = float(v)
    return None if math.isnan(v) else round(v, nd)


def headroom_records(hr) -> list[dict]:
    """One record per BA and limit, plus one per limit with ba = TOTAL (headroom summed; the other
    figures headroom-weighted means over the BAs)."""
    recs = []
    for lim in hr["limit"].values:
        sub = hr.sel(limit=lim)
        w = sub["headroom"].values
        for i, ba in enumerate(hr["ba"].values):
            recs.append({
                "ba": str(ba), "limit_pct": float(lim), "headroom_mw": round(float(w[i]), 1),
                "curtailed_hours_per_year": round(float(sub["curtailed_hours_per_year"].values[i]), 2),
                "mean_event_hours": _num(sub["mean_event_hours"].values[i]),
                "share_hours_half_served": _num(sub["share_hours_half_served"].values[i], 4),
            })
        tot = float(np.nansum(w))

        def wmean(v, w=w):
            v = np.asarray(v, float)
            ok = np.isfinite(v) & (w > 0)
            return _num(np.sum(v[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else None

        recs.append({"ba": "TOTAL", "limit_pct": float(lim), "headroom_mw": round(tot, 1),
                     "curtailed_hours_per_year": wmean(sub["curtailed_hours_per_year"].values),
                     "mean_event_hours": wmean(sub["mean_event_hours"].values),
                     "share_hours_half_served": wmean(sub["share_hours_half_served"].values)})
    return recs


def ttp_records(ds) -> list[dict]:
    """One record per site and path.

    Keys of earlier versions: site, path, p10/p50/p90_months (first power, among the draws that
    energise), mw, prob_by_24m/36m/60m.  Added: prob_by_12m, full_p10/p50/p90_months (to the full
    target_mw), prob_never (no first power within the horizon), prob_withdrawn (no power within
    the histogram range: withdrawn or later), mw_months, value_usd (when valued), available,
    unavailable_reason, start_date, request_date, defaults_used (inputs that took their documented
    default), large_load_row (region/size row of the large-load stage), fastest_path and
    most_mw_months_path of the site.
    """
    from powerfirst.models.time_to_power import prob_energised_by

    pb = prob_energised_by(ds, [12, 24, 36, 60]).values
    q = ds["first_power"].values
    qf = ds["full_power"].values if "full_power" in ds else np.full_like(q, np.nan)
    qs = [float(x) for x in ds["quantile"].values]
    inputs = [str(x) for x in ds["input"].values] if "input" in ds.coords else []
    dflt = ds["input_default"].values if "input_default" in ds else None
    lli = ds["stage_row"].sel(stage="large_load_interconnection").values \
        if "stage_row" in ds and "large_load_interconnection" in ds["stage"].values else None

    def num(v, nd=1):
        return _num(v, nd)

    def date(name, i):
        return str(np.datetime_as_string(ds[name].values[i], unit="D")) if name in ds.coords else None

    def site_str(name, i):
        return str(ds[name].values[i]) if name in ds else None

    recs = []
    for i, site in enumerate(ds["site"].values):
        for j, path in enumerate(ds["path"].values):
            rec = {"site": str(site), "path": str(path)}
            for k, name in ((0.1, "p10_months"), (0.5, "p50_months"), (0.9, "p90_months")):
                rec[name] = num(q[i, j, qs.index(k)]) if k in qs else None
            rec["mw"] = num(ds["mw"].values[i, j])
            rec.update({f"prob_by_{m}m": num(pb[i, j, n], 3) for n, m in ((1, 24), (2, 36), (3, 60))})
            rec["prob_by_12m"] = num(pb[i, j, 0], 3)
            for k, name in ((0.1, "full_p10_months"), (0.5, "full_p50_months"), (0.9, "full_p90_months")):
                rec[name] = num(qf[i, j, qs.index(k)]) if k in qs else None
            rec["prob_never"] = num(ds["prob_never"].values[i, j], 3) if "prob_never" in ds else None
            rec["prob_withdrawn"] = num(ds["prob_not_energised"].values[i, j], 3)
            rec["mw_months"] = num(ds["mw_months"].values[i, j], 0)
            rec["value_usd"] = num(ds["value"].values[i, j], 0) if "value" in ds else None
            rec["available"] = bool(ds["available"].values[i, j]) if "available" in ds else True
            rec["unavailable_reason"] = str(ds["unavailable_reason"].values[i, j]) if "unavailable_reason" in ds else ""
            rec["start_date"] = date("start_date", i)
            rec["request_date"] = date("request_date", i)
            rec["defaults_used"] = " ".join(c for c, d in zip(inputs, dflt[i], strict=True) if d) \
                if dflt is not None else ""
            rec["large_load_row"] = str(lli[i]) if lli is not None else None
            rec["fastest_path"] = site_str("fastest_path", i)
            rec["most_mw_months_path"] = site_str("most_mw_months_path", i)
            recs.append(rec)
    return recs


def dispatch_records(ds) -> list[dict]:
    """One record per site and scenario with the headline figures (units in the keys)."""
    def num(v, nd=3):
        return _num(v, nd)

    recs = []
    for site in ds["site"].values:
        for sc in ds["scenario"].values:
            r = ds.sel(site=site, scenario=sc)
            recs.append({
                "site": str(site), "scenario": str(sc),
                "demand_mwh": num(r["facility_demand"], 0),
                "unserved_mwh": num(r["unserved_energy"], 1), "unserved_h": num(r["unserved_hours"], 0),
                "grid_mwh": num(r["grid_import"], 0), "grid_peak_mw": num(r["grid_import_peak"], 1),
                "curtailed_mwh": num(r["curtailment_energy"], 1),
                "ridden_through_mwh": num(r["curtailment_ridden_through"], 1),
                "storage_cycles": num(r["storage_cycles"], 1), "generation_mwh": num(r["generation_energy"], 0),
                "generation_h": num(r["generation_hours"], 0),
                "self_consumption": num(r["renewable_self_consumption"], 3),
                "total_cost_musd": num(r["total_cost"] / 1e6, 3), "emissions_kt": num(r["emissions"] / 1e3, 2),
                "cfe_share": num(r["carbon_free_share"], 3), "it_per_grid_mwh": num(r["it_energy_per_grid_energy"], 3),
            })
    return recs



def run_summary_records(tree) -> list[dict]:
    """One record per group of a result DataTree: group, status, dimensions and the headline figure."""
    recs = []
    for name in ("energy", "headroom", "time_to_power", "dispatch", "demand"):
        ds = tree[name].to_dataset()
        rec = {"group": name, "status": ds.attrs.get("status", "ok"), "headline": "",
               "dims": " x ".join(f"{k} {v}" for k, v in ds.sizes.items())}
        if name == "headroom" and "headroom" in ds:
            lim = float(ds["limit"].values[0])
            rec["headline"] = f"{float(ds['headroom'].sel(limit=lim).sum()):,.0f} MW of flexible headroom at {lim:g} %"
        elif name == "time_to_power" and "first_power" in ds:
            p50 = ds["first_power"].sel(quantile=0.5).min("path")
            rec["headline"] = f"median fastest P50 {float(p50.median()):.1f} months over {ds.sizes['site']} sites"
        elif name == "dispatch" and "unserved_energy" in ds:
            share = float(ds["unserved_energy"].sum() / ds["facility_demand"].sum())
            rec["headline"] = f"{share:.3%} of facility energy unserved"
        elif name == "demand" and "dc_electricity" in ds:
            y = int(ds["year"].values[-1])
            v = ds["dc_electricity"].sel(region="World", year=y) if "World" in ds["region"].values else None
            if v is not None:
                v = v.sum("workload") if "workload" in v.dims else v
                sc = "Base" if "Base" in ds["scenario"].values else str(ds["scenario"].values[0])
                rec["headline"] = f"World {y} {sc}: {float(v.sel(scenario=sc)):,.0f} TWh"
        elif name == "energy" and "solar_cf" in ds:
            rec["headline"] = f"{ds.sizes.get('site', 0)} sites x {ds.sizes.get('time', 0)} h"
        recs.append(rec)
    return recs


def screen_records(ds, top: int | None = None) -> list[dict]:
    """Rows of a siting screen (:func:`powerfirst.models.siting.screen`), best first.

    Each row: ``site``, ``name``, ``lat``, ``lon``, ``country``, ``ba``, ``score``, ``rank``,
    ``score_<pillar>`` for every pillar, ``excluded``, ``exclusion_reason``, ``p_top_k``,
    ``best_path``, ``ttp_p50_months``/``ttp_p90_months`` of that path, ``flags`` (the pillar
    inputs that were missing and why), ``explanation``. Excluded candidates come last (no rank);
    ``top`` keeps the first rows."""
    from powerfirst.models.siting import PILLARS

    score = ds["score"].values
    rank = ds["rank"].values
    order = np.lexsort((ds["site"].values.astype(str), np.where(np.isfinite(rank), rank, np.inf)))
    if top is not None:
        order = order[:int(top)]
    paths = list(ds["path"].values)
    best = ds["best_path"].values.astype(str)
    p50 = ds["ttp_p50"].values
    p90 = ds["ttp_p90"].values
    out = []
    for i in order:
        j = paths.index(best[i]) if best[i] in paths else None
        rec = {"site": str(ds["site"].values[i]), "name": str(ds["name"].values[i]) if "name" in ds else "",
               "lat": _num(ds["lat"].values[i], 4), "lon": _num(ds["lon"].values[i], 4),
               "country": str(ds["country"].values[i]), "ba": str(ds["ba"].values[i]),
               "ba_method": str(ds["ba_method"].values[i]), "score": _num(score[i], 4),
               "rank": None if not np.isfinite(rank[i]) else int(rank[i])}
        for p in PILLARS:
            rec[f"score_{p}"] = _num(ds[f"score_{p}"].values[i], 4)
        rec.update({"excluded": bool(ds["excluded"].values[i]), "exclusion_reason": str(ds["exclusion_reason"].values[i]),
                    "p_top_k": _num(ds["p_top_k"].values[i], 3), "best_path": best[i],
                    "ttp_p50_months": None if j is None else _num(p50[i, j], 1),
                    "ttp_p90_months": None if j is None else _num(p90[i, j], 1),
                    "flags": str(ds["flags"].values[i]), "explanation": str(ds["explanation"].values[i])})
        out.append(rec)
    return out
