"""Reference simulations of NEST's ``iaf_psc_exp`` and ``izhikevich`` networks on the step grid.

Run with the python of the reference venv (``bash .ci/setup_reference.sh`` creates it)::

    .venv-ref/bin/python tests_py/reference/models_reference.py \
        --model {iaf_psc_exp,izhikevich} --network NET.npz --out SPIKES.npz [--simulator {nest,numpy}]
    .venv-ref/bin/python tests_py/reference/models_reference.py --selftest

Both models are stepped with NEST's own arithmetic, in float64, with step h = ``dt_ms``.  Input
``in(t)`` of a neuron is the sum of the weights of the spikes emitted at step ``t - d`` on its
edges of delay ``d >= 1`` steps; the weights are multiples of 1/64, so every such sum is exact in
any order and only the operations below round.

``iaf_psc_exp`` (potential relative to E_L = 0, so V is spikegraph's v), per step and neuron::

    if r == 0: V = V*P22 + i_ex*P21ex + i_in*P21in + I_e*P20   (left to right)
    else:      r -= 1                                           (V stays at V_reset)
    i_ex = i_ex*P11ex + in_ex(t)        (in_ex: the input of weight > 0)
    i_in = i_in*P11in + in_in(t)        (in_in: the input of weight < 0, a negative number)
    if V >= V_th: spike at step t; V = V_reset; r = t_ref_steps

so input arriving at step t first moves V at step t + 1.  The constants are computed exactly as
NEST 3.10 computes them (:func:`psc_exp_constants`), C_m = tau_m / R; P21 needs NEST's own expm1
(:func:`nest_expm1`), not the C library's, to match bit for bit.

``izhikevich`` (NEST's default ``consistent_integration``; no refractory period)::

    v_new = v + (h*(0.04*v*v + 5*v + 140 - u + I_e) + in(t))     (inner sum left to right)
    u_new = u + h*a*(b*v - u)                                      (both from the old v, u)
    if v_new >= V_th: spike at step t; v_new = c; u_new = u_new + d

NET.npz is ``lif_reference``'s network file (read with :func:`lif_reference.load_network`; for
``izhikevich`` c is ``v_reset`` and V_th is ``threshold``, and ``tau_m_ms``, ``R``, ``t_ref_steps``
are unused) plus ``model`` (str), ``tau_syn_ex_ms``, ``tau_syn_in_ms``, ``a``, ``b``, ``d`` and
``u0[n]``; ``drive`` is I_e and ``v_rest`` must be 0.  SPIKES.npz holds int64 arrays ``steps``
and ``nodes`` sorted by (step, node) and the state after the last step as ``state_v`` and
``state_u`` (izhikevich; the oracle also writes ``state_i_syn_ex`` and ``state_i_syn_in``).

``numpy`` is the oracle, a vectorised transcription of the rules above; ``nest`` builds the same
network in NEST (one thread by default).  ``--selftest`` runs both on :data:`CASES` and checks
that the spike trains and the final states are identical, bit for bit.  The final state is the
sharper test: spike trains of 1000-2000 steps stayed identical when a propagator was one ulp
off or a sum was evaluated in another order, while the final potentials differed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

import lif_reference as lif  # the sibling module: found through this file's directory
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class Result(NamedTuple):
    """A simulation's spike train, sorted by (step, node), and its state after the last step
    (spikegraph's names: ``v`` and ``i_syn_ex``, ``i_syn_in`` or ``u``)."""

    steps: I64
    nodes: I64
    state: dict[str, F64]


MODELS = ("iaf_psc_exp", "izhikevich")
SIMULATORS = ("numpy", "nest")


@dataclass(frozen=True)
class ModelNetwork:
    """A network of one NEST model: ``base`` holds the graph, the step, v0, I_e and the LIF-like
    parameters (for izhikevich: c = ``base.v_reset``, V_th = ``base.threshold``)."""

    model: str
    base: lif.Network
    tau_syn_ex_ms: float = 2.0  # iaf_psc_exp
    tau_syn_in_ms: float = 2.0  # iaf_psc_exp
    a: float = 0.02  # izhikevich
    b: float = 0.2  # izhikevich
    d: float = 8.0  # izhikevich
    u0: F64 | None = None  # izhikevich: initial recovery variable

    def validate(self) -> None:
        """Raise ValueError when the network is not well formed."""
        self.base.validate()
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose from {MODELS}")
        if self.base.v_rest != 0.0:
            raise ValueError("v_rest (E_L) must be 0 so that the potential is NEST's V_m")
        if self.model == "iaf_psc_exp" and not (self.tau_syn_ex_ms > 0 and self.tau_syn_in_ms > 0):
            raise ValueError("tau_syn_ex_ms and tau_syn_in_ms must be > 0")
        if self.model == "izhikevich":
            if self.u0 is None or self.u0.shape != (self.base.n,):
                raise ValueError("izhikevich needs u0 of shape (n,)")
            if self.base.t_ref_steps != 0:
                raise ValueError("izhikevich has no refractory period (t_ref_steps must be 0)")


def save_network(path: str | os.PathLike[str], net: ModelNetwork) -> None:
    """Write a network: lif_reference's fields plus the model's (format in the module docstring)."""
    base = {f.name: getattr(net.base, f.name) for f in fields(net.base)}
    u0 = net.u0 if net.u0 is not None else np.zeros(0)
    np.savez(path, **base, model=net.model, tau_syn_ex_ms=net.tau_syn_ex_ms,
             tau_syn_in_ms=net.tau_syn_in_ms, a=net.a, b=net.b, d=net.d, u0=u0)


def load_network(path: str | os.PathLike[str]) -> ModelNetwork:
    """Read a network written by :func:`save_network`."""
    base = lif.load_network(path)
    with np.load(path) as z:
        model = str(z["model"])
        u0 = np.asarray(z["u0"], dtype=np.float64)
        net = ModelNetwork(
            model=model,
            base=base,
            tau_syn_ex_ms=float(z["tau_syn_ex_ms"]),
            tau_syn_in_ms=float(z["tau_syn_in_ms"]),
            a=float(z["a"]),
            b=float(z["b"]),
            d=float(z["d"]),
            u0=u0 if model == "izhikevich" else None,
        )
    net.validate()
    return net


# ----------------------------------------------------------------------------- iaf_psc_exp


def _is_normal(x: float) -> bool:
    return math.isfinite(x) and abs(x) >= sys.float_info.min


def nest_expm1(x: float) -> float:
    """exp(x) - 1 as the NEST 3.10.0 wheels compute it (their ``numerics::expm1``).

    The PyPI build of NEST 3.10.0 is configured without ``HAVE_EXPM1`` (see ``config.h`` in its
    ``include/nest``), so it does not call the C library's expm1: for |x| > ln 2 it takes
    exp(x) - 1, otherwise it sums the Taylor series x + x^2/2 + x^3/6 + ... term by term in
    float64 (each term is the previous one times x/n) and stops at the first term that is no
    larger than the sum times the machine epsilon, without adding it.  That differs from the
    C library's expm1 in the last bits (P21 by up to 3 ulp in our probes), so the oracle and
    spikegraph must compute it the same way to match NEST bit for bit.
    """
    if x == 0:
        return 0.0
    if abs(x) > math.log(2.0):
        return math.exp(x) - 1
    total = x
    term = x * x / 2
    k = 2
    while abs(term) > abs(total) * sys.float_info.epsilon:
        total += term
        k += 1
        term *= x / k
    return total


def psc_exp_propagator(tau_syn: float, tau_m: float, c_m: float, h: float) -> float:
    """P21: the change of V over one step h per unit of synaptic current, as NEST 3.10 computes it.

    NEST (``IAFPropagatorExp``) precomputes ``beta = tau_syn*tau_m/(tau_m - tau_syn)``,
    ``gamma = beta/c_m`` and ``inv_beta = (tau_m - tau_syn)/(tau_syn*tau_m)``, then takes
    ``gamma*exp(-h*(1/tau_syn))*expm1(h*inv_beta)`` (products left to right, expm1 as
    :func:`nest_expm1`); when that is not a normal positive number (tau_syn equal or very close
    to tau_m) it uses the singular limit ``h*(1/c_m)*exp(-h*(1/tau_m))``.  Note the
    multiplications by reciprocals: ``exp(-h/tau_syn)`` can differ in the last bit.
    ``math.exp`` calls the C library, as NEST's ``std::exp`` does.
    """
    p = math.nan
    if tau_m != tau_syn:  # NEST gets inf*0 = nan there, which takes the singular branch
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        gamma = beta / c_m
        inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
        p = gamma * math.exp(-h * (1 / tau_syn)) * nest_expm1(h * inv_beta)
    if _is_normal(p) and p > 0:
        return p
    return h * (1 / c_m) * math.exp(-h * (1 / tau_m))


def psc_exp_constants(net: ModelNetwork) -> dict[str, float]:
    """The propagators of ``iaf_psc_exp`` for the network's step, as NEST 3.10 computes them."""
    b = net.base
    h = b.dt_ms
    c_m = b.tau_m_ms / b.R  # the capacitance handed to NEST
    p22 = math.exp(-h / b.tau_m_ms)
    return {
        "C_m": c_m,
        "P22": p22,
        "P11ex": math.exp(-h / net.tau_syn_ex_ms),
        "P11in": math.exp(-h / net.tau_syn_in_ms),
        "P21ex": psc_exp_propagator(net.tau_syn_ex_ms, b.tau_m_ms, c_m, h),
        "P21in": psc_exp_propagator(net.tau_syn_in_ms, b.tau_m_ms, c_m, h),
        "P20": b.tau_m_ms / c_m * (1.0 - p22),
    }


# ----------------------------------------------------------------------------- numpy oracle


class _Delivery:
    """Spike delivery with delays: out-edges grouped by source (CSR) and a ring of input slots.

    ``ring[(t + d) % L, c]`` accumulates channel c of the input arriving at step t + d (channel 0:
    weights > 0, channel 1: weights < 0, when ``split_sign``; else one channel).  Since
    1 <= d < L, the slot read at step t is never written in the same step.
    """

    def __init__(self, base: lif.Network, split_sign: bool) -> None:
        order = np.argsort(base.sources, kind="stable")
        self.target = base.targets[order]
        self.weight = base.weights[order]
        self.delay = base.delays[order]
        self.channel = (self.weight < 0).astype(np.int64) if split_sign else np.zeros_like(self.delay)
        self.indptr = np.zeros(base.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(base.sources, minlength=base.n), out=self.indptr[1:])
        self.slots = int(base.delays.max()) + 1 if base.delays.size else 1
        self.ring = np.zeros((self.slots, 2 if split_sign else 1, base.n), dtype=np.float64)

    def take(self, t: int) -> F64:
        """The input arriving at step t, shape (channels, n); the slot is cleared."""
        slot = t % self.slots
        arriving = self.ring[slot].copy()
        self.ring[slot] = 0.0
        return arriving

    def send(self, t: int, fired: I64) -> None:
        """Schedule the spikes of ``fired`` (emitted at step t) on all their out-edges."""
        starts = self.indptr[fired]
        counts = self.indptr[fired + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return
        edges = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total, dtype=np.int64)
        np.add.at(self.ring, ((t + self.delay[edges]) % self.slots, self.channel[edges],
                              self.target[edges]), self.weight[edges])


def _collect(out_steps: list[I64], out_nodes: list[I64], state: dict[str, F64]) -> Result:
    if not out_steps:
        return Result(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), state)
    return Result(*lif._sorted(np.concatenate(out_steps), np.concatenate(out_nodes)), state)


