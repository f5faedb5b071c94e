"""NEST builds and simulates the microcircuit itself (run with the reference venv's Python):

    .venv-ref/bin/python tests_py/reference/microcircuit_nest_native.py \
        DESIGN.json SEED DURATION_MS OUT.npz [THREADS]

DESIGN.json is ``spikegraph.microcircuit.design(scale, k_scale)``: population sizes, total
synapse counts, mean currents, delays and spreads, constant input, Poisson background, neuron
parameters. NEST
draws the connections (fixed_total_number with multapses, no autapses), weights (normal,
clipped at 0) and delays (normal, at least one step) from its own generator seeded with
SEED, so the network is another instance of the same model, not spikegraph's: the two are
compared statistically. OUT.npz gets ``senders`` (0-based), ``times`` (ms), ``sizes`` and
the wall times ``build_s`` (creating and connecting) and ``simulate_s``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main() -> None:
    d = json.loads(open(sys.argv[1], encoding="utf-8").read())
    seed, duration = int(sys.argv[2]), float(sys.argv[3])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    dt = 0.1
    nest.SetKernelStatus({"resolution": dt, "local_num_threads": threads, "rng_seed": seed})
    p = d["neuron"]
    t0 = time.perf_counter()
    pops = []
    for size, drive in zip(d["sizes"], d["drive"]):
        pop = nest.Create("iaf_psc_exp", size, params={
            "E_L": p["E_L"], "V_th": p["V_th"], "V_reset": p["V_reset"], "C_m": p["C_m"],
            "tau_m": p["tau_m"], "tau_syn_ex": p["tau_syn"], "tau_syn_in": p["tau_syn"],
            "t_ref": p["t_ref"], "I_e": drive})
        pop.V_m = nest.random.normal(p["V0_mean"], p["V0_sd"])
        pops.append(pop)
    for i, post in enumerate(pops):
        for j, pre in enumerate(pops):
            n = int(d["counts"][i][j])
            if n == 0:
                continue
            w, delay = d["psc"][i][j], d["delays"][j]
            weight = nest.random.normal(abs(w), d["psc_rel_sd"] * abs(w))
            weight = nest.math.max(weight, 0.0) * (1.0 if w >= 0 else -1.0)
            nest.Connect(pre, post, {"rule": "fixed_total_number", "N": n, "allow_autapses": False,
                                     "allow_multapses": True},
                         {"synapse_model": "static_synapse", "weight": weight,
                          "delay": nest.math.max(nest.random.normal(delay, d["delay_rel_sd"] * delay), dt)})
    if d.get("background") == "poisson":
        # One generator per population: every neuron gets its own independent train.
        for pop, rate in zip(pops, d["poisson_rate"]):
            gen = nest.Create("poisson_generator", params={"rate": rate})
            nest.Connect(gen, pop, "all_to_all", {"synapse_model": "static_synapse",
                                                  "weight": d["poisson_weight"], "delay": dt})
    recorder = nest.Create("spike_recorder")
    for pop in pops:
        nest.Connect(pop, recorder)
    nest.Prepare()  # NEST finishes its connection tables here: part of building
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Run(duration)
    simulate = time.perf_counter() - t0
    nest.Cleanup()
    events = recorder.get("events")
    np.savez(sys.argv[4], senders=np.asarray(events["senders"]) - 1, times=np.asarray(events["times"]),
             sizes=np.asarray(d["sizes"]), build_s=build, simulate_s=simulate)


if __name__ == "__main__":
    main()
