r"""Calibrating the interconnection stage from a queue export.

:func:`fit_stage_durations` fits the request-to-in-service duration :math:`T` [month] by group
(fuel group and request-year cohort) as a lognormal accelerated-failure-time model,
:math:`\ln T = \mu + \sigma \varepsilon`, :math:`\varepsilon \sim N(0, 1)`, by maximum likelihood
with what the data allow:

* in-service projects are events at :math:`t_i`;
* active projects are right-censored at the data date: :math:`S(c_j)`;
* withdrawn projects are a competing outcome: for the *cause-specific* (latent) duration they
  are censored at their withdrawal date; the cumulative incidence of withdrawal and of entry into
  service (Aalen–Johansen) is reported beside the fit;
* an extract holding only completed projects (PJM's serial-queue file as distributed) is
  right-truncated: a project requested at :math:`s_i` is in the file only if it entered service
  by the data date :math:`\tau`, so its likelihood is :math:`f(t_i) / F(\tau - s_i)` — without
  this the recent cohorts look fast only because their slow projects have not finished yet.
  Such a fit describes the projects that do enter service (withdrawn ones are not in the file).

.. math:: \log L = \sum_{events} \log f(t_i) + \sum_{censored} \log S(c_j) - \sum_{truncated} \log F(u_i)

The Kaplan–Meier median of the latent duration (withdrawals and active projects censored) is
given where there is censoring and no truncation.  Every row reports its sample sizes.

:func:`fit_withdrawal` fits the other competing risk, the latent time to withdrawal :math:`W`
[month] (lognormal; withdrawn projects are events, in-service projects are censored at entry
into service, active ones at the data date; completed-only files carry no withdrawals and are
left out), and sets the *fitted* cumulative incidence of withdrawal,
:math:`\int_0^t f_W(s)\, S_T(s)\, ds` (with the group's own latent completion time :math:`T`
where it is identified, else :math:`S_T = 1`), beside the *empirical* Aalen–Johansen one at
the same months — the calibration check.
:func:`stage_rows_from_fit` turns a fitted row into a stage-table row that replaces the facts
default of the ``interconnection_queue`` stage (for a region, e.g. ``PJM``).

References
----------
Rand, J. et al. (2025). *Queued Up: 2025 Edition.* Lawrence Berkeley National Laboratory.
Klein, J. P. & Moeschberger, M. L. (2003). *Survival Analysis*, 2nd ed., ch. 3 (censoring and
truncation), ch. 12 (parametric models).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["fit_stage_durations", "stage_rows_from_fit", "lognormal_aft_fit", "kaplan_meier", "aalen_johansen",
           "fit_withdrawal", "withdrawal_rows_from_fit", "DEFAULT_COHORTS"]

MONTH_DAYS = 30.4375
#: request-year cohort edges (each cohort is [edge, next edge) in years)
DEFAULT_COHORTS = (1997, 2005, 2010, 2015, 2021)
_Z90 = float(stats.norm.ppf(0.9))


def lognormal_aft_fit(t_event, t_censored=(), t_truncation=None) -> dict:
    """Lognormal MLE with right-censoring and optional right-truncation of the events.

    Parameters
    ----------
    t_event : array [month], > 0
    t_censored : array [month], > 0 — known only to exceed these
    t_truncation : array [month] or None — each event was observable only if <= this

    Returns
    -------
    dict with ``mu``, ``sigma``, ``p50``, ``p90`` [month], ``p50_low``, ``p50_high`` (95 % Wald
    interval of the median from the observed information), ``converged``.
    """
    te = np.log(np.asarray(t_event, float))
    tc = np.log(np.asarray(t_censored, float)) if len(t_censored) else np.empty(0)
    tu = None if t_truncation is None else np.log(np.asarray(t_truncation, float))

    def nll(theta):
        mu, ls = theta
        s = np.exp(ls)
        ll = np.sum(stats.norm.logpdf((te - mu) / s) - ls - te)
        if tc.size:
            ll += np.sum(stats.norm.logsf((tc - mu) / s))
        if tu is not None:
            ll -= np.sum(stats.norm.logcdf((tu - mu) / s))
        return -ll

    x0 = np.array([np.mean(te), np.log(max(np.std(te), 0.1))])
    res = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    mu, ls = res.x
    # observed information by central differences
    h = 1e-4
    H = np.empty((2, 2))
    for a in range(2):
        for b in range(2):
            e_a, e_b = np.eye(2)[a] * h, np.eye(2)[b] * h
            H[a, b] = (nll(res.x + e_a + e_b) - nll(res.x + e_a - e_b) - nll(res.x - e_a + e_b)
                       + nll(res.x - e_a - e_b)) / (4 * h * h)
    try:
        se_mu = float(np.sqrt(np.linalg.inv(H)[0, 0]))
    except np.linalg.LinAlgError:
        se_mu = np.nan
    s = float(np.exp(ls))
    return {"mu": float(mu), "sigma": s, "p50": float(np.exp(mu)), "p90": float(np.exp(mu + _Z90 * s)),
            "p50_low": float(np.exp(mu - 1.96 * se_mu)), "p50_high": float(np.exp(mu + 1.96 * se_mu)),
            "converged": bool(res.success and np.isfinite(se_mu) and s < 20)}


def kaplan_meier(t, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier survival: (times, S(t)) at the distinct event times."""
    t = np.asarray(t, float)
    event = np.asarray(event, bool)
    times = np.unique(t[event])
    s, out = 1.0, []
    for u in times:
        at_risk = np.sum(t >= u)
        d = np.sum((t == u) & event)
        s *= 1 - d / at_risk
        out.append(s)
    return times, np.array(out)


