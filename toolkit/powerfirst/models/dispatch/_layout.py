"""Layout of the dispatch kernel's arrays: parameter, summary and hourly columns, the lane rows of
the work array, and the compile options (shared by :mod:`._dispatch_kernel` and :mod:`._dispatch_steps`)."""

from __future__ import annotations

# ---- parameter columns (site, scenario, N_PARAMS)
(P_LOAD, P_FIRM, P_NONFIRM, P_SOLAR, P_WIND, P_STO_MW, P_STO_MWH, P_RTE, P_SOC_MIN, P_SOC_MAX, P_SOC_INIT,
 P_DEG, P_GAS_MW, P_GAS_MIN, P_GAS_COST, P_GAS_EF, P_FLEX, P_FLEX_H, P_DEFER_COST, P_VOLL, P_CARBON_PRICE,
 P_PRIORITY, P_ARBITRAGE) = range(23)
N_PARAMS = 23

# ---- summary columns
(M_DEMAND, M_SERVED, M_UNSERVED, M_UNSERVED_H, M_GRID, M_GRID_PEAK, M_CURT, M_CURT_H, M_RIDDEN, M_CHARGE,
 M_DISCHARGE, M_GEN, M_GEN_H, M_RENEW, M_RENEW_USED, M_SPILL, M_DEFER, M_REPAY, M_BACKLOG_END, M_GRID_COST,
 M_FUEL_COST, M_DEG_COST, M_DEFER_COST, M_UNSERVED_COST, M_CARBON_COST, M_EMISSIONS, M_CFE, M_IT_SERVED,
 M_GRID_CHARGE, M_SOC_END) = range(30)
N_METRICS = 30

# ---- hourly rows
(H_DEMAND, H_RENEW, H_SPILL, H_GRID, H_GRID_LIMIT, H_CHARGE, H_DISCHARGE, H_SOC, H_GEN, H_DEFER, H_REPAY,
 H_BACKLOG, H_UNSERVED, H_CURT) = range(14)
N_HOURLY = 14

# ---- site flags
F_OK, F_NAN, F_PUE = 0, 1, 2

LB = 8  # lanes (scenarios) per block
GW = 4  # lanes per vector group (a group takes the lean or the full step hour by hour)

# ---- lane rows of the work array ``ws`` (row * LB + lane): parameters, state, accumulators
(W_LMW, W_PS, W_PW, W_CONN, W_NONFIRM, W_P, W_EMIN, W_EMAX, W_ETA, W_IETA, W_K, W_MK, W_GEFF, W_WP, W_WC,
 W_FS, W_BMAX,
 W_SOC, W_B,
 A_GRID, A_GP, A_GC, A_GS, A_PEAK, A_RD, A_CHS, A_CHG, A_CHG_S, A_REN_CH, A_DIS, A_GEN, A_GEN_H, A_SPILL,
 A_UNS, A_UNS_H, A_CURT, A_CURT_H, A_RIDE, A_DEFER, A_REPAY, A_RS_REN, A_IT_LOST) = range(42)
NW = 42
_FIRST_ACC = A_GRID

EPS = 1e-12
TOL = 1e-9  # MW: a shortfall below this is left unserved rather than starting a generator or deferring load
_JIT = dict(cache=True, nogil=True, error_model="numpy")