def _simulate_numpy_psc_exp(net: ModelNetwork) -> Result:
    b = net.base
    k = psc_exp_constants(net)
    p22, p21ex, p21in = k["P22"], k["P21ex"], k["P21in"]
    p11ex, p11in = k["P11ex"], k["P11in"]
    drive_term = b.drive * k["P20"]  # NEST: (I_e + i_0)*P20 with i_0 = 0, the same number
    delivery = _Delivery(b, split_sign=True)
    v = b.v0.astype(np.float64, copy=True)
    i_ex = np.zeros(b.n)
    i_in = np.zeros(b.n)
    r = np.zeros(b.n, dtype=np.int64)
    out_steps: list[I64] = []
    out_nodes: list[I64] = []
    for t in range(b.steps):
        refractory = r > 0
        r[refractory] -= 1
        v_new = v * p22 + i_ex * p21ex + i_in * p21in + drive_term
        v = np.where(refractory, v, v_new)
        arriving = delivery.take(t)
        i_ex = i_ex * p11ex + arriving[0]
        i_in = i_in * p11in + arriving[1]
        fired = np.flatnonzero(v >= b.threshold)  # refractory neurons sit at v_reset < threshold
        if fired.size == 0:
            continue
        v[fired] = b.v_reset
        r[fired] = b.t_ref_steps
        out_steps.append(np.full(fired.size, t, dtype=np.int64))
        out_nodes.append(fired.astype(np.int64))
        delivery.send(t, fired)
    return _collect(out_steps, out_nodes, {"v": v, "i_syn_ex": i_ex, "i_syn_in": i_in})