def aalen_johansen(t, cause, at: float) -> dict:
    """Cumulative incidence of each cause by ``at`` [month]; ``cause`` 0 = censored."""
    t = np.asarray(t, float)
    cause = np.asarray(cause, int)
    s, cif = 1.0, {}
    for u in np.unique(t[(cause > 0) & (t <= at)]):
        at_risk = np.sum(t >= u)
        for c in np.unique(cause[cause > 0]):
            d = np.sum((t == u) & (cause == c))
            cif[c] = cif.get(c, 0.0) + s * d / at_risk
        s *= 1 - np.sum((t == u) & (cause > 0)) / at_risk
    return cif


def _cohort_labels(q: pd.DataFrame, cohorts) -> pd.Series:
    years = q["submitted"].dt.year
    edges = list(cohorts)
    labels = pd.Series("", index=q.index, dtype=object)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        labels[(years >= a) & (years < b)] = f"{a}-{b - 1}"
    own = q["cohort"].fillna("").astype(str)
    return own.where(own != "", labels)


def fit_stage_durations(queue: pd.DataFrame, *, by=("fuel_group", "cohort"), cohorts=DEFAULT_COHORTS,
                        truncation: str = "auto", min_events: int = 10, totals: bool = True,
                        as_of=None, at_months: float = 60.0) -> pd.DataFrame:
    """Fit request-to-in-service durations [month] by group from a queue table.

    Parameters
    ----------
    queue : DataFrame
        From :func:`powerfirst.io.queues.read_queue` (several concatenated are fine; each keeps
        its ``attrs`` date via ``as_of`` or a ``file`` column).
    by : tuple of column names
        Grouping (``fuel_group``, ``cohort``; ``cohort`` is the queue cycle where the file has one,
        else the request-year bin of ``cohorts``).
    truncation : {'auto', 'none', 'right'}
        ``auto``: right-truncate the files that hold only completed projects.
    min_events : int
        Fewest in-service events to fit a group (fewer: NaN, with a note).
    totals : bool
        Add rows pooling the fuel groups (``fuel_group = 'all'``) of each cohort.
    as_of : date-like or mapping {file: date}, optional
        Data date(s); default ``queue.attrs['as_of']`` per file, else the latest date.
    at_months : float
        Horizon of the reported cumulative incidences [month].

    Returns
    -------
    DataFrame
        One row per group: the group columns, ``n``, ``n_in_service``, ``n_withdrawn``, ``n_active``,
        ``truncated``, ``median_empirical`` (of completed projects), ``p50_completed`` (lognormal
        fit without the truncation correction: projects completed by the data date), ``identified``,
        ``p50``, ``p50_low``, ``p50_high``, ``p90``, ``mu``, ``sigma`` (lognormal fit, corrected
        for truncation; NaN where not identified), ``km_median``,
        ``cif_in_service``, ``cif_withdrawn`` (by ``at_months``), ``note``.  All durations in
        months; ``attrs`` holds the method and data dates.
    """
    if truncation not in ("auto", "none", "right"):
        raise ValueError(f"truncation must be 'auto', 'none' or 'right', found {truncation!r}")
    q = queue.copy()
    q["cohort"] = _cohort_labels(q, cohorts)
    q = q[q["cohort"] != ""]
    files = q["file"].unique() if "file" in q else np.array(["<table>"])
    if isinstance(as_of, dict):
        dates = {f: pd.Timestamp(as_of[f]) for f in files}
    else:
        default = pd.Timestamp(as_of) if as_of is not None else queue.attrs.get("as_of")
        if default is None:
            default = max(q[c].max() for c in ("submitted", "in_service", "withdrawn") if q[c].notna().any())
        dates = dict.fromkeys(files, pd.Timestamp(default))
    tau = q["file"].map(dates) if "file" in q else pd.Series(pd.Timestamp(default), index=q.index)
    completed_file = q.groupby("file")["status"].transform(lambda s: (s == "in_service").all()) if "file" in q \
        else pd.Series((q["status"] == "in_service").all(), index=q.index)
    q["trunc"] = completed_file if truncation == "auto" else (truncation == "right")
    days = pd.Series(np.nan, index=q.index)
    for st, col in (("in_service", "in_service"), ("withdrawn", "withdrawn")):
        m = q["status"] == st
        days[m] = (q.loc[m, col] - q.loc[m, "submitted"]).dt.days
    m = q["status"] == "active"
    days[m] = (tau[m] - q.loc[m, "submitted"]).dt.days
    q["t"] = np.maximum(days.to_numpy(float), 1.0) / MONTH_DAYS
    q["u"] = np.maximum((tau - q["submitted"]).dt.days.to_numpy(float), 1.0) / MONTH_DAYS

    by = list(by)
    groups = [(tuple(k if isinstance(k, tuple) else (k,)), g) for k, g in q.groupby(by, sort=True)]
    if totals and "fuel_group" in by:
        keep = [b for b in by if b != "fuel_group"]
        if keep:
            for k, g in q.groupby(keep, sort=True):
                k = k if isinstance(k, tuple) else (k,)
                groups.append((tuple("all" if b == "fuel_group" else k[keep.index(b)] for b in by), g))
        else:
            groups.append((("all",), q))
    rows = []
    for key, g in groups:
        ev = g["status"] == "in_service"
        wd = g["status"] == "withdrawn"
        ac = g["status"] == "active"
        rec = dict(zip(by, key, strict=True))
        rec.update(n=len(g), n_in_service=int(ev.sum()), n_withdrawn=int(wd.sum()), n_active=int(ac.sum()))
        trunc = bool(g.loc[ev, "trunc"].any())
        rec["truncated"] = trunc
        rec["median_empirical"] = float(np.median(g.loc[ev, "t"])) if ev.any() else np.nan
        note = []
        fields = ("p50", "p50_low", "p50_high", "p90", "mu", "sigma")
        rec.update(dict.fromkeys(fields + ("p50_completed",), np.nan))
        rec["identified"] = False
        if ev.sum() >= min_events:
            naive = lognormal_aft_fit(g.loc[ev, "t"], g.loc[wd | ac, "t"])
            rec["p50_completed"] = naive["p50"]
            fit = naive
            if trunc:
                tu = g.loc[ev, "u"].where(g.loc[ev, "trunc"], np.inf).to_numpy(float)
                fit = lognormal_aft_fit(g.loc[ev, "t"], g.loc[wd | ac, "t"], tu)
            ok = fit["converged"] and fit["sigma"] < 3 and fit["p50_high"] / fit["p50_low"] < 4
            rec["identified"] = bool(ok)
            if ok:
                rec.update({k: fit[k] for k in fields})
                if trunc:
                    note.append("right-truncated at the data date (completed projects only: describes projects "
                                "that enter service)")
            else:
                note.append("duration not identified from these data (the truncation-corrected fit has no stable "
                            f"maximum); the median of completed projects, {rec['median_empirical']:.0f} months, "
                            "is a lower bound")
        else:
            note.append(f"{int(ev.sum())} in-service events: too few to fit"
                        + (f"; every project still in the queue has waited {g.loc[ac, 't'].min():.0f}-"
                           f"{g.loc[ac, 't'].max():.0f} months" if ac.any() else ""))
        if (wd | ac).any() and not trunc:
            times, surv = kaplan_meier(g["t"], ev)
            below = np.flatnonzero(surv <= 0.5)
            rec["km_median"] = float(times[below[0]]) if below.size else np.nan
            cause = np.where(ev, 1, np.where(wd, 2, 0))
            cif = aalen_johansen(g["t"], cause, at_months)
            rec["cif_in_service"], rec["cif_withdrawn"] = cif.get(1, 0.0), cif.get(2, 0.0)
            if not below.size:
                note.append(f"Kaplan-Meier median not reached (latent duration > {g['t'].max():.0f} months in part)")
        else:
            rec["km_median"] = rec["cif_in_service"] = rec["cif_withdrawn"] = np.nan
        rec["note"] = "; ".join(note)
        rows.append(rec)
    out = pd.DataFrame(rows).drop_duplicates(subset=by, keep="first").reset_index(drop=True)
    out.attrs.update({
        "units": "month", "as_of": {str(k): str(v.date()) for k, v in dates.items()},
        "method": "lognormal AFT by maximum likelihood; active projects right-censored at the data date; withdrawn "
                  "projects censored at withdrawal (cause-specific) and reported as a competing risk "
                  "(Aalen-Johansen); completed-only files right-truncated at the data date",
        "at_months": at_months,
    })
    return out


