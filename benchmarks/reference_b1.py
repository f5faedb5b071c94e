"""Benchmarks B1 (lif-static) and B2 (lif-stdp) in NEST and Brian2, for the comparison with spikegraph.

Run with the python of the reference venv (``bash .ci/setup_reference.sh`` creates it)::

    .venv-ref/bin/python benchmarks/reference_b1.py --simulator nest --threads 2 \
        --n 50000 --k 100 --duration-ms 1000 --repeats 5 --json b1_nest.json
    .venv-ref/bin/python benchmarks/reference_b1.py --workload b2 --simulator brian2-standalone \
        --threads 2 --duration-ms 1000 --repeats 5 --json b2_brian2_standalone.json

B1 as docs/performance.md defines it: N LIF neurons with delta synapses, the first 80%
excitatory, fixed in-degree K (0.8 K from the excitatory and 0.2 K from the inhibitory
population, as in Brunel's network; autapses and multapses allowed), J = 0.1, g = 5
(inhibitory weight -0.5), delay 1.5 ms, tau_m 20 ms, threshold 20, reset 10, t_ref 2 ms,
rest 0, an independent Poisson drive per neuron at 10 kHz with weight J, v0 ~ U(0, 20),
dt = 0.1 ms.  The neuron semantics are spikegraph's (see tests_py/reference/lif_reference.py,
whose self-test checks that NEST and Brian2 configured this way give identical spike trains).

B2 (--workload b2) is B1 plus pair-based additive STDP with all-to-all traces on the
excitatory-to-excitatory synapses only (0.8 N x 0.8 K of them: 3.2 M of the 5 M at N = 50,000,
K = 100); inhibitory and external synapses, and excitatory ones onto inhibitory neurons, stay
static.  Traces x_pre, x_post jump by 1 at each spike and decay with tau_plus = tau_minus = 20 ms;
on a postsynaptic spike w += A_plus x_pre, on a presynaptic spike w -= A_minus x_post, with
A_plus = 0.01 w_max, A_minus = 0.0105 w_max, w clipped to [0, w_max], w_max = 2 J = 0.2 (the
initial weight is J).  NEST: stdp_synapse (lambda 0.01, alpha 1.05, mu_plus = mu_minus = 0,
Wmax 0.2, the neuron's tau_minus 20 ms); Brian2: a Synapses object with event-driven traces
apre/apost.  Pairing time: spikegraph pairs the emission steps of the pre- and postsynaptic
spikes (docs/model.md, step 5); NEST treats the whole 1.5 ms delay as dendritic and pairs t_pre with
t_post + delay; Brian2 here pairs at arrival, t_pre + delay with t_post (the on_pre pathway
carries the delay).  Windows 1.5 ms apart do not matter for a timing benchmark.
reference_stdp_check.py checks both simulators against a replay of the rule.

Learning is reported as mean_plastic_weight (and std_plastic_weight), the E->E weights after
the timed runs; NEST's include the facilitation that stdp_synapse applies only at a synapse's
next presynaptic spike (see _nest_mean_plastic_weight).  The mean drifts little, because the
uncorrelated depression (A_minus > A_plus) and the potentiation by spike correlations nearly
cancel, and how little depends on the pairing window: at N = 50,000 after 3.1 s of model time
it fell by 2.6e-4 in NEST and by 6e-6 in Brian2, while the spread grew alike (sd 6.6e-3 and
6.7e-3).  So compare the sign of the change with care and the spread with confidence.
mean_rate_hz and its 10% regime check are as in B1.

Protocol: build, one warm-up run of --warmup-ms (NEST's first Simulate prepares its connection
tables, Brian2 runtime compiles or loads its cython code), then --repeats timed runs of
--duration-ms each, continuing the same network.  ms/step is the median over the repeats of the
wall time; cpu_ms_per_step the median of the process CPU time (all threads), which with one
thread is the figure least disturbed by other work on a shared machine.  Brian2 cpp_standalone
runs as a separate program; see :func:`run_brian2_standalone` for how its times are taken.  The
default duration (200 ms, 2,000 steps) is for quick checks; B1 and B2 proper are
--duration-ms 1000.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SIMULATORS = ("nest", "brian2-runtime", "brian2-standalone")


WORKLOADS = ("b1", "b2")


@dataclass(frozen=True)
class B1:
    """B1's parameters (times in ms), and B2's learning parameters (used when workload == "b2")."""

    workload: str = "b1"
    n: int = 50_000
    k: int = 100
    j: float = 0.1
    g: float = 5.0
    delay_ms: float = 1.5
    tau_m_ms: float = 20.0
    threshold: float = 20.0
    v_reset: float = 10.0
    v_rest: float = 0.0
    t_ref_ms: float = 2.0
    nu_ext_hz: float = 10_000.0
    dt_ms: float = 0.1
    seed: int = 12345
    # B2: pair-based additive STDP on E->E synapses
    tau_plus_ms: float = 20.0
    tau_minus_ms: float = 20.0
    a_plus_rel: float = 0.01  # relative to w_max (NEST's lambda)
    a_minus_rel: float = 0.0105  # relative to w_max (NEST's alpha * lambda)
    w_max_rel: float = 2.0  # w_max in units of J

    @property
    def plastic(self) -> bool:
        return self.workload == "b2"

    @property
    def w_max(self) -> float:
        return self.w_max_rel * self.j

    @property
    def a_plus(self) -> float:
        return self.a_plus_rel * self.w_max

    @property
    def a_minus(self) -> float:
        return self.a_minus_rel * self.w_max

    @property
    def n_exc(self) -> int:
        return round(0.8 * self.n)

    @property
    def n_plastic(self) -> int:
        """Number of plastic (E->E) synapses: 0.8 K excitatory inputs to each excitatory neuron."""
        return self.n_exc * self.k_exc if self.plastic else 0

    @property
    def k_exc(self) -> int:
        return round(0.8 * self.k)

    @property
    def k_inh(self) -> int:
        return self.k - self.k_exc

    @property
    def delay_steps(self) -> int:
        return round(self.delay_ms / self.dt_ms)

    @property
    def t_ref_steps(self) -> int:
        return round(self.t_ref_ms / self.dt_ms)


@dataclass
class Result:
    """What one benchmark invocation reports (times in s unless the name says otherwise)."""

    workload: str
    simulator: str
    version: str
    threads: int
    n: int
    k: int
    n_synapses: int
    n_plastic: int
    dt_ms: float
    duration_ms: float
    warmup_ms: float
    steps_per_run: int
    repeats: int
    build_s: float = 0.0
    compile_s: float | None = None
    warmup_s: float = 0.0
    sim_s: list[float] = field(default_factory=list)
    # CPU time (all threads) of each timed run: with 1 thread, a figure that another process on
    # the machine disturbs far less than the wall time (it still shares caches and memory)
    cpu_s: list[float] = field(default_factory=list)
    ms_per_step: float = 0.0  # median over the repeats
    ms_per_step_min: float = 0.0
    cpu_ms_per_step: float = 0.0  # median over the repeats, CPU time of all threads
    mean_rate_hz: float = 0.0  # over the timed runs
    node_updates_per_s: float = 0.0
    syn_events_per_s: float = 0.0  # spikes x mean fan-out (K) per second of wall time
    peak_rss_mb: float = 0.0
    rss_bytes_per_synapse: float = 0.0  # peak RSS / synapses: an upper bound, interpreter incl.
    # B2: mean E->E weight at the end (initially J), and the model time it has learned for then
    # (warm-up + all timed runs; brian2-standalone: warm-up + one timed run, see its runner).
    initial_plastic_weight: float | None = None
    mean_plastic_weight: float | None = None
    std_plastic_weight: float | None = None  # grows like a random walk: learning is happening
    mean_plastic_weight_raw: float | None = None  # NEST: as GetConnections reports it
    plastic_model_ms: float | None = None
    notes: str = ""
    machine: dict[str, Any] = field(default_factory=dict)

    def finish(self, spikes_timed: int) -> None:
        """Derive the summary figures from sim_s and the spike count of the timed runs.

        Throughputs use the median step time, like ms_per_step, so one slow repeat on a noisy
        machine does not skew them.
        """
        per_step = [1e3 * s / self.steps_per_run for s in self.sim_s]
        self.ms_per_step = statistics.median(per_step)
        self.ms_per_step_min = min(per_step)
        if self.cpu_s:
            self.cpu_ms_per_step = statistics.median(1e3 * s / self.steps_per_run for s in self.cpu_s)
        steps = self.repeats * self.steps_per_run
        self.mean_rate_hz = spikes_timed / (self.n * steps * self.dt_ms * 1e-3)
        step_s = self.ms_per_step * 1e-3
        self.node_updates_per_s = self.n / step_s
        self.syn_events_per_s = spikes_timed / steps * self.k / step_s
        if self.n_synapses:
            self.rss_bytes_per_synapse = self.peak_rss_mb * 2**20 / self.n_synapses

    def line(self) -> str:
        """One human-readable summary line."""
        compile_s = f", compile {self.compile_s:.1f} s" if self.compile_s is not None else ""
        learned = ""
        if self.mean_plastic_weight is not None:
            change = self.mean_plastic_weight - (self.initial_plastic_weight or 0.0)
            learned = (
                f", mean E->E weight {self.mean_plastic_weight:.6f} ({change:+.2e}, sd "
                f"{self.std_plastic_weight or 0.0:.2e}) after {self.plastic_model_ms:.0f} ms"
            )
        return (
            f"{self.workload.upper()} {self.simulator} threads={self.threads} N={self.n} K={self.k}: "
            f"build {self.build_s:.2f} s{compile_s}, {self.ms_per_step:.3f} ms/step "
            f"(median of {self.repeats} x {self.steps_per_run} steps, min "
            f"{self.ms_per_step_min:.3f}; cpu {self.cpu_ms_per_step:.3f}), {self.mean_rate_hz:.2f} Hz, "
            f"{self.syn_events_per_s / 1e6:.1f} M syn events/s, "
            f"peak RSS {self.peak_rss_mb:.0f} MB{learned}"
        )


def _self_peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _new_result(sim: str, version: str, p: B1, threads: int, args: argparse.Namespace) -> Result:
    return Result(
        workload=p.workload,
        simulator=sim,
        version=version,
        threads=threads,
        n=p.n,
        k=p.k,
        n_synapses=p.n * p.k,
        n_plastic=p.n_plastic,
        initial_plastic_weight=p.j if p.plastic else None,
        dt_ms=p.dt_ms,
        duration_ms=args.duration_ms,
        warmup_ms=args.warmup_ms,
        steps_per_run=round(args.duration_ms / p.dt_ms),
        repeats=args.repeats,
        machine=_machine(),
    )


def run_nest(
    p: B1, threads: int, args: argparse.Namespace, spikes_out: list[np.ndarray] | None = None
) -> Result:
    """B1/B2 with iaf_psc_delta (B2: stdp_synapse E->E); wall clock around each nest.Simulate call.

    B2 keeps every spike (neuron index, time stamp in steps; int32 each) for the mean plastic
    weight, and extends spikes_out, when given, with those two arrays.
    """
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest  # only installed in the reference venv

    res = _new_result("nest", nest.__version__, p, threads, args)
    t0 = time.perf_counter()
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": p.dt_ms, "local_num_threads": threads, "rng_seed": p.seed})
    # B2: the postsynaptic trace's time constant is a neuron parameter in NEST.
    stdp_neuron = {"tau_minus": p.tau_minus_ms} if p.plastic else {}
    nodes = nest.Create(
        "iaf_psc_delta",
        p.n,
        params={
            **stdp_neuron,
            "E_L": p.v_rest,
            "tau_m": p.tau_m_ms,
            "C_m": p.tau_m_ms,  # R = tau_m/C_m = 1 (only matters for I_e, which is 0)
            "V_th": p.threshold,
            "V_reset": p.v_reset,
            "t_ref": p.t_ref_ms,  # NEST clamps t_ref/h steps after the spike step, as we do
            "V_min": -sys.float_info.max,
            "refractory_input": False,
            "I_e": 0.0,
        },
    )
    nodes.V_m = nest.random.uniform(p.v_rest, p.threshold)
    # poisson_generator sends an independent train to each target.  Its delay only shifts the
    # (stationary) drive; giving it the network's 1.5 ms keeps NEST's min_delay (its
    # communication interval) at 1.5 ms, as in NEST's own Brunel example.
    noise = nest.Create("poisson_generator", params={"rate": p.nu_ext_hz})
    nest.Connect(noise, nodes, syn_spec={"weight": p.j, "delay": p.delay_ms})
    exc, inh = nodes[: p.n_exc], nodes[p.n_exc :]
    # (pre, post, in-degree, synapse model, weight)
    pathways = [
        (exc, nodes, p.k_exc, "static_synapse", p.j),
        (inh, nodes, p.k_inh, "static_synapse", -p.g * p.j),
    ]
    if p.plastic:
        # B2: E->E through stdp_synapse, E->I static; same in-degrees as B1.  NEST treats the
        # whole 1.5 ms delay as dendritic: it pairs t_pre with t_post + delay, where spikegraph
        # pairs the emission steps t_pre and t_post, a 1.5 ms shift that does not matter for a
        # timing benchmark.
        nest.CopyModel("stdp_synapse", "b2_stdp_synapse", nest_stdp_params(p))
        pathways[0:1] = [
            (exc, exc, p.k_exc, "b2_stdp_synapse", p.j),
            (exc, inh, p.k_exc, "static_synapse", p.j),
        ]
    for pre, post, k, model, w in pathways:
        nest.Connect(
            pre,
            post,
            {
                "rule": "fixed_indegree",
                "indegree": k,
                "allow_autapses": True,
                "allow_multapses": True,
            },
            {"synapse_model": model, "weight": w, "delay": p.delay_ms},
        )
    recorder = nest.Create("spike_recorder")
    # Recorder delay = network delay: a device connection counts towards min_delay too (with the
    # default 1 ms, NEST would exchange spikes every 1 ms instead of every 1.5 ms).
    nest.Connect(nodes, recorder, syn_spec={"delay": p.delay_ms})
    res.build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    nest.Simulate(args.warmup_ms)
    res.warmup_s = time.perf_counter() - t0
    spikes = 0
    kept: list[tuple[np.ndarray, np.ndarray]] = []  # B2: every spike, compact, between the runs

    def keep() -> None:
        if p.plastic:
            events = recorder.events
            senders = np.asarray(events["senders"], dtype=np.int64) - nodes[0].global_id
            steps = np.rint(np.asarray(events["times"]) / p.dt_ms)
            kept.append((senders.astype(np.int32), steps.astype(np.int32)))

    for _ in range(args.repeats):
        keep()
        recorder.n_events = 0  # clears the recorded events
        c0, t0 = time.process_time(), time.perf_counter()
        nest.Simulate(args.duration_ms)
        res.sim_s.append(time.perf_counter() - t0)
        res.cpu_s.append(time.process_time() - c0)
        spikes += int(recorder.n_events)
    keep()
    res.peak_rss_mb = _self_peak_rss_mb()  # before reading the weights, which copies them
    res.notes = "wall time of each nest.Simulate call; peak RSS of this process"
    if p.plastic:
        senders, steps = (np.concatenate(a) for a in zip(*kept))
        if spikes_out is not None:
            spikes_out += [senders, steps]
        _nest_mean_plastic_weight(nest, p, res, nodes, senders, steps, args)
    res.finish(spikes)
    return res


def nest_stdp_params(p: B1) -> dict[str, float]:
    """B2's rule as stdp_synapse parameters (mu_plus = mu_minus = 0: additive).

    Facilitation w += lambda Wmax K_plus, depression w -= alpha lambda Wmax K_minus, w clipped to
    [0, Wmax]; all-to-all traces.  K_minus's time constant is the neuron's tau_minus.
    """
    return {
        "tau_plus": p.tau_plus_ms,
        "lambda": p.a_plus_rel,
        "alpha": p.a_minus_rel / p.a_plus_rel,
        "mu_plus": 0.0,
        "mu_minus": 0.0,
        "Wmax": p.w_max,
    }


def _nest_mean_plastic_weight(
    nest: Any,
    p: B1,
    res: Result,
    nodes: Any,
    senders: np.ndarray,
    steps: np.ndarray,
    args: argparse.Namespace,
) -> None:
    """Mean E->E weight at the end of NEST's run, with the facilitation NEST still owes.

    stdp_synapse updates a weight only when a presynaptic spike is delivered: it then first
    applies the facilitation of the postsynaptic spikes since the previous one.  So the weights
    that GetConnections reports lack, for every synapse, the facilitation of the postsynaptic
    spikes since its last presynaptic spike: A_plus r tau_plus (about +6e-4 = 0.6% of J at 15 Hz)
    on average, ten times B2's whole drift over a second.  We add it from the recorded spikes
    (senders, steps: every spike since t = 0), which makes NEST's figure comparable with
    Brian2's, whose weights are always up to date.  (NEST's pairing: a
    presynaptic spike emitted at t_pre meets the postsynaptic spikes as t_post + delay, all of
    the delay being dendritic, i.e. the pairing window is shifted by one delay.)

    Spikes are delivered at the start of each min_delay slice, the slices being aligned to
    multiples of min_delay from t = 0 whatever the Simulate calls, so the synapses have seen
    the presynaptic spikes stamped up to the last slice boundary before the current time (found
    by probing NEST 3.10; the K_plus trace each synapse reports checks it).  The raw mean goes
    to mean_plastic_weight_raw.
    """
    h = p.dt_ms
    conns = nest.GetConnections(synapse_model="b2_stdp_synapse")
    got = conns.get(["source", "target", "weight", "Kplus"])
    first = nodes[0].global_id
    src = np.asarray(got["source"], dtype=np.int64) - first
    tgt = np.asarray(got["target"], dtype=np.int64) - first
    weights = np.asarray(got["weight"], dtype=np.float64)
    if weights.size != p.n_plastic:
        raise RuntimeError(f"{weights.size} stdp synapses, expected {p.n_plastic}")
    res.mean_plastic_weight_raw = float(weights.mean())
    res.plastic_model_ms = args.warmup_ms + args.repeats * args.duration_ms
    md = round(nest.min_delay / h)
    end = round(nest.biological_time / h)
    owed, kplus = _stdp_owed_facilitation(
        p, src, tgt, senders.astype(np.int64), steps.astype(np.int64), (end - 1) // md * md, end
    )
    mismatch = float(np.max(np.abs(kplus - np.asarray(got["Kplus"], dtype=np.float64)), initial=0.0))
    if mismatch > 1e-6:
        msg = f"K_plus from the recorded spikes differs from NEST's by {mismatch:.2g}"
        print(f"warning: {msg}; reporting NEST's raw mean weight", file=sys.stderr)
        res.mean_plastic_weight = res.mean_plastic_weight_raw
        res.std_plastic_weight = float(np.std(weights))
        res.notes += f"; {msg}: mean_plastic_weight is NEST's raw mean"
        return
    corrected = np.minimum(weights + owed, p.w_max)
    res.mean_plastic_weight = float(np.mean(corrected))
    res.std_plastic_weight = float(np.std(corrected))
    res.notes += "; mean_plastic_weight includes the facilitation stdp_synapse owes (see the code)"


def _stdp_owed_facilitation(
    p: B1,
    src: np.ndarray,
    tgt: np.ndarray,
    sender: np.ndarray,
    step: np.ndarray,
    delivered: int,
    end: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The facilitation NEST's stdp_synapse owes each synapse src -> tgt, and its K_plus.

    sender, step: every spike since t = 0 (neuron index, time stamp in steps); delivered: the
    synapses have seen the presynaptic spikes stamped up to this step; end: the current step.
    Synapse i -> j last saw i's spike at t_i, with trace K_i = sum over i's spikes t <= t_i of
    exp(-(t_i - t)/tau_plus); it owes A_plus K_i exp(-(t + d - t_i)/tau_plus) for every spike t
    of j with t_i - d < t <= end - d (stdp_synapse::send, d the dendritic delay).  Clipping at
    w_max is the caller's (facilitation only adds, so clipping the sum is exact).
    """
    h, d, n = p.dt_ms, p.delay_steps, p.n
    order = np.lexsort((step, sender))
    sender, step = sender[order], step[order]
    seen = step <= delivered
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, sender[seen], step[seen])
    decay = np.exp(-(last[sender[seen]] - step[seen]) * h / p.tau_plus_ms)
    kplus = np.bincount(sender[seen], weights=decay, minlength=n)
    # Spikes keyed by (neuron, step), ascending: the spikes of j in (a, b] are keys[lo:hi].
    stride = max(int(step.max(initial=0)), end) + 2 * d + 2
    keys = sender * stride + step + d + 1
    t_i = last[src]
    lo = np.searchsorted(keys, tgt * stride + t_i + 1, side="right")  # t > t_i - d
    hi = np.searchsorted(keys, tgt * stride + end + 1, side="right")  # t <= end - d
    hi = np.where(t_i >= 0, hi, lo)  # no presynaptic spike seen yet: nothing owed
    acc = np.zeros(src.size)
    idx = np.flatnonzero(lo < hi)
    while idx.size:  # one pass per owed postsynaptic spike (a handful)
        acc[idx] += np.exp(-(step[lo[idx]] + d - t_i[idx]) * h / p.tau_plus_ms)
        lo[idx] += 1
        idx = idx[lo[idx] < hi[idx]]
    return p.a_plus * kplus[src] * acc, kplus[src]


