"""Reference simulations of a leaky integrate-and-fire network with spikegraph's semantics.

Run with the python of the reference venv (``bash .ci/setup_reference.sh`` creates it)::

    .venv-ref/bin/python tests_py/reference/lif_reference.py \
        --simulator {numpy,nest,brian2} --network NET.npz --out SPIKES.npz
    .venv-ref/bin/python tests_py/reference/lif_reference.py --selftest

Semantics (float64), per step t = 0, 1, ... and per neuron:

* ``I_syn(t)`` is the sum of the weights of the spikes emitted at step ``t - d`` on edges of
  delay ``d`` steps (``d >= 1``).
* refractory (counter ``r > 0``): ``r -= 1``, v stays at ``v_reset``, ``I_syn(t)`` is discarded.
* otherwise ``v = v_rest + (v - v_rest)*a + R*drive*(1 - a) + I_syn(t)`` with
  ``a = exp(-dt/tau_m)``; if ``v >= threshold``: spike at step t, ``v = v_reset``,
  ``r = t_ref_steps``.  The neuron is clamped during steps ``t+1 .. t+t_ref_steps``.

NET.npz holds the scalars ``n, dt_ms, tau_m_ms, v_rest, v_reset, threshold, t_ref_steps, R,
steps`` and the arrays ``v0[n], drive[n], sources[m], targets[m], weights[m]`` (float64) and
``delays[m]`` (int, steps >= 1).  SPIKES.npz holds int64 arrays ``steps`` and ``nodes``, sorted
by (step, node).

``numpy`` is a direct vectorised transcription of the rules above, the oracle; ``nest`` uses
``iaf_psc_delta`` and ``brian2`` a runtime-mode NeuronGroup.  How each is translated to the
semantics above is documented in :func:`simulate_nest` and :func:`simulate_brian2`.  The
``--selftest`` checks that all three give identical spike trains on random networks.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

SIMULATORS = ("numpy", "nest", "brian2")


@dataclass(frozen=True)
class Network:
    """A LIF network in spikegraph's parametrisation (times in ms, delays in steps)."""

    n: int
    dt_ms: float
    tau_m_ms: float
    v_rest: float
    v_reset: float
    threshold: float
    t_ref_steps: int
    R: float  # membrane resistance (the model calls it R)
    steps: int
    v0: F64
    drive: F64
    sources: I64
    targets: I64
    weights: F64
    delays: I64

    def validate(self) -> None:
        """Raise ValueError when the network is not well formed."""
        m = self.sources.shape[0]
        if self.v0.shape != (self.n,) or self.drive.shape != (self.n,):
            raise ValueError("v0 and drive must have shape (n,)")
        for name in ("targets", "weights", "delays"):
            if getattr(self, name).shape != (m,):
                raise ValueError(f"{name} must have the shape of sources ({m},)")
        if m and (self.sources.min() < 0 or self.sources.max() >= self.n):
            raise ValueError("sources out of range")
        if m and (self.targets.min() < 0 or self.targets.max() >= self.n):
            raise ValueError("targets out of range")
        if m and self.delays.min() < 1:
            raise ValueError("delays must be >= 1 step")
        if self.t_ref_steps < 0 or self.steps < 0:
            raise ValueError("t_ref_steps and steps must be >= 0")
        if not self.v_reset < self.threshold:
            # NEST requires it, and otherwise a clamped neuron would sit above threshold.
            raise ValueError("v_reset must be below threshold")
        if self.dt_ms <= 0 or self.tau_m_ms <= 0 or self.R <= 0:
            raise ValueError("dt_ms, tau_m_ms and R must be > 0")


def load_network(path: str | os.PathLike[str]) -> Network:
    """Read a network from an .npz file (format in the module docstring)."""
    with np.load(path) as z:
        net = Network(
            n=int(z["n"]),
            dt_ms=float(z["dt_ms"]),
            tau_m_ms=float(z["tau_m_ms"]),
            v_rest=float(z["v_rest"]),
            v_reset=float(z["v_reset"]),
            threshold=float(z["threshold"]),
            t_ref_steps=int(z["t_ref_steps"]),
            R=float(z["R"]),
            steps=int(z["steps"]),
            v0=np.asarray(z["v0"], dtype=np.float64),
            drive=np.asarray(z["drive"], dtype=np.float64),
            sources=np.asarray(z["sources"], dtype=np.int64),
            targets=np.asarray(z["targets"], dtype=np.int64),
            weights=np.asarray(z["weights"], dtype=np.float64),
            delays=np.asarray(z["delays"], dtype=np.int64),
        )
    net.validate()
    return net