def stage_rows_from_fit(fit: pd.DataFrame, *, region: str = "PJM", stage: str = "interconnection_queue",
                        source: str = "", **select) -> pd.DataFrame:
    """A stage-table row (lognormal P50/P90 of one fitted group) to append to the stage table.

    ``select`` picks the group, e.g. ``fuel_group='all', cohort='2015-2020'``.  The default stage
    name ``interconnection_queue`` is read as ``large_load_interconnection``: use it with a
    large-load queue export; a generator queue (the PJM files) describes another process — use
    :func:`fit_withdrawal` and :func:`withdrawal_rows_from_fit` for its withdrawal hazard.  The
    row says that its request-to-in-service figure covers the upgrades.

    Raises
    ------
    KeyError
        When the selection matches no fitted row or several, or the row has no fit.
    """
    sel = fit
    for k, v in select.items():
        sel = sel[sel[k] == v]
    if len(sel) != 1:
        raise KeyError(f"{len(sel)} fitted rows match {select}; available:\n"
                       f"{fit[[c for c in fit.columns if c in ('fuel_group', 'cohort', 'n', 'p50')]].to_string()}")
    r = sel.iloc[0]
    if not np.isfinite(r["p50"]):
        raise KeyError(f"the fitted row {select} has no fit ({r['note']})")
    desc = ", ".join(f"{k}={v}" for k, v in select.items())
    return pd.DataFrame([{
        "stage": stage, "paths": "grid_firm grid_flexible solar_storage", "region": region, "size_class": "",
        "distribution": "lognormal", "p50": round(float(r["p50"]), 2), "p90": round(float(r["p90"]), 2),
        "low": np.nan, "mode": np.nan, "high": np.nan, "unit": "month", "supply_chain": False, "kind": "fit",
        # request to in service: the fitted duration includes whatever upgrades the projects needed
        "covers": "large_transformer breakers_switchgear substation_build transmission_line",
        "facts": "", "values": (),
        "source": source or f"fit_stage_durations on a queue export ({desc}; n={int(r['n'])}, "
                            f"in service={int(r['n_in_service'])})",
        "note": f"lognormal MLE, {r['note'] or 'no censoring'}",
    }])