def _simulate_numpy_izhikevich(net: ModelNetwork) -> Result:
    b = net.base
    assert net.u0 is not None
    h, a, bb, c, d = b.dt_ms, net.a, net.b, b.v_reset, net.d
    ha = h * a  # NEST: h * a_ * (...), evaluated left to right
    delivery = _Delivery(b, split_sign=False)
    v = b.v0.astype(np.float64, copy=True)
    u = net.u0.astype(np.float64, copy=True)
    out_steps: list[I64] = []
    out_nodes: list[I64] = []
    for t in range(b.steps):
        arriving = delivery.take(t)[0]
        v_old, u_old = v, u
        # NEST adds its (here zero) current input I before I_e; x + 0.0 == x, so it is left out.
        v = v_old + (h * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + b.drive) + arriving)
        u = u_old + ha * (bb * v_old - u_old)
        # V_min is -DBL_MAX (NEST's default): no lower bound.
        fired = np.flatnonzero(v >= b.threshold)
        if fired.size == 0:
            continue
        v[fired] = c
        u[fired] = u[fired] + d
        out_steps.append(np.full(fired.size, t, dtype=np.int64))
        out_nodes.append(fired.astype(np.int64))
        delivery.send(t, fired)
    return _collect(out_steps, out_nodes, {"v": v, "u": u})


