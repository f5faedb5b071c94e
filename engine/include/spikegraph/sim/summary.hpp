// spikegraph/sim/summary.hpp
// The short run summary printed by `spikegraph run` and `spikegraph-sim`.
#pragma once

#include <cstdint>
#include <string>

namespace spikegraph {

class Simulation;

struct RunSummary {
  std::uint64_t nodes = 0;
  std::uint64_t edges = 0;
  std::int64_t steps = 0;
  double model_ms = 0.0;
  std::uint64_t spikes = 0;           ///< spikes during the timed steps
  double mean_rate_hz = 0.0;          ///< spikes / nodes / model seconds
  double ms_per_step = 0.0;           ///< wall time per step
  std::string backend;
  int threads = 1;                    ///< per rank
  int ranks = 1;                      ///< processes (MPI ranks) the simulation runs on
  std::string precision;
  double bytes_per_edge = 0.0;        ///< (graph + state) bytes / edges, of this rank
};

/// Summary of the steps counted by the simulation's performance counters.
RunSummary summarize(Simulation& sim);
/// Multi-line, human-readable.
std::string format_summary(const RunSummary& s);

}  // namespace spikegraph