def save_network(path: str | os.PathLike[str], net: Network) -> None:
    """Write a network to an .npz file (format in the module docstring)."""
    np.savez(
        path,
        n=net.n,
        dt_ms=net.dt_ms,
        tau_m_ms=net.tau_m_ms,
        v_rest=net.v_rest,
        v_reset=net.v_reset,
        threshold=net.threshold,
        t_ref_steps=net.t_ref_steps,
        R=net.R,
        steps=net.steps,
        v0=net.v0,
        drive=net.drive,
        sources=net.sources,
        targets=net.targets,
        weights=net.weights,
        delays=net.delays,
    )


def save_spikes(path: str | os.PathLike[str], steps: I64, nodes: I64) -> None:
    """Write a spike train to an .npz file with int64 arrays ``steps`` and ``nodes``."""
    np.savez(path, steps=steps.astype(np.int64), nodes=nodes.astype(np.int64))


def _sorted(steps: npt.ArrayLike, nodes: npt.ArrayLike) -> tuple[I64, I64]:
    """Return the spike train as int64 arrays sorted by (step, node)."""
    s = np.asarray(steps, dtype=np.int64)
    i = np.asarray(nodes, dtype=np.int64)
    order = np.lexsort((i, s))
    return s[order], i[order]


def simulate_numpy(net: Network) -> tuple[I64, I64]:
    """The oracle: a literal float64 transcription of the semantics, vectorised over neurons."""
    n = net.n
    a = math.exp(-net.dt_ms / net.tau_m_ms)
    drive_term = net.R * net.drive * (1.0 - a)  # R*I_drive*(1-a), constant per neuron

    # Out-edges grouped by source (CSR) so a spike's fan-out is one contiguous slice.
    order = np.argsort(net.sources, kind="stable")
    e_target = net.targets[order]
    e_weight = net.weights[order]
    e_delay = net.delays[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(net.sources, minlength=n), out=indptr[1:])

    # ring[(t + d) % L] accumulates the input that arrives at step t + d; since 1 <= d < L the
    # slot being read at step t is never written in the same step.
    n_slots = int(net.delays.max()) + 1 if net.delays.size else 1
    ring = np.zeros((n_slots, n), dtype=np.float64)

    v = net.v0.astype(np.float64, copy=True)
    r = np.zeros(n, dtype=np.int64)
    out_steps: list[I64] = []
    out_nodes: list[I64] = []
    for t in range(net.steps):
        slot = t % n_slots
        i_syn = ring[slot].copy()
        ring[slot] = 0.0
        refractory = r > 0
        r[refractory] -= 1
        v_new = net.v_rest + (v - net.v_rest) * a + drive_term + i_syn
        v = np.where(refractory, v, v_new)  # clamped neurons keep v_reset, input discarded
        fired = np.flatnonzero(~refractory & (v >= net.threshold))
        if fired.size == 0:
            continue
        v[fired] = net.v_reset
        r[fired] = net.t_ref_steps
        out_steps.append(np.full(fired.size, t, dtype=np.int64))
        out_nodes.append(fired.astype(np.int64))
        # Fan-out of the spiking neurons: edge indices indptr[s] .. indptr[s+1]-1 for each s.
        starts = indptr[fired]
        counts = indptr[fired + 1] - starts
        total = int(counts.sum())
        if total == 0:
            continue
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
        edges = offsets + np.arange(total, dtype=np.int64)
        np.add.at(ring, ((t + e_delay[edges]) % n_slots, e_target[edges]), e_weight[edges])
    if not out_steps:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _sorted(np.concatenate(out_steps), np.concatenate(out_nodes))


