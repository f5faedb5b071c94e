#include "spikegraph/sim/summary.hpp"

#include <cstdio>
#include <string>

#include "spikegraph/sim/simulation.hpp"

namespace spikegraph {

RunSummary summarize(Simulation& sim) {
  RunSummary s;
  const PerfStats p = sim.perf();
  s.nodes = sim.graph().num_nodes();
  s.edges = sim.total_edges();
  s.steps = p.steps;
  s.model_ms = static_cast<double>(p.steps) * sim.dt();
  s.spikes = p.spikes;
  s.mean_rate_hz = (s.nodes && s.model_ms > 0) ? static_cast<double>(p.spikes) / static_cast<double>(s.nodes) /
                                                     (s.model_ms * 1e-3)
                                               : 0.0;
  s.ms_per_step = p.steps ? p.seconds_total * 1e3 / static_cast<double>(p.steps) : 0.0;
  s.backend = sim.backend().name();
  s.threads = sim.backend().threads();
  s.ranks = sim.ranks();
  s.precision = sim.backend().precision() == Precision::float32 ? "float32" : "float64";
  const std::size_t local_edges = sim.graph().num_edges();
  s.bytes_per_edge =
      local_edges ? static_cast<double>(p.graph_bytes + p.state_bytes) / static_cast<double>(local_edges) : 0.0;
  return s;
}

std::string format_summary(const RunSummary& s) {
  const std::string ranks = s.ranks > 1 ? ", " + std::to_string(s.ranks) + " ranks" : "";
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "nodes         %llu\n"
                "edges         %llu\n"
                "model time    %.1f ms (%lld steps)\n"
                "spikes        %llu\n"
                "mean rate     %.3f Hz\n"
                "ms per step   %.4f (%s backend, %d thread%s, %s%s)\n"
                "bytes/edge    %.2f\n",
                static_cast<unsigned long long>(s.nodes), static_cast<unsigned long long>(s.edges), s.model_ms,
                static_cast<long long>(s.steps), static_cast<unsigned long long>(s.spikes), s.mean_rate_hz,
                s.ms_per_step, s.backend.c_str(), s.threads, s.threads == 1 ? "" : "s", s.precision.c_str(),
                ranks.c_str(),
                s.bytes_per_edge);
  return buf;
}

}  // namespace spikegraph
