"""``python -m benchmarks b1 [...]``: run a benchmark and print its table."""

from __future__ import annotations

import argparse
import sys

from . import b1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="name", required=True)
    b1.add_arguments(sub.add_parser("b1", help="B1 lif-static, with NEST/Brian2 side by side"))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
