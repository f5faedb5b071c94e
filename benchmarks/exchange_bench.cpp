// exchange_bench: the cost of the ways a rank could send its spikes to the others, run
// under mpirun. Each rank emits `spikes` ids per step from its own range of nodes, and
// every strategy moves the same ids:
//   allgather    per step: MPI_Allgather of the counts, MPI_Allgatherv of the ids
//                (every rank receives every spike);
//   allgather-fixed  per step: spikegraph's own exchange (Communicator::allgather of
//                the MPI communicator: one MPI_Allgather of fixed blocks [count, ids...]
//                sized from the previous step's longest list, a second round only for a
//                longer list);
//   alltoall     per step: MPI_Alltoall of the counts, MPI_Alltoallv of the ids, each id
//                sent only to the ranks that hold one of its targets (with probability
//                `hit` per other rank: 1 - (1 - 1/R)^K for K random targets on R ranks);
//   allgather/D  once per window of D steps: one MPI_Allgather of the counts and one
//                MPI_Allgatherv of the window's ids, each step's block led by its count
//                (an exchange once per minimum delay of D steps).
// Prints, per strategy, the slowest rank's time per simulated step (median of the
// repeats) and the bytes a rank sends per step, as one JSON object per line.
//
// Build: -DSPIKEGRAPH_BENCHMARKS=ON with MPI (target spikegraph_bench_exchange).
// Run:   mpirun -n 2 spikegraph_bench_exchange [spikes=20] [hit=1] [window=15] [steps=3000] [repeats=5]
// `python -m benchmarks mpi` runs it with B1's measured spike counts (docs/performance.md).
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/kernels/rng.hpp"

