"""Prototype, not product: the engine step of the composite plant under numba, bit-compared.

    .venv/bin/python benchmarks/proto_numba_plant.py [--seconds 14]

Issue 7 asks what would reach 25x where pure Python cannot. The plant step is 11-13 us
alone and ~19 us inside the full stack (bench_overhead.py); this measures what numba
(``pip install numba``; not a project dependency) does to its largest part,
``plants.engine.Engine.step`` (air path, fuel, torque, knock):

1. Record: the full-throttle pull runs through the full stack (SilBench, as ``hil run``)
   with ``Engine.step`` wrapped; every call's arguments and the engine state before and
   after it are kept (a fixed input sequence from the closed loop).
2. Bit-compare: the numba port replays the recorded arguments from the recorded initial
   state, open loop, for the whole run; every state variable after every call is compared
   with the Python engine's bit for bit (``float.hex`` equality), and the largest
   relative difference is printed.
3. Time: Python ``Engine.step`` on the recorded sequence vs the numba port called from
   Python once per step (dispatch included: what a plant that keeps its Python structure
   would pay), and the numba port looping over the sequence inside compiled code (what
   a plant step compiled as a whole would pay for this part).

The port mirrors engine.py line by line (same operations, same order); state lives in a
float64 array, parameters in another.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _workloads import build_bench, load_workload, machine_line, pin_one_core

try:
    import numba
except ImportError:  # pragma: no cover - prototype
    raise SystemExit("numba is not installed (pip install numba): this prototype measures it") from None

from plants import engine as E

STATE = ("p_im_pa", "throttle_pct", "idle_pct", "film_kg", "coolant_k", "knock_phase",
         "knock_signal", "knock_events", "rev_limiter", "bmep_pa", "air_flow_kg_s",
         "throttle_flow_kg_s", "fuel_flow_kg_s", "burned_fuel_kg_s", "lam", "torque_nm",
         "ind_torque_nm", "friction_torque_nm", "eta_ign", "eta_total", "mbt_deg", "kls_deg",
         "knock_true", "vol_eff", "combusting", "_ni")
S = {name: i for i, name in enumerate(STATE)}
PARAMS = ("stall_rpm", "idle_rpm", "idle_integral_pct_per_rpm_s", "idle_max_pct",
          "idle_gain_pct_per_rpm", "throttle_tau_s", "charge_heating", "compression_ratio",
          "n_cyl", "wall_film_fraction", "wall_film_tau_s", "afr_stoich", "rev_limit_rpm",
          "lean_limit_lambda", "q_hv_j_per_kg", "bore_m", "friction_xi_aux", "friction_pi_bl",
          "mbt_base_deg", "mbt_rpm_deg_per_krpm", "mbt_load_deg_per_100kpa", "kls_ref_deg",
          "kls_map_deg_per_kpa", "kls_iat_deg_per_k", "kls_coolant_deg_per_k",
          "kls_octane_deg_per_ron", "octane_ron", "kls_rpm_deg_per_krpm",
          "kls_rich_deg_per_lambda", "knock_slope_deg", "knock_cycle_spread",
          "knock_background", "redline_rpm")
# The fields of Engine.step's EngineInputs, in the order the port takes them.
STEP_ARGS = ("speed_rpm", "throttle_cmd_pct", "p_up_pa", "t_im_k", "p_em_pa", "fuel_mg",
             "spark_deg", "fuel_cut", "spark_cut", "injector_factor", "knock_sensitivity",
             "idle_control")
DERIVED = ("vd_m3", "stroke_m", "eta_ig", "v_im_m3", "a_th_max", "a_leak", "nn")


def param_array(eng: E.Engine) -> tuple[np.ndarray, np.ndarray]:
    p = eng.p
    values = [float(getattr(p, n)) for n in PARAMS]
    values += [eng.vd_m3, eng.stroke_m, eng.eta_ig, eng.v_im_m3, eng.a_th_max, eng.a_leak,
               float(eng._nn)]
    return np.array(values), np.array(p.ve_poly, dtype=np.float64)


def state_of(eng: E.Engine) -> list[float]:
    return [float(getattr(eng, n)) for n in STATE]


# Constants exactly as engine.py computes them (module globals are frozen into the code).
PI_CRIT, PSI_MAX, PI_LIN = E.PI_CRIT, E.PSI_MAX, E.PI_LIN
E1, E2, K_PSI, PSI_LIN, SLOPE_LIN = E._E1, E._E2, E._K_PSI, E.PSI_LIN, E.SLOPE_LIN
R_AIR, GAMMA_AIR, FOUR_PI = E.R_AIR, E.GAMMA_AIR, E.FOUR_PI
INV_GAMMA = 1.0 / GAMMA_AIR
P = {n: i for i, n in enumerate(PARAMS + DERIVED)}
(STALL, IDLE, IDLE_I, IDLE_MAX, IDLE_GAIN, TH_TAU, CH_HEAT, RC, NCYL, WF_X, WF_TAU, AFR,
 REV, LEAN, QHV, BORE, XI_AUX, PI_BL, MBT0, MBT_RPM, MBT_LOAD, KLS0, KLS_MAP, KLS_IAT,
 KLS_COOL, KLS_OCT, OCTANE, KLS_RPM, KLS_RICH, KN_SLOPE, KN_SPREAD, KN_BG, REDLINE,
 VD, STROKE, ETA_IG, VIM, ATH, ALEAK, NN) = range(len(P))
(sP_IM, sTHR, sIDLE, sFILM, sCOOL, sKPH, sKSIG, sKEV, sREV, sBMEP, sAIR, sTHF, sFUEL, sBURN,
 sLAM, sTQ, sIND, sFRIC, sETAIGN, sETATOT, sMBT, sKLS, sKTRUE, sVE, sCOMB, sNI) = range(len(STATE))


@numba.njit(cache=False)
def engine_step(st, pa, poly, noise, dt, speed_rpm, throttle_cmd_pct, p_up_pa, t_im_k, p_em_pa,
                fuel_mg, spark_deg, fuel_cut, spark_cut, injector_factor, knock_sensitivity,
                idle_control):
    if idle_control and speed_rpm > pa[STALL]:
        err = pa[IDLE] - speed_rpm
        if err > -300.0:
            st[sIDLE] += pa[IDLE_I] * err * dt
        else:
            st[sIDLE] -= 20.0 * dt
        if st[sIDLE] < 0.0:
            st[sIDLE] = 0.0
        elif st[sIDLE] > pa[IDLE_MAX]:
            st[sIDLE] = pa[IDLE_MAX]
        idle = st[sIDLE] + pa[IDLE_GAIN] * err
        cmd = throttle_cmd_pct if throttle_cmd_pct > idle else idle
    else:
        cmd = throttle_cmd_pct
    cmd = 0.0 if cmd < 0.0 else (100.0 if cmd > 100.0 else cmd)
    st[sTHR] += (cmd - st[sTHR]) * dt / (pa[TH_TAU] + dt)
    area = pa[ALEAK] + pa[ATH] * (1.0 - math.cos(0.015707963267948967 * st[sTHR]))

    p_im = st[sP_IM]
    p_im_kpa = p_im * 1e-3
    t_in = t_im_k + pa[CH_HEAT] * (st[sCOOL] - t_im_k)
    # volumetric_efficiency(p_im_kpa, p_em_pa * 1e-3, r_c, t_im_k / t_in, poly)
    p_em_kpa = p_em_pa * 1e-3
    ratio = p_em_kpa / max(p_im_kpa, 1.0)
    resid = ratio ** INV_GAMMA
    r_c = pa[RC]
    if resid > r_c - 0.5:
        resid = r_c - 0.5
    pc = 20.0 if p_im_kpa < 20.0 else (200.0 if p_im_kpa > 200.0 else p_im_kpa)
    c = 0.0
    for k in poly:
        c = c * pc + k
    ve = c * (r_c - resid) / (r_c - 1.0) * (t_im_k / t_in)
    if ve < 0.05:
        ve = 0.05
    st[sVE] = ve
    n_rps = speed_rpm / 60.0
    a_cyl = ve * pa[VD] * n_rps / (2.0 * R_AIR * t_im_k)
    c_th = area / math.sqrt(R_AIR * t_im_k)
    pr = p_im / p_up_pa
    if pr <= PI_CRIT:
        psi = PSI_MAX
        dpsi = 0.0
    elif pr <= PI_LIN:
        a = pr ** E1
        b = pr ** E2
        psi = math.sqrt(K_PSI * (a - b))
        dpsi = K_PSI * (E1 * a / pr - E2 * b / pr) / (2.0 * psi)
    else:
        psi = PSI_LIN - SLOPE_LIN * (pr - PI_LIN)
        if psi < -PSI_MAX:
            psi = -PSI_MAX
            dpsi = 0.0
        else:
            dpsi = -SLOPE_LIN
    w_th = c_th * p_up_pa * psi
    k_im = R_AIR * t_im_k / pa[VIM]
    f = k_im * (w_th - a_cyl * p_im)
    dfdp = k_im * (c_th * dpsi - a_cyl)
    dp = dt * f / (1.0 - dt * dfdp)
    p_new = p_im + dp
    if p_new < 500.0:
        p_new = 500.0
    st[sP_IM] = p_new
    st[sTHF] = w_th + c_th * dpsi * dp
    st[sAIR] = a_cyl * p_new
    p_im_kpa = p_new * 1e-3

    n_cyl = pa[NCYL]
    cyc_per_s = n_rps * 0.5 * n_cyl
    mf_inj = 0.0 if fuel_cut >= 0.5 else (fuel_mg if fuel_mg > 0.0 else 0.0) * 1e-6 * injector_factor
    if pa[WF_X] > 0.0:
        x = pa[WF_X]
        w_inj = mf_inj * cyc_per_s
        out = st[sFILM] / pa[WF_TAU]
        st[sFILM] += (x * w_inj - out) * dt
        w_f = (1.0 - x) * w_inj + out
        mf = w_f / cyc_per_s if cyc_per_s > 1e-3 else 0.0
    else:
        mf = mf_inj
        w_f = mf * cyc_per_s
    st[sFUEL] = w_f
    m_air_cyl = ve * p_new * pa[VD] / (n_cyl * R_AIR * t_im_k)
    lam = m_air_cyl / (pa[AFR] * mf) if mf > 1e-12 else 10.0
    if lam > 10.0:
        lam = 10.0
    st[sLAM] = lam

    if speed_rpm > pa[REV]:
        st[sREV] = 1.0
    elif speed_rpm < pa[REV] - 150.0:
        st[sREV] = 0.0
    fires = (mf > 0.0 and spark_cut < 0.5 and st[sREV] == 0.0
             and lam < pa[LEAN] + 0.4 and speed_rpm > 30.0)
    mbt = (pa[MBT0] + pa[MBT_RPM] * (speed_rpm - 2000.0) * 1e-3
           - pa[MBT_LOAD] * (p_im_kpa - 100.0) * 0.01)
    mbt = 10.0 if mbt < 10.0 else (45.0 if mbt > 45.0 else mbt)
    st[sMBT] = mbt
    if fires:
        d = spark_deg - mbt
        if d < -20.0:
            eta_ign = 0.9090 + 0.0072 * (d + 20.0)
        else:
            xx = d * 0.01
            eta_ign = 1.0 - 3.217 * xx * xx - 4.722 * xx * xx * xx
        eta_ign = 0.05 if eta_ign < 0.05 else eta_ign
        eta_lam = lam if lam < 1.0 else 1.0
        if lam > pa[LEAN] - 0.2:
            q = (lam - pa[LEAN] + 0.2) / 0.6
            eta_lam *= 0.0 if q >= 1.0 else 1.0 - q * q
        st[sCOMB] = 1.0
    else:
        eta_ign = 0.0
        eta_lam = 0.0
        st[sCOMB] = 0.0
    st[sETAIGN] = eta_ign
    st[sBURN] = w_f * eta_lam
    w_ig = mf * pa[QHV] * pa[ETA_IG] * eta_lam * n_cyl
    st[sETATOT] = pa[ETA_IG] * eta_ign
    t_ig = eta_ign * w_ig / FOUR_PI
    sp = 2.0 * pa[STROKE] * speed_rpm / 60.0
    bmep = st[sBMEP] if st[sBMEP] > 0.0 else 0.0
    fmep = pa[XI_AUX] * ((0.464 + 0.0072 * sp ** 1.8) * pa[PI_BL] * 1e5 + 0.0215 * bmep) * math.sqrt(0.075 / pa[BORE])
    t_fr = pa[VD] * fmep / FOUR_PI
    t_pump = pa[VD] * (p_em_pa - p_new) / FOUR_PI
    if speed_rpm < 60.0:
        t_pump *= speed_rpm / 60.0
    st[sIND] = t_ig
    st[sFRIC] = t_fr + t_pump
    tq = t_ig - t_fr - t_pump
    st[sTQ] = tq
    st[sBMEP] = FOUR_PI * tq / pa[VD]

    laml = 0.7 if lam < 0.7 else (1.5 if lam > 1.5 else lam)
    kls = (pa[KLS0] - pa[KLS_MAP] * (p_im_kpa - 100.0)
           - pa[KLS_IAT] * (t_im_k - 313.15)
           - pa[KLS_COOL] * (st[sCOOL] - 363.15)
           + pa[KLS_OCT] * (pa[OCTANE] - 95.0)
           + pa[KLS_RPM] * (speed_rpm - 3000.0) * 1e-3
           + pa[KLS_RICH] * (1.0 - laml))
    st[sKLS] = kls
    if fires:
        e = (spark_deg - kls) / pa[KN_SLOPE]
        ki = math.exp(e if e < 5.0 else 5.0)
    else:
        ki = 0.0
    st[sKTRUE] = ki
    st[sKPH] += cyc_per_s * dt
    if st[sKPH] >= 1.0:
        st[sKPH] -= float(int(st[sKPH]))
        i = int(st[sNI])
        g1 = noise[i]
        g2 = noise[i + 1]
        st[sNI] = i + 2 if i + 3 < pa[NN] else 0
        s = pa[KN_SPREAD]
        cycle = ki * math.exp(s * g1 - 0.5 * s * s) if ki > 0.0 else 0.0
        if cycle >= 1.0:
            st[sKEV] += 1.0
        bg = pa[KN_BG] * (0.6 + 0.4 * speed_rpm / pa[REDLINE]) * (1.0 + 0.25 * g2)
        st[sKSIG] = knock_sensitivity * ((bg if bg > 0.0 else 0.0) + cycle)
    elif speed_rpm < 30.0:
        st[sKSIG] = 0.0


@numba.njit(cache=False)
def replay(st, pa, poly, noise, args, coolant):
    for j in range(args.shape[0]):
        st[sCOOL] = coolant[j]       # the thermal model (slow rate) moves it between steps
        a = args[j]
        engine_step(st, pa, poly, noise, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                    a[9], a[10], a[11], a[12] != 0.0)


def record(seconds: float) -> tuple[E.Engine, list, list, list, list]:
    bench = build_bench(load_workload("pull"), trace=False)
    eng = bench.plant.engine
    calls, before, after, coolant = [], [], [], []
    original = eng.step

    def wrapped(dt, inputs):
        before.append(state_of(eng))
        coolant.append(eng.coolant_k)
        original(dt, inputs)
        calls.append((dt, *(getattr(inputs, k) for k in STEP_ARGS)))
        after.append(state_of(eng))

    eng.step = wrapped
    bench.run_for(seconds)
    bench.close()
    eng.step = original
    return eng, calls, before, after, coolant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=14.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pinned = pin_one_core()
    print(f"{machine_line()}; {pinned}; numba {numba.__version__}")
    eng, calls, before, after, coolant = record(args.seconds)
    n = len(calls)
    pa, poly = param_array(eng)
    noise = np.array(eng._noise)
    argv = np.array([[float(x) for x in c] for c in calls])
    cool = np.array(coolant)

    # 1. bit-compare, open loop over the recorded sequence
    st = np.array(before[0])
    ref = np.array(after)
    worst_rel, mismatched_steps = 0.0, 0
    for j in range(n):
        st[sCOOL] = cool[j]
        a = argv[j]
        engine_step(st, pa, poly, noise, *a[:12], a[12] != 0.0)
        diff = st != ref[j]
        if diff.any():
            mismatched_steps += 1
            scale = np.maximum(np.abs(ref[j]), 1e-300)
            worst_rel = max(worst_rel, float(np.max(np.abs(st - ref[j]) / scale)))
    print(f"recorded {n} engine steps of the full-throttle pull ({args.seconds:g} s, full stack)")
    print(f"bit-compare numba vs Python, {len(STATE)} state variables after every step: "
          f"{n - mismatched_steps} of {n} steps identical"
          + (f", worst relative difference {worst_rel:.1e}" if mismatched_steps else
             " (bit-identical)"))

    # 2. timing on the same sequence
    def py_run() -> float:
        e = E.Engine(eng.p, eng.th, eng._noise)
        for name, value in zip(STATE, before[0], strict=True):
            setattr(e, name, int(value) if name in ("knock_events", "rev_limiter", "combusting",
                                                     "_ni") else value)
        step = e.step
        records = [E.EngineInputs(*c[1:]) for c in calls]
        t0 = time.perf_counter()
        for c, rec, k in zip(calls, records, coolant, strict=True):
            e.coolant_k = k
            step(c[0], rec)
        return (time.perf_counter() - t0) / n

    def nb_call() -> float:
        s = np.array(before[0])
        rows = argv.tolist()
        t0 = time.perf_counter()
        for a, k in zip(rows, coolant, strict=True):
            s[sCOOL] = k
            engine_step(s, pa, poly, noise, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
                        a[8], a[9], a[10], a[11], a[12] != 0.0)
        return (time.perf_counter() - t0) / n

    def nb_loop() -> float:
        s = np.array(before[0])
        t0 = time.perf_counter()
        replay(s, pa, poly, noise, argv, cool)
        return (time.perf_counter() - t0) / n

    nb_loop()  # compile
    py = min(py_run() for _ in range(args.repeat))
    call = min(nb_call() for _ in range(args.repeat))
    loop = min(nb_loop() for _ in range(args.repeat))
    print(f"Engine.step, Python:                          {py * 1e6:6.2f} us per step")
    print(f"engine_step, numba, one call per step:        {call * 1e6:6.2f} us per step "
          f"({py / call:.1f}x; dispatch of 17 arguments included)")
    print(f"engine_step, numba, loop inside compiled code: {loop * 1e6:6.3f} us per step "
          f"({py / loop:.0f}x)")


if __name__ == "__main__":
    main()