def simulate_numpy(net: ModelNetwork) -> Result:
    """The oracle: a literal float64 transcription of the model's step, vectorised over neurons."""
    if net.model == "iaf_psc_exp":
        return _simulate_numpy_psc_exp(net)
    if net.model == "izhikevich":
        return _simulate_numpy_izhikevich(net)
    raise ValueError(f"unknown model {net.model!r}")


# ----------------------------------------------------------------------------- NEST


def _check_expm1(config_h: Path) -> None:
    """Refuse a NEST built with ``HAVE_EXPM1``: its P21 would use the C library's expm1, which
    :func:`nest_expm1` (what the 3.10.0 wheels use) does not reproduce bit for bit."""
    if config_h.exists() and any(line.split()[:2] == ["#define", "HAVE_EXPM1"]
                                 for line in config_h.read_text().splitlines()):
        raise RuntimeError(f"{config_h} defines HAVE_EXPM1: this NEST computes expm1 with the C library, "
                           "not with the series of nest_expm1 (the NEST 3.10.0 wheels)")


def simulate_nest(net: ModelNetwork, threads: int = 1) -> Result:
    """Simulate with NEST's model of the same name, resolution h = ``dt_ms``.

    As for ``iaf_psc_delta`` (see :func:`lif_reference.simulate_nest`), a spike emitted in step
    t with a delay of d*h is read by its target in step t + d, and NEST stamps it with the end of
    its step, (t + 1)*h: our step = round(time/h) - 1.  ``iaf_psc_exp`` sends a weight > 0 to
    its excitatory current and a weight < 0 to its inhibitory one; ``izhikevich`` adds the
    weight to v.  Each edge is one connection with its own weight and delay.  The final state
    holds ``v`` (V_m) and, for izhikevich, ``u`` (U_m), read after the run.
    """
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest  # only installed in the reference venv

    b = net.base
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": b.dt_ms, "local_num_threads": threads})
    h = nest.GetKernelStatus("resolution")
    if abs(h - b.dt_ms) > 1e-12:
        raise ValueError(f"NEST cannot use dt = {b.dt_ms} ms (it set {h} ms)")
    params: dict[str, Any]
    if net.model == "iaf_psc_exp":
        params = {
            "E_L": 0.0,
            "tau_m": b.tau_m_ms,
            "C_m": b.tau_m_ms / b.R,
            "V_th": b.threshold,
            "V_reset": b.v_reset,
            "t_ref": b.t_ref_steps * b.dt_ms,
            "tau_syn_ex": net.tau_syn_ex_ms,
            "tau_syn_in": net.tau_syn_in_ms,
        }
        initial: dict[str, list[float]] = {"V_m": b.v0.tolist(), "I_e": b.drive.tolist()}
    elif net.model == "izhikevich":
        assert net.u0 is not None
        params = {
            "a": net.a,
            "b": net.b,
            "c": b.v_reset,
            "d": net.d,
            "V_th": b.threshold,
            "V_min": -sys.float_info.max,
            "consistent_integration": True,
        }
        initial = {"V_m": b.v0.tolist(), "U_m": net.u0.tolist(), "I_e": b.drive.tolist()}
    else:
        raise ValueError(f"unknown model {net.model!r}")
    _check_expm1(Path(nest.__file__).parent / "include" / "nest" / "config.h")
    pop = nest.Create(net.model, b.n, params=params)
    pop.set(**initial)
    steps, nodes = lif.simulate_nest_population(nest, pop, b)
    state = {"v": np.asarray(pop.get("V_m"), dtype=np.float64).reshape(b.n)}
    if net.model == "izhikevich":
        state["u"] = np.asarray(pop.get("U_m"), dtype=np.float64).reshape(b.n)
    return Result(steps, nodes, state)