namespace {

using spikegraph::kernels::mix64;

struct Setup {
  int rank = 0, ranks = 1;
  int spikes = 20;   // ids per rank per step
  double hit = 1.0;  // probability that an id is needed by a given other rank
  int window = 15;   // steps per batched exchange
  int steps = 3000;
  int repeats = 5;
};

// The ids rank `r` emits at step t (deterministic, from its own range of 10^6 nodes).
void emitted(const Setup& s, int r, int t, std::vector<std::uint32_t>& out) {
  out.clear();
  for (int i = 0; i < s.spikes; ++i) {
    const auto key = (static_cast<std::uint64_t>(r) << 48) ^ (static_cast<std::uint64_t>(t) << 20) ^
                     static_cast<std::uint64_t>(i);
    out.push_back(static_cast<std::uint32_t>(r) * 1000000u + static_cast<std::uint32_t>(mix64(key) % 1000000u));
  }
  std::sort(out.begin(), out.end());
}

// Whether rank `dest` holds a target of `id` (a fixed draw per pair).
bool needed(const Setup& s, std::uint32_t id, int dest) {
  const std::uint64_t draw = mix64((static_cast<std::uint64_t>(id) << 16) ^ static_cast<std::uint64_t>(dest)) >> 11;
  return static_cast<double>(draw) * 0x1.0p-53 < s.hit;
}

// Runs `exchange(t)` for every step; returns the slowest rank's seconds per step.
double timed(const Setup& s, const std::function<void(int)>& exchange) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  for (int t = 0; t < s.steps; ++t) exchange(t);
  double mine = (MPI_Wtime() - t0) / s.steps, slowest = 0;
  MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  Setup s;
  MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &s.ranks);
  if (argc > 1) s.spikes = std::atoi(argv[1]);
  if (argc > 2) s.hit = std::atof(argv[2]);
  if (argc > 3) s.window = std::atoi(argv[3]);
  if (argc > 4) s.steps = std::atoi(argv[4]);
  if (argc > 5) s.repeats = std::atoi(argv[5]);
  if (s.spikes < 0 || s.hit < 0 || s.hit > 1 || s.window < 1 || s.steps < 1 || s.repeats < 1) {
    if (s.rank == 0) {
      std::fprintf(stderr, "usage: exchange_bench [spikes>=0] [hit in 0..1] [window>=1] [steps>=1] [repeats>=1]\n");
    }
    MPI_Finalize();
    return 2;
  }
  const auto R = static_cast<std::size_t>(s.ranks);
  std::vector<std::uint32_t> mine, all;
  std::vector<int> counts(R), displs(R), rcounts(R), rdispls(R);
  std::uint64_t received = 0;  // ids received over all steps (checks that the exchange happened)

  // Every rank's `block` into `all`, in rank order; returns the bytes this rank sent.
  auto gather_all = [&](const std::vector<std::uint32_t>& block) {
    int count = static_cast<int>(block.size());
    MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (std::size_t r = 0; r < R; ++r) {
      displs[r] = total;
      total += counts[r];
    }
    all.resize(static_cast<std::size_t>(total));
    MPI_Allgatherv(block.data(), count, MPI_UINT32_T, all.data(), counts.data(), displs.data(), MPI_UINT32_T,
                   MPI_COMM_WORLD);
    received += static_cast<std::uint64_t>(total);
    return static_cast<double>(sizeof(int) + block.size() * sizeof(std::uint32_t));
  };

  // Per step, every id to every rank.
  double sent_allgather = 0;
  auto allgather = [&](int t) {
    emitted(s, s.rank, t, mine);
    sent_allgather += gather_all(mine);
  };

  // Per step, the engine's own exchange (spikegraph::dist's MPI communicator: one
  // MPI_Allgather of fixed blocks, a second round only for a longer list).
  const std::shared_ptr<spikegraph::dist::Communicator> engine = spikegraph::dist::mpi_world();
  double sent_fixed = 0;
  auto fixed = [&](int t) {
    emitted(s, s.rank, t, mine);
    const std::uint64_t before = engine->bytes_sent();
    engine->allgather(mine, all);
    received += all.size();
    sent_fixed += static_cast<double>(engine->bytes_sent() - before);
  };

  // Per step, each id only to the ranks that need it.
  std::vector<std::uint32_t> outbox;
  double sent_alltoall = 0;
  auto alltoall = [&](int t) {
    emitted(s, s.rank, t, mine);
    outbox.clear();
    int at = 0;
    for (int d = 0; d < s.ranks; ++d) {
      displs[static_cast<std::size_t>(d)] = at;
      for (std::uint32_t id : mine) {
        if (d == s.rank || needed(s, id, d)) outbox.push_back(id);
      }
      counts[static_cast<std::size_t>(d)] = static_cast<int>(outbox.size()) - at;
      at = static_cast<int>(outbox.size());
    }
    MPI_Alltoall(counts.data(), 1, MPI_INT, rcounts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (std::size_t r = 0; r < R; ++r) {
      rdispls[r] = total;
      total += rcounts[r];
    }
    all.resize(static_cast<std::size_t>(total));
    MPI_Alltoallv(outbox.data(), counts.data(), displs.data(), MPI_UINT32_T, all.data(), rcounts.data(),
                  rdispls.data(), MPI_UINT32_T, MPI_COMM_WORLD);
    received += static_cast<std::uint64_t>(total);
    const std::size_t to_self = static_cast<std::size_t>(counts[static_cast<std::size_t>(s.rank)]);
    sent_alltoall += static_cast<double>(R * sizeof(int) + (outbox.size() - to_self) * sizeof(std::uint32_t));
  };

  // Once per window: the window's steps, each as [count, ids...], in one all-gather.
  std::vector<std::uint32_t> window;
  double sent_window = 0;
  auto batched = [&](int t) {
    emitted(s, s.rank, t, mine);
    window.push_back(static_cast<std::uint32_t>(mine.size()));
    window.insert(window.end(), mine.begin(), mine.end());
    if ((t + 1) % s.window != 0 && t + 1 != s.steps) return;
    sent_window += gather_all(window);
    window.clear();
  };

  struct Strategy {
    std::string name;
    std::function<void(int)> run;
    double* sent;
  };
  const std::vector<Strategy> strategies = {{"allgather", allgather, &sent_allgather},
                                            {"allgather-fixed", fixed, &sent_fixed},
                                            {"alltoall", alltoall, &sent_alltoall},
                                            {"allgather/" + std::to_string(s.window), batched, &sent_window}};
  // Repeats interleave the strategies, so that a change in the machine's load over the
  // run falls on all of them alike.
  std::vector<std::vector<double>> times(strategies.size());
  for (const Strategy& st : strategies) timed(s, st.run);  // warm-up (buffers, shared-memory channels)
  for (const Strategy& st : strategies) *st.sent = 0;
  for (int k = 0; k < s.repeats; ++k) {
    for (std::size_t i = 0; i < strategies.size(); ++i) times[i].push_back(timed(s, strategies[i].run));
  }
  for (std::size_t i = 0; i < strategies.size(); ++i) {
    const Strategy& st = strategies[i];
    const double bytes = *st.sent / (static_cast<double>(s.steps) * s.repeats);
    if (s.rank == 0) {
      std::printf(
          "{\"strategy\": \"%s\", \"ranks\": %d, \"spikes_per_rank_step\": %d, \"hit\": %.4f, \"window\": %d, "
          "\"us_per_step\": %.4f, \"bytes_sent_per_step\": %.1f}\n",
          st.name.c_str(), s.ranks, s.spikes, s.hit, s.window, 1e6 * median(times[i]), bytes);
    }
  }
  if (received == 0 && s.spikes > 0) std::fprintf(stderr, "rank %d received nothing\n", s.rank);
  MPI_Finalize();
  return 0;
}