def _build_brian2(p: B1, b2: Any, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    """Declare B1 or B2 in Brian2; returns (network, spike monitor, plastic E->E synapses or None).

    Translation to spikegraph's step (checked by lif_reference.py's self-test): the schedule runs
    synapses (and the Poisson drive) after the state update and before the threshold, so the
    input of step t counts at step t; a spike of step t is pushed at step t+1, hence the Brian
    delay is (delay_steps - 1)*dt; v is (unless refractory), which also drops synaptic and
    Poisson writes during refractoriness; Brian clamps steps lastspike+1 .. lastspike+m-1 for
    refractory = m*dt, hence refractory = t_ref + dt.
    """
    dt = p.dt_ms * b2.ms
    group = b2.NeuronGroup(
        p.n,
        "dv/dt = (v_rest - v)/tau : 1 (unless refractory)",
        threshold="v >= theta",
        reset="v = v_reset",
        refractory=(p.t_ref_steps + 1) * dt,
        method="exact",
        dt=dt,
        namespace={
            "v_rest": p.v_rest,
            "tau": p.tau_m_ms * b2.ms,
            "theta": p.threshold,
            "v_reset": p.v_reset,
        },
    )
    group.v = rng.uniform(p.v_rest, p.threshold, p.n)  # an array: no code to generate
    # Independent Poisson drive per neuron, weight J, total rate nu_ext, added in the synapses
    # slot like the recurrent input.  Brian's idiom is PoissonInput: N inputs at nu_ext/N, i.e.
    # a Binomial(N, nu_ext*dt/N) count per neuron and step; N = 10,000 makes it Poisson(1) to
    # 1e-4 (variance 0.9999).  (N = 1 would draw Binomial(1, 1), a constant.)  It measured
    # ~25% faster than "v += J*poisson(nu_ext*dt)" in run_regularly, in both runtime targets.
    n_inputs = 10_000
    drive = b2.PoissonInput(group, "v", N=n_inputs, rate=p.nu_ext_hz / n_inputs * b2.Hz, weight=p.j)
    objects: list[Any] = [group, drive]
    delay = (p.delay_steps - 1) * dt  # one scalar delay for the whole pathway
    # (sources in [lo, hi), targets in [t_lo, t_hi), in-degree, static weight or None = plastic)
    pathways: list[tuple[int, int, int, int, int, float | None]] = [
        (0, p.n_exc, 0, p.n, p.k_exc, p.j),
        (p.n_exc, p.n, 0, p.n, p.k_inh, -p.g * p.j),
    ]
    if p.plastic:
        pathways[0:1] = [(0, p.n_exc, 0, p.n_exc, p.k_exc, None), (0, p.n_exc, p.n_exc, p.n, p.k_exc, p.j)]
    plastic = None
    for lo, hi, t_lo, t_hi, k, w in pathways:
        if w is None:
            syn = plastic = brian2_stdp_synapses(p, b2, group, group, delay, dt)
        else:
            syn = b2.Synapses(
                group, group, on_pre="v_post += w_syn", delay=delay, dt=dt, namespace={"w_syn": w}
            )
        # Fixed in-degree k: k random presynaptic neurons in [lo, hi) for every target neuron.
        sources = rng.integers(lo, hi, size=(t_hi - t_lo) * k, dtype=np.int32)
        targets = np.repeat(np.arange(t_lo, t_hi, dtype=np.int32), k)
        syn.connect(i=sources, j=targets)
        if w is None:
            syn.w = p.j
        objects.append(syn)
    monitor = b2.SpikeMonitor(group, record=False)  # counts only
    objects.append(monitor)
    net = b2.Network(*objects)
    net.schedule = ["start", "groups", "synapses", "thresholds", "resets", "end"]
    return net, monitor, plastic


def brian2_stdp_synapses(
    p: B1, b2: Any, source: Any, target: Any, delay: Any, dt: Any, deliver: bool = True
) -> Any:
    """B2's plastic synapses in Brian2 (unconnected; deliver=False leaves out v_post += w).

    Additive pair-based STDP with all-to-all traces, the traces updated only at spikes
    (event-driven).  The weight changes before the spike is delivered, as in NEST's
    stdp_synapse.  The delay is on the on_pre pathway, so a presynaptic spike pairs at its
    arrival: t_pre + delay against t_post.  NEST pairs t_pre against t_post + delay (all of its
    delay is dendritic) and spikegraph t_pre against t_post (emission step): the three windows
    are 1.5 ms apart, which does not matter for a timing benchmark (reference_stdp_check.py
    checks both simulators against a replay of the rule with their pairing).
    """
    return b2.Synapses(
        source,
        target,
        """w : 1
        dapre/dt = -apre / tau_plus : 1 (event-driven)
        dapost/dt = -apost / tau_minus : 1 (event-driven)""",
        on_pre="apre += 1\nw = clip(w - a_minus * apost, 0, w_max)" + ("\nv_post += w" if deliver else ""),
        on_post="apost += 1\nw = clip(w + a_plus * apre, 0, w_max)",
        delay={"pre": delay},
        dt=dt,
        namespace={
            "tau_plus": p.tau_plus_ms * b2.ms,
            "tau_minus": p.tau_minus_ms * b2.ms,
            "a_plus": p.a_plus,
            "a_minus": p.a_minus,
            "w_max": p.w_max,
        },
    )


def run_brian2_runtime(p: B1, threads: int, args: argparse.Namespace) -> Result:
    """B1/B2 in Brian2 runtime mode (cython target); wall time around each Network.run call."""
    import brian2 as b2  # only installed in the reference venv

    if threads != 1:
        print("note: Brian2 runtime mode is single-threaded; running 1 thread", file=sys.stderr)
    res = _new_result("brian2-runtime", b2.__version__, p, 1, args)
    b2.prefs.codegen.target = args.brian2_target
    b2.seed(p.seed)
    t0 = time.perf_counter()
    net, monitor, plastic = _build_brian2(p, b2, np.random.default_rng(p.seed))
    res.build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    net.run(args.warmup_ms * b2.ms, namespace={})
    res.warmup_s = time.perf_counter() - t0
    before = int(np.sum(monitor.count[:]))
    for _ in range(args.repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        net.run(args.duration_ms * b2.ms, namespace={})
        res.sim_s.append(time.perf_counter() - t0)
        res.cpu_s.append(time.process_time() - c0)
    spikes = int(np.sum(monitor.count[:])) - before
    res.peak_rss_mb = _self_peak_rss_mb()
    if plastic is not None:
        res.mean_plastic_weight = float(np.mean(plastic.w[:]))
        res.std_plastic_weight = float(np.std(plastic.w[:]))
        res.plastic_model_ms = args.warmup_ms + args.repeats * args.duration_ms
    res.notes = (
        f"target {args.brian2_target}; wall time of each Network.run call (includes its "
        "per-call preparation, a few ms); peak RSS of this process"
    )
    res.finish(spikes)
    return res


# C++ inserted into the standalone main(): monotonic wall-clock stamps around the two runs and
# process CPU time around the timed one, written to results/b1_timing.txt as "start
# warmup_begin timed_begin timed_end cpu_begin cpu_end" (seconds).
_STAMP = "{{ struct timespec _ts; clock_gettime({clock}, &_ts); {var} = _ts.tv_sec + 1e-9*_ts.tv_nsec; }}"


def run_brian2_standalone(p: B1, threads: int, args: argparse.Namespace) -> Result:
    """B1/B2 in Brian2 cpp_standalone mode.

    The network is generated and compiled once (compile_s: code generation plus the C++ build).
    The compiled program then does everything itself: allocation and synapse creation (from
    the connectivity arrays written by Python), the warm-up run and the timed run.  We stamp
    wall-clock times (clock_gettime(CLOCK_MONOTONIC)) into main() around these phases, so
    build_s is Python's declaration plus the program's own construction phase and sim_s is the
    timed run alone; this avoids Brian's own run-time report, which is CPU time (std::clock)
    without OpenMP.  A repeat is one execution of the program (each simulates warm-up + timed
    run from t = 0 with the same seed); one extra execution first is discarded as the warm-up
    of the file cache.  Peak RSS is the program's own (os.wait4), not the compiler's.  B2's mean
    plastic weight is that of the first execution, i.e. after warm-up + one timed run (every
    execution is the same simulation from t = 0).
    """
    import brian2 as b2  # only installed in the reference venv

    workdir = args.workdir or tempfile.mkdtemp(prefix="b1_brian2_standalone_")
    res = _new_result("brian2-standalone", b2.__version__, p, threads, args)
    b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    # openmp_threads = 0 builds without OpenMP (the plain single-thread program).
    b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
    b2.seed(p.seed)
    dev = b2.get_device()
    wall, cpu = "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID"
    dev.insert_code("before_start", "double _b1_t[6] = {0, 0, 0, 0, 0, 0};")
    dev.insert_code("before_start", _STAMP.format(clock=wall, var="_b1_t[0]"))
    t0 = time.perf_counter()
    net, monitor, plastic = _build_brian2(p, b2, np.random.default_rng(p.seed))
    # The monitor counts only the timed run.
    monitor.active = False
    dev.insert_code("main", _STAMP.format(clock=wall, var="_b1_t[1]"))
    net.run(args.warmup_ms * b2.ms, namespace={})
    monitor.active = True
    dev.insert_code("main", _STAMP.format(clock=cpu, var="_b1_t[4]"))
    dev.insert_code("main", _STAMP.format(clock=wall, var="_b1_t[2]"))
    net.run(args.duration_ms * b2.ms, namespace={})
    dev.insert_code("main", _STAMP.format(clock=wall, var="_b1_t[3]"))
    dev.insert_code("main", _STAMP.format(clock=cpu, var="_b1_t[5]"))
    dev.insert_code(
        "main",
        'std::ofstream _b1_f(brian::results_dir + "b1_timing.txt"); '
        '_b1_f.precision(17); for (int _i = 0; _i < 6; ++_i) _b1_f << _b1_t[_i] << " "; '
        "_b1_f << std::endl;",
    )
    python_build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    dev.build(directory=workdir, compile=True, run=False)
    res.compile_s = time.perf_counter() - t0
    # First execution through Brian (it also loads the results: the spike count).
    dev.run(with_output=False)
    spikes_one_run = int(np.sum(monitor.count[:]))
    if plastic is not None:
        res.mean_plastic_weight = float(np.mean(plastic.w[:]))
        res.std_plastic_weight = float(np.std(plastic.w[:]))
        res.plastic_model_ms = args.warmup_ms + args.duration_ms

    results_dir = dev.results_dir
    timing_file = Path(results_dir) / "b1_timing.txt"
    env = dict(os.environ)
    if threads > 1:
        env["OMP_NUM_THREADS"] = str(threads)
    setup_s: list[float] = []
    warm_s: list[float] = []
    rss_kib = 0
    for _ in range(args.repeats):
        proc = subprocess.Popen(
            ["./main", "--results_dir", results_dir],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"standalone program failed ({proc.returncode}) in {workdir}")
        rss_kib = max(rss_kib, usage.ru_maxrss)
        start, warm_begin, timed_begin, timed_end, cpu_begin, cpu_end = map(
            float, timing_file.read_text().split()
        )
        setup_s.append(warm_begin - start)
        warm_s.append(timed_begin - warm_begin)
        res.sim_s.append(timed_end - timed_begin)
        res.cpu_s.append(cpu_end - cpu_begin)
    res.build_s = python_build_s + statistics.median(setup_s)
    res.warmup_s = statistics.median(warm_s)
    res.peak_rss_mb = rss_kib / 1024.0
    res.notes = (
        f"python declaration {python_build_s:.2f} s + in-program construction "
        f"{statistics.median(setup_s):.2f} s (median); sim_s from clock_gettime stamps "
        "inside the program around the timed run; one program execution per repeat; "
        "peak RSS of the program"
    )
    res.finish(spikes_one_run * args.repeats)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return res


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--simulator", choices=SIMULATORS, required=True)
    ap.add_argument(
        "--workload",
        choices=WORKLOADS,
        default="b1",
        help="b1 = lif-static (default), b2 = lif-stdp (B1 + STDP on E->E synapses)",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--duration-ms", type=float, default=200.0, help="per timed run")
    ap.add_argument("--warmup-ms", type=float, default=100.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--json", type=Path, help="write the result here")
    ap.add_argument(
        "--brian2-target",
        choices=("cython", "numpy"),
        default="cython",
        help="code generation target of brian2-runtime (default cython)",
    )
    ap.add_argument(
        "--workdir",
        help="brian2-standalone project directory (default: a temporary one, removed afterwards)",
    )
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.threads < 1 or args.n < 2 or args.k < 1:
        ap.error("--repeats, --threads, --k must be >= 1 and --n >= 2")
    p = B1(workload=args.workload, n=args.n, k=args.k, seed=args.seed)
    runner = {
        "nest": run_nest,
        "brian2-runtime": run_brian2_runtime,
        "brian2-standalone": run_brian2_standalone,
    }[args.simulator]
    res = runner(p, args.threads, args)
    print(res.line(), flush=True)
    if args.json:
        args.json.write_text(json.dumps(asdict(res), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