def _fitted_cif(mu_w, s_w, t, mu_t=None, s_t=None) -> float:
    """Cumulative incidence of withdrawal by t [month] under independent lognormal latent times."""
    if not np.isfinite(t) or t <= 0:
        return np.nan
    x = np.linspace(1e-3, t, 2000)
    f_w = stats.lognorm.pdf(x, s_w, scale=np.exp(mu_w))
    s_c = stats.lognorm.sf(x, s_t, scale=np.exp(mu_t)) if mu_t is not None and np.isfinite(mu_t) else 1.0
    return float(np.trapezoid(f_w * s_c, x))


def fit_withdrawal(queue: pd.DataFrame, *, by=("cohort",), cohorts=DEFAULT_COHORTS, at_months=(36.0, 60.0),
                   as_of=None, min_events: int = 10) -> pd.DataFrame:
    """Fit the latent time to withdrawal [month] by group; fitted vs empirical withdrawal shares.

    Parameters
    ----------
    queue : DataFrame
        From :func:`powerfirst.io.queues.read_queue` (several concatenated); files holding only
        in-service projects are left out (they carry no withdrawals).
    by : tuple of column names
        Grouping (default the queue cycle / request-year cohort); a pooled row ``all`` is added.
    at_months : sequence of float
        Months of the reported cumulative incidences.

    Returns
    -------
    DataFrame
        One row per group: ``n``, ``n_withdrawn``, ``n_in_service``, ``n_active``,
        ``max_follow_up`` [month], ``p50``, ``p50_low``, ``p50_high`` (95 % Wald interval), ``p90``,
        ``mu``, ``sigma`` of the latent withdrawal time, and for each month m of ``at_months``:
        ``cif_withdrawn_fit_{m}`` and ``cif_withdrawn_empirical_{m}`` (NaN beyond the follow-up),
        ``note``.
    """
    q = queue.copy()
    q["cohort"] = _cohort_labels(q, cohorts)
    q = q[q["cohort"] != ""]
    if "file" in q:
        only_done = q.groupby("file")["status"].transform(lambda x: (x == "in_service").all())
        q = q[~only_done]
    if q.empty:
        raise ValueError("no file with withdrawn or active projects: the withdrawal hazard is not identified")
    files = q["file"].unique() if "file" in q else np.array(["<table>"])
    if isinstance(as_of, dict):
        dates = {f: pd.Timestamp(as_of[f]) for f in files}
    else:
        default = pd.Timestamp(as_of) if as_of is not None else queue.attrs.get("as_of")
        if default is None:
            default = max(q[c].max() for c in ("submitted", "in_service", "withdrawn") if q[c].notna().any())
        dates = dict.fromkeys(files, pd.Timestamp(default))
    tau = q["file"].map(dates) if "file" in q else pd.Series(pd.Timestamp(default), index=q.index)
    end = q["withdrawn"].where(q["status"] == "withdrawn", q["in_service"].where(q["status"] == "in_service", tau))
    q["t"] = np.maximum((end - q["submitted"]).dt.days.to_numpy(float), 1.0) / MONTH_DAYS
    groups = [(k if isinstance(k, tuple) else (k,), g) for k, g in q.groupby(list(by), sort=True)]
    groups.append((("all",) * len(by), q))
    rows = []
    for key, g in groups:
        wd = (g["status"] == "withdrawn").to_numpy()
        ev = (g["status"] == "in_service").to_numpy()
        rec = dict(zip(by, key, strict=True))
        rec.update(n=len(g), n_withdrawn=int(wd.sum()), n_in_service=int(ev.sum()), n_active=int((~wd & ~ev).sum()),
                   max_follow_up=float(g["t"].max()))
        note = []
        fit = None
        if wd.sum() >= min_events:
            fit = lognormal_aft_fit(g.loc[wd, "t"], g.loc[~wd, "t"])
            rec.update({k: fit[k] for k in ("p50", "p50_low", "p50_high", "p90", "mu", "sigma")})
            if not fit["converged"]:
                note.append("fit did not converge cleanly")
        else:
            rec.update(dict.fromkeys(("p50", "p50_low", "p50_high", "p90", "mu", "sigma"), np.nan))
            note.append(f"{int(wd.sum())} withdrawals: too few to fit")
        comp = lognormal_aft_fit(g.loc[ev, "t"], g.loc[~ev, "t"]) if ev.sum() >= min_events else None
        if comp is None:
            note.append("no completion hazard identified in the group (S_T = 1 in the fitted incidence)")
        cause = np.where(ev, 1, np.where(wd, 2, 0))
        for m in at_months:
            tag = f"{m:g}"
            rec[f"cif_withdrawn_fit_{tag}"] = _fitted_cif(fit["mu"], fit["sigma"], m, comp and comp["mu"],
                                                         comp and comp["sigma"]) if fit else np.nan
            emp = aalen_johansen(g["t"].to_numpy(float), cause, m).get(2, 0.0) if m <= rec["max_follow_up"] \
                else np.nan
            rec[f"cif_withdrawn_empirical_{tag}"] = emp
        rec["note"] = "; ".join(note)
        rows.append(rec)
    out = pd.DataFrame(rows)
    out.attrs.update({"units": "month", "as_of": {str(k): str(v.date()) for k, v in dates.items()},
                      "method": "lognormal latent time to withdrawal by maximum likelihood; in-service projects "
                                "censored at entry into service, active ones at the data date; fitted cumulative "
                                "incidence vs Aalen-Johansen"})
    return out


