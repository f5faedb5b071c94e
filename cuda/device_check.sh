#!/usr/bin/env bash
# The CUDA backend's checks on a machine with an NVIDIA GPU, in one command
# (docs/cuda.md, "On a GPU"). In order, each stage with its own time limit:
#   info        the GPU, driver, nvcc and the tools found
#   build       one Release tree with CUDA on (all cores): the engine, spikegraph-sim, the
#               C++ tests, the device tests and, where Python's headers and nanobind exist,
#               the Python module (used in place: no second build of the engine)
#   pyprobe     whether engine errors reach this Python as exceptions (cuda/python_probe.py),
#               with a backtrace where they do not, and which C++-runtime-carrying
#               modules the test run imports
#   cuda_tests  the device tests (spikegraph_cuda_tests): they must run, not skip
#   sanitize    compute-sanitizer memcheck and racecheck on the small device test case
#   ctest       the whole C++ suite ("auto" picks the GPU where a test does not choose)
#   pytest      the Python suite on the CUDA build (NEST/Brian2 validation deselected)
#   bench       python -m benchmarks gpu: B1 at 10^5 nodes and B3 at 10^6 nodes /
#               10^8 edges, GPU against the CPU backend on all cores, in one invocation
#   profile     Nsight Compute (ncu), where present: per-kernel time and DRAM bytes of
#               a few B3 steps (a 2 x 10^5-node network, so the replays stay short)
# sanitize, ctest and pytest run side by side (the first uses the GPU and one core, the
# others the CPUs); bench runs alone so that its timings are quiet.
#
# Usage:  bash cuda/device_check.sh [STAGE ...]    (default: every stage)
# Output: OUT (default build/device-check): check.log (every stage's output, in order),
#         summary.json (each stage: exit code, seconds), gpu.json (benchmark figures),
#         ncu.csv (profile), and the logs of the side-by-side stages.
# Without a GPU the build runs, the device tests report "skipped" (exit code 4) and the
# benchmark says why it did not run, so the script is checked on any machine with nvcc.
# Catch2 v2 comes from the system or, on a machine without a package registry, from a
# Debian catch2 package unpacked into .device/catch2 (see docs/cuda.md).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/build/device-check}
mkdir -p "$OUT"
BUILD=${SPIKEGRAPH_DEVICE_BUILD:-$ROOT/build/device}
JOBS=${JOBS:-$(nproc)}
PY=${PYTHON:-python3}
LOG=$OUT/check.log
SUMMARY=$(mktemp)
: >"$LOG"
: >"$SUMMARY"
stages=("$@")
((${#stages[@]})) || stages=(info build pyprobe cuda_tests sanitize ctest pytest bench profile)
t_start=$(date +%s)

say() { printf '%s\n' "$*" | tee -a "$LOG"; }
wants() { local s; for s in "${stages[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }
# run NAME LIMIT_S CMD...: runs CMD with a time limit, its output into check.log (and on
# the terminal), and records its exit code and seconds.
run() {
  local name=$1 limit=$2; shift 2
  say "" "=== [$(($(date +%s) - t_start)) s] $name (limit ${limit} s): $*"
  local t0; t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$SUMMARY"
  say "=== $name: exit $rc after $(($(date +%s) - t0)) s"
  return "$rc"
}
# background NAME LIMIT_S CMD...: the same, into OUT/NAME.log, in the background.
background() {
  local name=$1 limit=$2; shift 2
  say "=== [$(($(date +%s) - t_start)) s] $name started in the background (limit ${limit} s): $*"
  (
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$SUMMARY"
  ) &
}
write_summary() {
  "$PY" - "$SUMMARY" "$OUT/summary.json" "$(($(date +%s) - t_start))" <<'EOF'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
stages = {name: {"exit": int(rc), "seconds": int(s)} for name, rc, s in rows}
json.dump({"stages": stages, "total_seconds": int(sys.argv[3])}, open(sys.argv[2], "w"), indent=2)
for name, r in stages.items():
    print(f"{name:<12} exit {r['exit']:>3}  {r['seconds']:>4} s")
EOF
}

SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1 || true)
if [[ -z "${CUDACXX:-}" ]] && ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi

if wants info; then
  run info 60 bash -c "nvidia-smi || true; ${CUDACXX:-nvcc} --version | tail -n 2; cmake --version | head -n 1;
    echo 'python: $PY' \$($PY --version 2>&1); echo 'compute-sanitizer: ${SANITIZER:-none}'; echo 'ncu: ${NCU:-none}';
    echo \"cores: \$(nproc)\"; free -g | head -n 2"
fi

PYDIR=$BUILD/python  # the package in place: python/spikegraph + the built module
if wants build; then
  catch2=()
  if [[ -d $ROOT/.device/catch2/usr/lib/cmake/Catch2 ]]; then
    catch2=(-DCatch2_DIR="$ROOT/.device/catch2/usr/lib/cmake/Catch2")
  fi
  common=(-S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPIKEGRAPH_CUDA=ON -DSPIKEGRAPH_TESTS=ON
          -DSPIKEGRAPH_INSTALL=OFF "${catch2[@]}")
  targets=(spikegraph_cuda_tests spikegraph_tests spikegraph-sim)
  if run configure 120 cmake "${common[@]}" -DSPIKEGRAPH_PYTHON=ON -DPython_EXECUTABLE="$(command -v "$PY")"; then
    targets+=(_core)
  else
    say "(the Python module cannot be configured here: building without it; pytest will not run)"
    run configure_no_python 120 cmake "${common[@]}" -DSPIKEGRAPH_PYTHON=OFF
  fi
  run build 300 cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"
  if [[ " ${targets[*]} " == *" _core "* && -n $(ls "$BUILD"/bindings/_core*.so 2>/dev/null) ]]; then
    rm -rf "$PYDIR" && mkdir -p "$PYDIR/bin"
    cp -r "$ROOT/python/spikegraph" "$PYDIR/" && cp "$BUILD"/bindings/_core*.so "$PYDIR/spikegraph/"
    cp "$BUILD/engine/spikegraph-sim" "$PYDIR/bin/"
    printf '#!/bin/sh\nexec %s -m spikegraph "$@"\n' "$(command -v "$PY")" >"$PYDIR/bin/spikegraph"
    chmod +x "$PYDIR/bin/spikegraph"
  fi
fi
if wants pyprobe && [[ -d $PYDIR/spikegraph ]]; then
  # Which variant of the module this interpreter can use (see cuda/python_probe.py).
  run env 30 bash -c 'env | grep -E "^(LD_|PYTHON|CUDA)" | sort; ldd '"$PYDIR"'/spikegraph/_core*.so'
  if ! PYTHONPATH="$PYDIR" run pyprobe 60 "$PY" -X faulthandler "$ROOT/cuda/python_probe.py" &&
    command -v cuda-gdb >/dev/null; then
    PYTHONPATH="$PYDIR" run backtrace 120 cuda-gdb -batch -ex run -ex bt --args "$PY" "$ROOT/cuda/python_probe.py"
  fi
  # What the test run imports besides (modules that bring their own C++ runtime).
  PYTHONPATH="$PYDIR" run pytest_imports 60 "$PY" -c "import sys, pytest; pytest.main(['-q', '--co', '-p', 'no:cacheprovider', '$ROOT/tests_py/test_config.py']); print('imported:', sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jax', 'jaxlib', 'tensorflow', 'cupy')))"
fi
export PYTHONPATH="$PYDIR:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$PYDIR/bin:$PATH"

if wants cuda_tests; then
  run cuda_tests 240 "$BUILD/cuda/spikegraph_cuda_tests" --durations yes
fi

pids=()
if wants sanitize; then
  if [[ -n $SANITIZER ]]; then
    background sanitize 300 bash -c "
      '$SANITIZER' --tool memcheck --leak-check full --error-exitcode 9 '$BUILD/cuda/spikegraph_cuda_tests' '[cuda-small]' &&
      '$SANITIZER' --tool racecheck --error-exitcode 9 '$BUILD/cuda/spikegraph_cuda_tests' '[cuda-small]' &&
      '$SANITIZER' --tool synccheck --error-exitcode 9 '$BUILD/cuda/spikegraph_cuda_tests' '[cuda-small]'"
    pids+=($!)
  else
    say "=== sanitize: compute-sanitizer not found"
    printf 'sanitize\t127\t0\n' >>"$SUMMARY"
  fi
fi
if wants ctest; then
  background ctest 300 ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" --timeout 240 -E '^cuda_'
  pids+=($!)
fi
if wants pytest; then
  if [[ -d $PYDIR/spikegraph ]]; then
    xdist=()
    "$PY" -c 'import xdist' 2>/dev/null && xdist=(-n "$((JOBS > 2 ? JOBS / 2 : 1))")
    background pytest 300 "$PY" -m pytest -q -p no:cacheprovider -m 'not validation' "${xdist[@]}" \
      -o addopts= "$ROOT/tests_py"
    pids+=($!)
  else
    say "=== pytest: no Python module was built"
    printf 'pytest\t127\t0\n' >>"$SUMMARY"
  fi
fi
if ((${#pids[@]})); then
  wait "${pids[@]}"
  for name in sanitize ctest pytest; do
    [[ -f $OUT/$name.log ]] || continue
    say "" "=== $name (side by side), its log's end:"
    tail -n 40 "$OUT/$name.log" | tee -a "$LOG"
  done
fi

if wants pytest && grep -q "crashed while running" "$OUT/pytest.log" 2>/dev/null; then
  # Workers crashed: once more without the plugins this interpreter installs besides
  # pytest's own (one of them may load another C++ runtime into the process).
  PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 run pytest_no_plugins 300 "$PY" -m pytest -q -rf -p no:cacheprovider \
    -p xdist.plugin -n "$((JOBS > 2 ? JOBS / 2 : 1))" -m 'not validation' -o addopts= "$ROOT/tests_py"
fi

if wants bench; then
  run bench 300 "$PY" -m benchmarks gpu --json "$OUT/gpu.json"
fi
if wants profile; then
  if [[ -n $NCU ]]; then
    # Only the kernels between cuProfilerStart and cuProfilerStop (--profile-steps).
    run profile 150 "$NCU" --clock-control none --profile-from-start off --csv --log-file "$OUT/ncu.csv" \
      --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed \
      "$PY" -m benchmarks gpu --b1-n 0 --b3-nodes 200000 --cpu-b3-duration-ms 0 --repeats 1 --duration-ms 5 \
      --warmup-ms 5 --profile-steps 2
  else
    say "=== profile: ncu not found"
    printf 'profile\t127\t0\n' >>"$SUMMARY"
  fi
fi

say "" "=== summary ($(($(date +%s) - t_start)) s)"
write_summary | tee -a "$LOG"
# Fails when a stage failed; the device tests' 4 (no device) counts as a failure too,
# since this script exists to run them.
! awk -F'\t' '$2 != 0 { bad = 1 } END { exit !bad }' "$SUMMARY"