def save_result(path: str | os.PathLike[str], result: Result) -> None:
    """Write a result: int64 ``steps`` and ``nodes`` and the final state as ``state_<name>``."""
    arrays: dict[str, Any] = {f"state_{k}": v for k, v in result.state.items()}
    arrays.update(steps=result.steps.astype(np.int64), nodes=result.nodes.astype(np.int64))
    np.savez(path, **arrays)


def load_result(path: str | os.PathLike[str]) -> Result:
    """Read a result written by :func:`save_result`."""
    with np.load(path) as z:
        state = {k[len("state_"):]: np.asarray(z[k], dtype=np.float64) for k in z.files
                 if k.startswith("state_")}
        return Result(np.asarray(z["steps"], dtype=np.int64), np.asarray(z["nodes"], dtype=np.int64), state)


def simulate(simulator: str, net: ModelNetwork, threads: int = 1) -> Result:
    """Run ``net`` on the named simulator: its spikes sorted by (step, node) and final state."""
    if simulator == "numpy":
        return simulate_numpy(net)
    if simulator == "nest":
        return simulate_nest(net, threads=threads)
    raise ValueError(f"unknown simulator {simulator!r}; choose from {SIMULATORS}")


# ----------------------------------------------------------------------------- networks


def random_psc_exp_network(
    seed: int,
    n: int = 3000,
    in_degree: int = 50,
    max_delay: int = 5,
    steps: int = 2000,
    weight_scale: float = 64.0,
    tau_syn_ex_ms: float = 2.0,
    tau_syn_in_ms: float = 5.0,
    drive_scale: float = 1.4,
    **params: float,
) -> ModelNetwork:
    """A random ``iaf_psc_exp`` network: :func:`lif_reference.random_network`'s graph, delays,
    v0 and I_e (asymptotic R*I_e at 0.7..1.3 x threshold), with its weights k/64 (k in -40..32)
    multiplied by ``weight_scale`` (a power of two, so they stay multiples of 1/64; in pA) and
    I_e by ``drive_scale``.  ``params`` go to random_network (dt_ms, tau_m_ms, R, threshold,
    v_reset, t_ref_steps).  The defaults give irregular activity (ISI CV about 0.5)."""
    base = lif.random_network(seed=seed, n=n, in_degree=in_degree, max_delay=max_delay, steps=steps,
                              v_rest=0.0, **params)
    base = replace(base, weights=base.weights * weight_scale, drive=base.drive * drive_scale)
    net = ModelNetwork(model="iaf_psc_exp", base=base, tau_syn_ex_ms=tau_syn_ex_ms,
                       tau_syn_in_ms=tau_syn_in_ms)
    net.validate()
    return net


