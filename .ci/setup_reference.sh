#!/usr/bin/env bash
# Create (idempotently) the venv .venv-ref at the repo root with the reference simulators used
# by tests_py/reference/lif_reference.py and benchmarks/reference_b1.py:
#   nest-simulator==3.10.0  (manylinux wheel; bundles GSL, libltdl and OpenMP itself)
#   brian2==2.9.0           (2.10+ needs Python >= 3.12; brings cython, sympy, jinja2, setuptools)
#   numpy<2.4               (brian2 2.9.0 does not import with numpy >= 2.4)
# These pins are NOT requirements of spikegraph: they live only in this venv.
#
# Usage: bash .ci/setup_reference.sh        (PYTHON=python3.11 to choose the interpreter,
#                                            REF_VENV=/path to put the venv elsewhere)
# Takes about 20 s on a fresh machine (pip downloads about 60 MB); a second call returns in
# well under a second when the venv already has the pinned versions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REF_VENV:-$ROOT/.venv-ref}"
PYTHON="${PYTHON:-python3}"
REQS=("nest-simulator==3.10.0" "brian2==2.9.0" "numpy<2.4")
STAMP="$VENV/.reference-requirements"

# Prints the installed versions and exits non-zero unless they satisfy REQS (cheap: metadata
# only, no import of nest or brian2).
check_versions() {
    "$VENV/bin/python" - "$@" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version

want = {"nest-simulator": "3.10.0", "brian2": "2.9.0"}
ok = True
for name in ("nest-simulator", "brian2", "numpy", "cython", "setuptools", "sympy"):
    try:
        have = version(name)
    except PackageNotFoundError:
        have = "missing"
    if name in want and have != want[name]:
        ok = False
    if name == "numpy" and (have == "missing" or tuple(map(int, have.split(".")[:2])) >= (2, 4)):
        ok = False
    if "--print" in sys.argv:
        print(f"  {name:15s} {have}")
sys.exit(0 if ok else 1)
EOF
}

# Fast path: venv present, stamp matches the pins, versions installed.
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "${REQS[*]}" ]] \
    && check_versions; then
    echo "setup_reference: $VENV already has ${REQS[*]}"
    exit 0
fi

# --- system packages, only where missing -------------------------------------------------
# apt-get is used only for what pip cannot provide:
#   python3-venv : Debian's own python3 ships without ensurepip, so `python3 -m venv` fails;
#   g++          : Brian2's cython target and cpp_standalone mode compile C++ at run time
#                  (NEST's wheel and Brian2's numpy target need no compiler);
#   python3-dev  : Python.h, needed by the cython target (pyenv/python.org builds have it).
# On a machine that already has these (like this project's), apt-get is never called.
need_apt=()
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    need_apt+=(python3-venv)
fi
if ! command -v g++ >/dev/null 2>&1; then
    need_apt+=(g++)
fi
if ! "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    2>/dev/null; then
    need_apt+=(python3-dev)
fi
if ((${#need_apt[@]})); then
    SUDO=""
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    fi
    echo "setup_reference: apt-get install ${need_apt[*]}"
    if ! { $SUDO apt-get update -qq && \
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            "${need_apt[@]}"; }; then
        echo "setup_reference: WARNING: could not install ${need_apt[*]};" \
            "Brian2's cython/cpp_standalone modes may not work" >&2
    fi
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "setup_reference: brian2 2.9.0 needs Python >= 3.10 ($PYTHON is older)" >&2
    exit 1
}

# --- the venv ----------------------------------------------------------------------------
if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
    echo "setup_reference: $VENV is broken, recreating it"
    rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
start=$SECONDS
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQS[@]}"
check_versions || {
    echo "setup_reference: installed versions do not match ${REQS[*]}" >&2
    check_versions --print >&2 || true
    exit 1
}
# Import once: catches a broken install now rather than in a test.
PYNEST_QUIET=1 "$VENV/bin/python" -c 'import brian2, nest' >/dev/null
echo "${REQS[*]}" >"$STAMP"

echo "setup_reference: $VENV ready in $((SECONDS - start)) s with"
echo "  python          $("$VENV/bin/python" -c 'import platform; print(platform.python_version())')"
check_versions --print
echo "  g++             $(g++ -dumpfullversion 2>/dev/null || echo missing)"
