"""Self-check of B2's plasticity in benchmarks/reference_b1.py (NEST 3.10, Brian2 2.9).

Run with the python of the reference venv (``bash .ci/setup_reference.sh`` creates it)::

    .venv-ref/bin/python benchmarks/reference_stdp_check.py

Takes about ten seconds on one core.  Three checks, each against a plain replay of the rule
(w += A_plus x_pre at a postsynaptic spike, w -= A_minus x_post at a presynaptic one, traces
+1 per spike with tau 20 ms, w clipped to [0, w_max]):

1. pair: forced pre- and postsynaptic trains (20 Hz each, 3 s) through one synapse declared as
   the benchmark declares it.  NEST's stdp_synapse pairs t_pre with t_post + delay (the delay
   is dendritic) and applies a facilitation only when the next presynaptic spike comes;
   Brian2's synapse, with the delay on its on_pre pathway, pairs t_pre + delay with t_post.
   The trains sit on a 0.2 ms grid, so no pair ties under a 1.5 ms shift.
2. owed: the facilitation reference_b1.py adds to NEST's weights (_stdp_owed_facilitation)
   makes the pair's NEST weight equal to the non-lazy replay.
3. network: B2 in NEST at N = 1,000 (--n), all spikes recorded; the corrected weights of
   20,000 sampled E->E synapses equal the replay of NEST's rule on the recorded spikes, and
   the raw ones do not (they lack the owed facilitation).

Exit status 0 when all pass.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import reference_b1 as ref  # run as a script: this file's folder is on sys.path

P = ref.B1(workload="b2")
TOL = 1e-12


def replay(pre: np.ndarray, post: np.ndarray, shift: float, unit_ms: float = 1.0) -> float:
    """The weight (from J) after pairing presynaptic spikes at t_pre with postsynaptic ones at
    t_post + shift (times and shift in units of unit_ms).

    Equal times (the network check, in integer steps): the postsynaptic spike is paired as
    coming first for facilitation and is left out of the depression (NEST's strict inequalities).
    """
    events = sorted([(t + shift, 0) for t in post] + [(t, 1) for t in pre])
    w, x_pre, x_post, last = P.j, 0.0, 0.0, 0.0
    for k, (t, kind) in enumerate(events):
        decay = np.exp(-(t - last) * unit_ms / P.tau_plus_ms)
        x_pre, x_post, last = x_pre * decay, x_post * decay, t
        if kind == 1:
            tied = sum(1 for tt, kk in events[:k] if tt == t and kk == 0)
            w = min(max(w - P.a_minus * (x_post - tied), 0.0), P.w_max)
            x_pre += 1.0
        else:
            w = min(max(w + P.a_plus * x_pre, 0.0), P.w_max)
            x_post += 1.0
    return w


def trains(seed: int = 3, rate_hz: float = 20.0, t_ms: float = 3000.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    grid = np.arange(50, round(t_ms / 0.2) - 50) * 0.2  # whole multiples of 0.2 ms
    n = round(rate_hz * t_ms / 1000.0)
    pre, post = (np.round(np.sort(rng.choice(grid, size=n, replace=False)), 1) for _ in range(2))
    return pre, post


def nest_pair(pre: np.ndarray, post: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """One B2 stdp_synapse between two parrot neurons; returns (raw w, corrected w, spikes)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.resolution = P.dt_ms
    nest.CopyModel("stdp_synapse", "b2_stdp_synapse", ref.nest_stdp_params(P))
    gens = nest.Create("spike_generator", 2, params=[{"spike_times": pre}, {"spike_times": post}])
    parrots = nest.Create("parrot_neuron", 2, params={"tau_minus": P.tau_minus_ms})
    nest.Connect(gens, parrots, "one_to_one", {"delay": P.delay_ms})
    # receptor 1: the parrot does not repeat these spikes (NEST's own STDP tests do this)
    nest.Connect(
        parrots[0],
        parrots[1],
        syn_spec={"synapse_model": "b2_stdp_synapse", "weight": P.j, "delay": P.delay_ms, "receptor_type": 1},
    )
    rec = nest.Create("spike_recorder")
    nest.Connect(parrots, rec, syn_spec={"delay": P.delay_ms})
    nest.Simulate(float(max(pre.max(), post.max())) + 100.0)
    conn = nest.GetConnections(synapse_model="b2_stdp_synapse")
    w_raw = float(conn.get("weight"))
    h = P.dt_ms
    senders = np.asarray(rec.events["senders"], dtype=np.int64) - parrots[0].global_id
    steps = np.rint(np.asarray(rec.events["times"]) / h).astype(np.int64)
    end = round(nest.biological_time / h)
    md = round(nest.min_delay / h)
    owed, _ = ref._stdp_owed_facilitation(
        P, np.array([0]), np.array([1]), senders, steps, (end - 1) // md * md, end
    )
    times = steps * h
    return w_raw, min(w_raw + float(owed[0]), P.w_max), times[senders == 0], times[senders == 1]


def brian2_pair(pre: np.ndarray, post: np.ndarray) -> float:
    """The benchmark's Brian2 STDP synapse between two spike generators (delay on on_pre)."""
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    dt = P.dt_ms * b2.ms
    a = b2.SpikeGeneratorGroup(1, np.zeros(pre.size, dtype=int), pre * b2.ms, dt=dt)
    b = b2.SpikeGeneratorGroup(1, np.zeros(post.size, dtype=int), post * b2.ms, dt=dt)
    syn = ref.brian2_stdp_synapses(P, b2, a, b, P.delay_ms * b2.ms, dt, deliver=False)
    syn.connect(i=0, j=0)
    syn.w = P.j
    b2.Network(a, b, syn).run((float(max(pre.max(), post.max())) + 100.0) * b2.ms)
    return float(syn.w[0])


def network_check(n: int) -> tuple[float, float, float]:
    """B2 in NEST at N = n; returns (max |corrected - replay|, max |raw - replay|, mean)."""
    import nest

    args = argparse.Namespace(warmup_ms=100.0, duration_ms=200.0, repeats=2)
    p = ref.B1(workload="b2", n=n)
    spikes: list[np.ndarray] = []
    res = ref.run_nest(p, 1, args, spikes_out=spikes)
    senders, steps = (a.astype(np.int64) for a in spikes)
    h, d = p.dt_ms, p.delay_steps
    first = 1  # the neurons are the first nodes created
    got = nest.GetConnections(synapse_model="b2_stdp_synapse").get(["source", "target", "weight"])
    src = np.asarray(got["source"], dtype=np.int64) - first
    tgt = np.asarray(got["target"], dtype=np.int64) - first
    w = np.asarray(got["weight"])
    end = round(nest.biological_time / h)
    md = round(nest.min_delay / h)
    cut = (end - 1) // md * md
    owed, _ = ref._stdp_owed_facilitation(p, src, tgt, senders, steps, cut, end)
    corrected = np.minimum(w + owed, p.w_max)
    if abs(float(corrected.mean()) - (res.mean_plastic_weight or 0.0)) > TOL:
        raise RuntimeError("run_nest's mean_plastic_weight differs from this check's")
    order = np.lexsort((steps, senders))
    ids, starts, counts = np.unique(senders[order], return_index=True, return_counts=True)
    spikes = {int(i): steps[order][a : a + c] for i, a, c in zip(ids, starts, counts)}
    empty = np.zeros(0, dtype=np.int64)
    sample = np.random.default_rng(0).choice(src.size, size=min(src.size, 20_000), replace=False)
    want = np.array(
        [
            replay(
                (pre := spikes.get(int(src[k]), empty))[pre <= cut],
                (post := spikes.get(int(tgt[k]), empty))[post <= end - d],
                d,
                h,
            )
            for k in sample
        ]
    )
    return (
        float(np.max(np.abs(corrected[sample] - want))),
        float(np.max(np.abs(w[sample] - want))),
        float(corrected.mean()),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="network size of check 3")
    args = ap.parse_args(argv)
    d = P.delay_ms
    pre, post = trains()
    rows: list[tuple[str, float, float]] = []
    w_raw, w_corr, pre_n, post_n = nest_pair(pre, post)
    lazy = post_n[post_n + d <= pre_n.max() + 1e-9]
    rows.append(("pair: NEST raw = lazy replay, post + delay", w_raw, replay(pre_n, lazy, d)))
    rows.append(("owed: NEST corrected = replay, post + delay", w_corr, replay(pre_n, post_n, d)))
    rows.append(("pair: Brian2 = replay, pre + delay", brian2_pair(pre, post), replay(pre, post, -d)))
    ok = True
    print(f"start weight {P.j}; {pre.size} pre, {post.size} post spikes")
    for name, got, want in rows:
        good = abs(got - want) <= TOL
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {name:46s} {got:.12f} vs {want:.12f}")
    print(f"     (pairing at emission, as spikegraph: {replay(pre, post, 0.0):.12f})")
    err_corr, err_raw, mean = network_check(args.n)
    good = err_corr <= TOL and err_raw > 1e-6
    ok &= good
    print(
        f"{'ok  ' if good else 'FAIL'} network N={args.n}: max |corrected - replay| {err_corr:.2g}, "
        f"max |raw - replay| {err_raw:.2g}, corrected mean {mean:.6f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