def random_izhikevich_network(
    seed: int,
    n: int = 2000,
    in_degree: int = 50,
    max_delay: int = 5,
    steps: int = 2000,
    dt_ms: float = 0.1,
    a: float = 0.02,
    b: float = 0.2,
    c: float = -65.0,
    d: float = 8.0,
    v_th: float = 30.0,
    weight_scale: float = 32.0,
    drive_range: tuple[float, float] = (0.0, 10.0),
) -> ModelNetwork:
    """A random ``izhikevich`` network: :func:`lif_reference.random_network`'s graph and delays,
    weights k/64 (k in -40..32) times ``weight_scale`` (a power of two; mV added to v),
    I_e uniform in ``drive_range``, v0 uniform in [c - 5, -45) and u0 = b*v0."""
    graph = lif.random_network(seed=seed, n=n, in_degree=in_degree, max_delay=max_delay, steps=steps,
                               dt_ms=dt_ms, v_rest=0.0, v_reset=c, threshold=v_th, t_ref_steps=0)
    rng = np.random.default_rng([seed, 1])
    v0 = rng.uniform(c - 5.0, -45.0, n)
    base = replace(graph, tau_m_ms=1.0, R=1.0, weights=graph.weights * weight_scale, v0=v0,
                   drive=rng.uniform(drive_range[0], drive_range[1], n))
    net = ModelNetwork(model="izhikevich", base=base, a=a, b=b, d=d, u0=b * v0)
    net.validate()
    return net


# The validation cases (tests_py/test_validation_models.py runs them on spikegraph too):
# name -> (model, seed, keyword arguments of the model's random_*_network).
CASES: dict[str, tuple[str, int, dict[str, Any]]] = {
    "iaf_psc_exp: 3000 neurons, K=50, delays 1..5, tau_syn 2/5 ms, t_ref 2 ms": (
        "iaf_psc_exp", 21, {"n": 3000, "in_degree": 50, "max_delay": 5, "steps": 2000,
                            "tau_syn_ex_ms": 2.0, "tau_syn_in_ms": 5.0, "weight_scale": 64.0,
                            "drive_scale": 1.4}),
    "iaf_psc_exp: 2000 neurons, tau_m 10 ms, C_m 250 pF, dt 0.25 ms, tau_syn 0.5/3 ms, t_ref 3 steps": (
        "iaf_psc_exp", 22, {"n": 2000, "in_degree": 40, "max_delay": 8, "steps": 1200, "dt_ms": 0.25,
                            "tau_m_ms": 10.0, "R": 0.04, "threshold": 15.0, "v_reset": 0.0,
                            "t_ref_steps": 3, "tau_syn_ex_ms": 0.5, "tau_syn_in_ms": 3.0,
                            "weight_scale": 2048.0, "drive_scale": 1.4}),
    "izhikevich: 3000 regular spiking neurons (a=0.02, d=8), K=50, delays 1..5": (
        "izhikevich", 23, {"n": 3000, "in_degree": 50, "max_delay": 5, "steps": 2000,
                           "weight_scale": 32.0, "drive_range": (0.0, 10.0)}),
    "izhikevich: 2000 fast spiking neurons (a=0.1, d=2), dt 0.2 ms, delays 1..10": (
        "izhikevich", 24, {"n": 2000, "in_degree": 40, "max_delay": 10, "steps": 1500, "dt_ms": 0.2,
                           "a": 0.1, "d": 2.0, "weight_scale": 16.0, "drive_range": (0.0, 6.0)}),
}