def simulate_nest(net: Network, threads: int = 1) -> tuple[I64, I64]:
    """Simulate with NEST's ``iaf_psc_delta``.

    ``iaf_psc_delta::update`` does, per step: if ``r == 0``: ``y3 = P30*(y0 + I_e) + P33*y3 +
    spikes(lag)`` (y3 = V_m - E_L, P33 = exp(-h/tau_m), P30 = tau_m/C_m*(1 - P33)); else read and
    discard the arriving spikes (``refractory_input = False``) and ``--r``; then if ``y3 >= V_th``:
    ``r = t_ref/h``, ``y3 = V_reset`` and the spike is stamped at the END of the step,
    ``(t + 1)*h``.  A spike emitted in step t with delay d*h is read at step t + d.  That is our
    rule with E_L = v_rest, I_e = drive, C_m = tau_m/R (so tau_m/C_m = R), t_ref = t_ref_steps*h,
    V_min at -DBL_MAX (no lower bound) and our step = round(time/h) - 1.
    """
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest  # only installed in the reference venv

    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": net.dt_ms, "local_num_threads": threads})
    h = nest.GetKernelStatus("resolution")
    if abs(h - net.dt_ms) > 1e-12:
        raise ValueError(f"NEST cannot use dt = {net.dt_ms} ms (it set {h} ms)")
    pop = nest.Create(
        "iaf_psc_delta",
        net.n,
        params={
            "E_L": net.v_rest,
            "tau_m": net.tau_m_ms,
            "C_m": net.tau_m_ms / net.R,
            "V_th": net.threshold,
            "V_reset": net.v_reset,
            "t_ref": net.t_ref_steps * net.dt_ms,
            "V_min": -sys.float_info.max,
            "refractory_input": False,
        },
    )
    pop.set(V_m=net.v0.tolist(), I_e=net.drive.tolist())
    return simulate_nest_population(nest, pop, net)


def simulate_nest_population(nest: Any, pop: Any, net: Network) -> tuple[I64, I64]:
    """Connect the network's edges between the neurons of ``pop`` (NEST node collection, in
    node order), record its spikes, simulate ``net.steps`` steps and return the spikes on our
    step grid, sorted. Shared by the NEST runners of every neuron model."""
    first_id = int(pop[0].global_id)
    if net.sources.size:
        # Arrays of node IDs with one_to_one use NEST's connect_arrays (multapses allowed).
        nest.Connect(
            net.sources + first_id,
            net.targets + first_id,
            conn_spec="one_to_one",
            syn_spec={
                "synapse_model": "static_synapse",
                "weight": net.weights,
                "delay": net.delays.astype(np.float64) * net.dt_ms,
            },
        )
    recorder = nest.Create("spike_recorder")
    nest.Connect(pop, recorder)
    nest.Simulate(net.steps * net.dt_ms)
    events = recorder.get("events")
    t_steps = np.asarray(events["times"], dtype=np.float64) / net.dt_ms
    stamp = np.rint(t_steps)
    if stamp.size and np.max(np.abs(t_steps - stamp)) > 1e-6:
        raise RuntimeError("NEST spike times are off the step grid")
    return _sorted(stamp.astype(np.int64) - 1, np.asarray(events["senders"]) - first_id)


