"""``python -m benchmarks b1 [...]``: run a benchmark and print its table."""

from __future__ import annotations

import argparse
import sys

from . import b3, contention, gpu, graph, lif, live, microcircuit, mpi, readout, services, soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="name", required=True)
    lif.add_arguments(sub.add_parser("b1", help="B1 lif-static, with NEST/Brian2 side by side"))
    lif.add_arguments(sub.add_parser("b2", help="B2 lif-stdp (B1 + STDP on E->E), with NEST/Brian2"), "b2")
    b3.add_arguments(sub.add_parser("b3", help="B3 full model at about 50,000 nodes / 5 M edges"))
    graph.add_arguments(sub.add_parser("graph", help="graph analysis and validation on the B3-size network"))
    gpu.add_arguments(sub.add_parser("gpu", help="B1 at 10^5 and B3 at 10^6 nodes / 10^8 edges, cuda vs cpu"))
    services.add_arguments(sub.add_parser("services", help="a Python learning service against the engine's"))
    contention.add_arguments(sub.add_parser("contention", help="ms per step idle and beside a busy process"))
    microcircuit.add_arguments(sub.add_parser("microcircuit", help="the cortical microcircuit, and NEST"))
    mpi.add_arguments(sub.add_parser("mpi", help="B1 and B3 on 1, 2 and 4 MPI ranks, and a model beyond"))
    live.add_arguments(sub.add_parser("live", help="ms per step plain, served, and with the page open"))
    readout.add_arguments(sub.add_parser("readout", help="the default network's readout test"))
    soak.add_arguments(sub.add_parser("soak", help="10^6 steps, every feature on: RSS"))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
