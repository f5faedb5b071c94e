"""NEST side of the microcircuit comparisons (run with the reference venv's Python):

    .venv-ref/bin/python tests_py/reference/microcircuit_reference.py \
        NETWORK.npz DURATION_MS OUT.npz [THREADS]

NETWORK.npz holds the circuit spikegraph built (``src``, ``tgt``, ``w`` magnitudes in pA,
``d`` delays in steps of 0.1 ms, ``kinds`` (1 = inhibitory), ``v0``, ``drive`` = I_e, and
``poisson_rate`` (Hz per neuron) with ``poisson_weight`` (pA) for a Poisson background);
NEST's ``iaf_psc_exp`` simulates exactly that network (with Poisson input, one
``poisson_generator`` per distinct rate: the same model, other random numbers). OUT.npz
gets ``senders`` (0-based), ``times`` (ms) and the wall times ``build_s`` and ``simulate_s``.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main() -> None:
    data = np.load(sys.argv[1])
    duration = float(sys.argv[2])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": threads})
    t0 = time.perf_counter()
    neurons = nest.Create("iaf_psc_exp", data["v0"].size, params={
        "E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "C_m": 250.0, "tau_m": 10.0,
        "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0})
    neurons.set({"V_m": data["v0"].tolist(), "I_e": data["drive"].tolist()})
    ids = np.asarray(neurons)
    weights = data["w"].astype(np.float64) * np.where(data["kinds"] == 1, -1.0, 1.0)
    nest.Connect(ids[data["src"]], ids[data["tgt"]], "one_to_one",
                 {"synapse_model": "static_synapse", "weight": weights,
                  "delay": data["d"].astype(np.float64) * 0.1})
    rates = data["poisson_rate"] if "poisson_rate" in data.files else np.zeros(0)
    for rate in np.unique(rates[rates > 0]):
        gen = nest.Create("poisson_generator", params={"rate": float(rate)})
        syn = {"synapse_model": "static_synapse", "weight": float(data["poisson_weight"]), "delay": 0.1}
        nest.Connect(gen, ids[rates == rate].tolist(), "all_to_all", syn)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Simulate(duration)
    simulate = time.perf_counter() - t0
    events = recorder.get("events")
    np.savez(sys.argv[3], senders=np.asarray(events["senders"]) - 1, times=np.asarray(events["times"]),
             build_s=build, simulate_s=simulate)


if __name__ == "__main__":
    main()