def simulate_brian2(net: Network, target: str = "numpy") -> tuple[I64, I64]:
    """Simulate with Brian2 in runtime mode (``target`` 'numpy' or 'cython'), float64.

    Brian2's default schedule is groups (state update), thresholds, synapses, resets: synaptic
    input arriving at step t would be added after step t's threshold.  We run the synapses
    before the thresholds instead, so the input of step t is added after the exact integration
    of step t and before its threshold, as in our rule.  The pathway then pushes the spikes of
    step t - 1 (the last threshold) at step t, so an edge of d steps gets a Brian delay of
    (d - 1)*dt.  Because v is ``(unless refractory)`` Brian makes every write to v, synaptic
    ones included, conditional on ``not_refractory``: input during refractoriness is dropped.
    Brian's test is ``not_refractory = timestep(t - lastspike) >= timestep(refractory)``, which
    clamps steps lastspike+1 .. lastspike+k-1 for refractory = k*dt, so refractory =
    (t_ref_steps + 1)*dt.  Brian stamps a spike with the start of its step: step = t/dt.
    """
    import brian2 as b2  # only installed in the reference venv

    b2.prefs.codegen.target = target
    b2.prefs.core.default_float_dtype = np.float64
    dt = net.dt_ms * b2.ms
    group = b2.NeuronGroup(
        net.n,
        "dv/dt = (v_rest - v + R*I)/tau : 1 (unless refractory)\nI : 1 (constant)",
        threshold="v >= v_th",
        reset="v = v_reset",
        refractory=(net.t_ref_steps + 1) * dt,
        method="exact",
        dt=dt,
        namespace={
            "v_rest": net.v_rest,
            "R": net.R,
            "tau": net.tau_m_ms * b2.ms,
            "v_th": net.threshold,
            "v_reset": net.v_reset,
        },
    )
    group.v = net.v0
    group.I = net.drive
    monitor = b2.SpikeMonitor(group)
    objects: list[object] = [group, monitor]
    if net.sources.size:
        syn = b2.Synapses(group, group, "w : 1 (constant)", on_pre="v_post += w", dt=dt)
        syn.connect(i=net.sources, j=net.targets)
        syn.w = net.weights
        syn.delay = (net.delays - 1).astype(np.float64) * dt
        objects.append(syn)
    network = b2.Network(*objects)
    network.schedule = ["start", "groups", "synapses", "thresholds", "resets", "end"]
    network.run(net.steps * dt, namespace={})
    t_steps = np.asarray(monitor.t / dt, dtype=np.float64)
    stamp = np.rint(t_steps)
    if stamp.size and np.max(np.abs(t_steps - stamp)) > 1e-6:
        raise RuntimeError("Brian2 spike times are off the step grid")
    return _sorted(stamp.astype(np.int64), np.asarray(monitor.i))


def simulate(
    simulator: str, net: Network, threads: int = 1, brian2_target: str = "numpy"
) -> tuple[I64, I64]:
    """Run ``net`` on the named simulator; returns (steps, nodes) sorted by (step, node)."""
    if simulator == "numpy":
        return simulate_numpy(net)
    if simulator == "nest":
        return simulate_nest(net, threads=threads)
    if simulator == "brian2":
        return simulate_brian2(net, target=brian2_target)
    raise ValueError(f"unknown simulator {simulator!r}; choose from {SIMULATORS}")


def random_network(
    seed: int,
    n: int = 1000,
    in_degree: int = 50,
    max_delay: int = 5,
    steps: int = 2000,
    **params: float,
) -> Network:
    """A random test network: fixed in-degree, delays 1..max_delay, weights k/64 (exact sums).

    Drives are spread around the threshold so some neurons fire on their own and the rest only
    through the recurrent input; v0 is uniform between v_rest and threshold.
    """
    rng = np.random.default_rng(seed)
    base = {
        "dt_ms": 0.1,
        "tau_m_ms": 20.0,
        "v_rest": 0.0,
        "v_reset": 10.0,
        "threshold": 20.0,
        "t_ref_steps": 20,
        "R": 1.0,
    }
    base.update(params)
    v_rest, thr, r_m = base["v_rest"], base["threshold"], base["R"]
    # Asymptotic potential v_rest + R*drive spans v_rest + 0.7..1.3 x (threshold - v_rest).
    drive = (thr - v_rest) * rng.uniform(0.7, 1.3, n) / r_m
    m = n * in_degree
    return Network(
        n=n,
        dt_ms=base["dt_ms"],
        tau_m_ms=base["tau_m_ms"],
        v_rest=v_rest,
        v_reset=base["v_reset"],
        threshold=thr,
        t_ref_steps=int(base["t_ref_steps"]),
        R=r_m,
        steps=steps,
        v0=rng.uniform(v_rest, thr, n),
        drive=drive,
        sources=rng.integers(0, n, m).astype(np.int64),
        targets=np.repeat(np.arange(n, dtype=np.int64), in_degree),
        weights=rng.integers(-40, 33, m).astype(np.float64) / 64.0,
        delays=rng.integers(1, max_delay + 1, m).astype(np.int64),
    )


