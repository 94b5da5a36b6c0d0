r"""Carbon intensity and carbon-free share of a grid from its generation by fuel.

For an hour with net generation :math:`g_f \ge 0` [MW] by EIA-930 fuel code :math:`f` and emission
factors :math:`e_f` [gCO2 kWh-1] of a basis (``direct``: CO2 at the plant; ``lifecycle``: CO2-eq over
the plant's life cycle),

.. math:: \mathrm{CI} = \frac{\sum_f e_f\, g_f}{\sum_f g_f}, \qquad
          \mathrm{CFE} = \frac{\sum_{f \in \{NUC, WAT, SUN, WND\}} g_f}{\sum_f g_f}.

Negative net generation (pumped storage or batteries charging, a plant's own use) is consumption,
not generation: it counts as 0 in both sums, and its energy is reported (``negative_mw``).  The
factors and which one each fuel code takes are in ``data/facts/emission_factors.csv`` (IPCC AR5
WGIII Annex III life-cycle medians; EIA's 2022 US direct factors), the reasons in its notes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from powerfirst.errors import Problem, ValidationError

__all__ = ["EIA930_FUELS", "CARBON_FREE_FUELS", "BASES", "emission_factors", "fuel_mix_carbon"]

#: the fuel codes of EIA-930 net generation by energy source (2018-2023 categories)
EIA930_FUELS = ("COL", "NG", "NUC", "OIL", "WAT", "SUN", "WND", "OTH", "UNK")
#: the fuels counted as carbon-free
CARBON_FREE_FUELS = ("NUC", "WAT", "SUN", "WND")
#: emission-factor bases
BASES = ("direct", "lifecycle")


def emission_factors(basis: str, facts: pd.DataFrame | None = None) -> dict[str, float]:
    """Emission factor of each EIA-930 fuel code [gCO2 kWh-1] on ``basis`` ('direct' or 'lifecycle').

    Read from the ``emission_factor_<basis>`` rows of the facts tables (``scenario`` = fuel code).
    """
    from powerfirst.io.facts import read_facts

    if basis not in BASES:
        raise ValueError(f"unknown emission-factor basis {basis!r}; expected one of {', '.join(BASES)}")
    df = read_facts() if facts is None else facts
    rows = df[df["quantity"] == f"emission_factor_{basis}"]
    out = {str(r.scenario): float(r.value) for r in rows.itertuples()}
    missing = [f for f in EIA930_FUELS if f not in out]
    if missing:
        raise ValidationError([Problem(f"no emission_factor_{basis} row for fuel code {f} (add one to "
                                       "data/facts/emission_factors.csv)", column="scenario") for f in missing],
                              what="emission factors")
    return out


def fuel_mix_carbon(generation: pd.DataFrame, factors: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Hourly carbon-free share and carbon intensity by basis from generation by fuel.

    Parameters
    ----------
    generation : pandas.DataFrame
        Net generation [MW] (MWh per hour), one column per EIA-930 fuel code (a subset of
        :data:`EIA930_FUELS`; absent codes count as 0), one row per hour.
    factors : mapping basis -> {fuel code: gCO2 kWh-1}
        E.g. ``{"direct": emission_factors("direct"), "lifecycle": emission_factors("lifecycle")}``.

    Returns
    -------
    pandas.DataFrame
        On the index of ``generation``: ``generation_mw`` (sum of positive generation) [MW],
        ``carbon_free_mw`` [MW], ``negative_mw`` (net consumption left out) [MW], ``cfe_share`` [1]
        and ``gco2_per_kwh_<basis>`` for each basis [gCO2 kWh-1].  NaN in an hour with any NaN
        fuel value or no positive generation.

    Raises
    ------
    ValidationError
        A column that is not an EIA-930 fuel code, a factor missing for a fuel present.
    """
    unknown = [c for c in generation.columns if c not in EIA930_FUELS]
    problems = [Problem(f"not an EIA-930 fuel code (expected {', '.join(EIA930_FUELS)})", column=str(c))
                for c in unknown]
    for basis, f in factors.items():
        problems += [Problem(f"no {basis} emission factor", column=str(c)) for c in generation.columns
                     if c not in f]
    if problems:
        raise ValidationError(problems, what="generation by fuel")
    g = generation.apply(pd.to_numeric, errors="coerce").astype(float)
    bad = g.isna().any(axis=1).to_numpy()
    pos = g.clip(lower=0.0).fillna(0.0)
    total = pos.sum(axis=1).to_numpy()
    ok = ~bad & (total > 0)
    den = np.where(ok, total, np.nan)
    clean = pos[[c for c in pos.columns if c in CARBON_FREE_FUELS]].sum(axis=1).to_numpy()
    out = pd.DataFrame(index=generation.index)
    out["generation_mw"] = np.where(ok, total, np.nan)
    out["carbon_free_mw"] = np.where(ok, clean, np.nan)
    out["negative_mw"] = np.where(bad, np.nan, (-g.clip(upper=0.0)).sum(axis=1).to_numpy())
    out["cfe_share"] = clean / den
    for basis, f in factors.items():
        w = np.array([f[c] for c in pos.columns], dtype=float)
        out[f"gco2_per_kwh_{basis}"] = pos.to_numpy() @ w / den
    return out