def case_network(name: str) -> ModelNetwork:
    """The network of the validation case ``name`` (a key of :data:`CASES`)."""
    model, seed, kwargs = CASES[name]
    if model == "iaf_psc_exp":
        return random_psc_exp_network(seed, **kwargs)
    return random_izhikevich_network(seed, **kwargs)


def activity(net: ModelNetwork, spikes: Result | tuple[I64, I64]) -> str:
    """A one-line summary of a spike train: count, neurons involved, rate, population CV."""
    steps, nodes = spikes[0], spikes[1]
    b = net.base
    per_step = np.bincount(steps, minlength=b.steps)
    bins = per_step[: b.steps // 10 * 10].reshape(-1, 10).sum(axis=1)  # 10-step bins
    cv = float(bins.std() / bins.mean()) if bins.mean() > 0 else math.nan
    rate = steps.size / b.n / (b.steps * b.dt_ms * 1e-3)
    return (f"{steps.size} spikes, {np.unique(nodes).size}/{b.n} neurons, {rate:.1f} Hz, "
            f"population CV {cv:.2f}, max {int(per_step.max()) if steps.size else 0} per step")


def compare(ours: Result, theirs: Result) -> list[str]:
    """What differs between two results: the spike trains, and every state variable both have
    (bit for bit); empty when they agree."""
    problems = []
    if not (np.array_equal(ours.steps, theirs.steps) and np.array_equal(ours.nodes, theirs.nodes)):
        problems.append(f"spikes differ: {lif._first_difference(ours[:2], theirs[:2])} "
                        f"({ours.steps.size} vs {theirs.steps.size} spikes)")
    for name in sorted(set(ours.state) & set(theirs.state)):
        differ = np.flatnonzero(ours.state[name] != theirs.state[name])
        if differ.size:
            i = int(differ[0])
            problems.append(f"final {name} differs in {differ.size} neurons, first {i}: "
                            f"{ours.state[name][i]!r} vs {theirs.state[name][i]!r}")
    return problems


def selftest(threads: int = 1) -> bool:
    """Check that the oracle and NEST give identical spike trains and final states on :data:`CASES`."""
    ok = True
    for name in CASES:
        net = case_network(name)
        results: dict[str, Result] = {}
        line = [f"{name}:"]
        for sim in SIMULATORS:
            t0 = time.perf_counter()
            results[sim] = simulate(sim, net, threads=threads)
            line.append(f"{sim} {results[sim].steps.size} spikes ({time.perf_counter() - t0:.1f} s);")
        line.append(activity(net, results["numpy"]))
        problems = compare(results["numpy"], results["nest"])
        if problems:
            ok = False
            line.append("MISMATCH: " + "; ".join(problems))
        if results["numpy"].steps.size == 0:
            ok = False
            line.append("FAIL: no spikes, the test is vacuous")
        print(" ".join(line), flush=True)
    print("selftest", "PASSED: identical spike trains and final states" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, help="the network's model (checked against the file)")
    p.add_argument("--network", type=Path, help="input network (.npz)")
    p.add_argument("--out", type=Path, help="output spike train (.npz)")
    p.add_argument("--simulator", choices=SIMULATORS, default="nest", help="default nest")
    p.add_argument("--threads", type=int, default=1, help="NEST threads (default 1)")
    p.add_argument("--selftest", action="store_true", help="compare numpy and NEST on CASES and exit")
    args = p.parse_args(argv)
    if args.selftest:
        return 0 if selftest(threads=args.threads) else 1
    if args.model is None or args.network is None or args.out is None:
        p.error("--model, --network and --out are required (or --selftest)")
    net = load_network(args.network)
    if net.model != args.model:
        p.error(f"{args.network} holds a network of model {net.model}, not {args.model}")
    result = simulate(args.simulator, net, threads=args.threads)
    save_result(args.out, result)
    print(f"{args.simulator} {net.model}: {result.steps.size} spikes in {net.base.steps} steps -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