def withdrawal_rows_from_fit(fit: pd.DataFrame, *, region: str = "PJM", source: str = "", **select) -> pd.DataFrame:
    """A stage-table row for the ``withdrawal`` stage from one row of :func:`fit_withdrawal`."""
    sel = fit
    for k, v in select.items():
        sel = sel[sel[k] == v]
    if len(sel) != 1:
        raise KeyError(f"{len(sel)} fitted rows match {select}")
    r = sel.iloc[0]
    if not np.isfinite(r["p50"]):
        raise KeyError(f"the fitted row {select} has no fit ({r['note']})")
    desc = ", ".join(f"{k}={v}" for k, v in select.items())
    return pd.DataFrame([{
        "stage": "withdrawal", "paths": "grid_firm grid_flexible", "region": region, "size_class": "",
        "distribution": "lognormal", "p50": round(float(r["p50"]), 2), "p90": round(float(r["p90"]), 2),
        "low": np.nan, "mode": np.nan, "high": np.nan, "unit": "month", "supply_chain": False, "kind": "fit",
        "covers": "", "facts": "", "values": (),
        "source": source or f"fit_withdrawal on a queue export ({desc}; n={int(r['n'])}, withdrawn={int(r['n_withdrawn'])})",
        "note": f"latent time to withdrawal, lognormal MLE; p50 95% CI {r['p50_low']:.1f}-{r['p50_high']:.1f}",
    }])