def _first_difference(a: tuple[I64, I64], b: tuple[I64, I64]) -> str:
    """Describe where two spike trains first differ."""
    n = min(a[0].size, b[0].size)
    for k in range(n):
        if a[0][k] != b[0][k] or a[1][k] != b[1][k]:
            return f"index {k}: ({a[0][k]}, {a[1][k]}) vs ({b[0][k]}, {b[1][k]})"
    return f"lengths {a[0].size} vs {b[0].size}"


def selftest(brian2_target: str = "numpy", threads: int = 1) -> bool:
    """Check that numpy, NEST and Brian2 give identical spike trains; print the counts."""
    cases: list[tuple[str, Network]] = []
    main = random_network(seed=1)
    cases.append(("1000 neurons, K=50, delays 1..5, t_ref 20 steps", main))
    cases.append(
        (
            "t_ref 0 steps, delays 1..2",
            random_network(seed=2, n=300, in_degree=20, max_delay=2, steps=1500, t_ref_steps=0),
        )
    )
    cases.append(
        (
            "t_ref 1 step, v_rest -5, R 2, tau 10 ms, dt 0.25 ms",
            random_network(
                seed=3,
                n=300,
                in_degree=30,
                max_delay=3,
                steps=1500,
                t_ref_steps=1,
                v_rest=-5.0,
                v_reset=2.0,
                threshold=15.0,
                R=2.0,
                tau_m_ms=10.0,
                dt_ms=0.25,
            ),
        )
    )
    # A case without any edge (no spikes delivered) must work too.
    empty = np.zeros(0, dtype=np.int64)
    cases.append(
        (
            "no edges",
            replace(
                random_network(seed=4, n=50, in_degree=1, steps=500),
                sources=empty,
                targets=empty,
                weights=np.zeros(0),
                delays=empty,
            ),
        )
    )
    ok = True
    for label, net in cases:
        net.validate()
        results: dict[str, tuple[I64, I64]] = {}
        line = [f"{label}: {net.n} neurons, {net.sources.size} edges, {net.steps} steps;"]
        for sim in SIMULATORS:
            t0 = time.perf_counter()
            results[sim] = simulate(sim, net, threads=threads, brian2_target=brian2_target)
            line.append(f"{sim} {results[sim][0].size} spikes ({time.perf_counter() - t0:.1f} s)")
        ref = results["numpy"]
        last = int(np.count_nonzero(ref[0] == net.steps - 1))
        line.append(f"[{last} at the last step]")
        for sim in ("nest", "brian2"):
            same = bool(np.array_equal(ref[0], results[sim][0])) and bool(
                np.array_equal(ref[1], results[sim][1])
            )
            if not same:
                ok = False
                line.append(f"MISMATCH {sim}: {_first_difference(ref, results[sim])}")
        if ref[0].size == 0:
            ok = False
            line.append("FAIL: no spikes, the test is vacuous")
        print(" ".join(line), flush=True)
    print("selftest", "PASSED: identical spike trains" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--simulator", choices=SIMULATORS)
    p.add_argument("--network", type=Path, help="input network (.npz)")
    p.add_argument("--out", type=Path, help="output spike train (.npz)")
    p.add_argument("--threads", type=int, default=1, help="NEST threads (default 1)")
    p.add_argument(
        "--brian2-target",
        choices=("numpy", "cython"),
        default="numpy",
        help="Brian2 runtime code generation target (default numpy: no compiler needed)",
    )
    p.add_argument("--selftest", action="store_true", help="compare all simulators and exit")
    args = p.parse_args(argv)
    if args.selftest:
        return 0 if selftest(brian2_target=args.brian2_target, threads=args.threads) else 1
    if args.simulator is None or args.network is None or args.out is None:
        p.error("--simulator, --network and --out are required (or --selftest)")
    net = load_network(args.network)
    steps, nodes = simulate(
        args.simulator, net, threads=args.threads, brian2_target=args.brian2_target
    )
    save_spikes(args.out, steps, nodes)
    print(f"{args.simulator}: {steps.size} spikes in {net.steps} steps -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
