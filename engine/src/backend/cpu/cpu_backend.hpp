// Private: the multicore CPU backend.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "spikegraph/backend/backend.hpp"

namespace spikegraph {

/// threads: worker threads (>= 1). Precision from the config (sim.precision).
std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const config::Config& cfg, int threads);

/// The spikes of one step (ascending node ids).
struct StepSpikes {
  step_t step = 0;
  std::vector<index_t> nodes;
};

/// What a spike exchange gave the backend. `complete` false: the step's spikes are held
/// for a later exchange (a window of steps shorter than the smallest delay) and the list
/// keeps this rank's own. Otherwise the list is every rank's, and `earlier` (when not
/// null) holds every rank's spikes of the held steps before it, oldest first: the
/// backend delivers those at once (their earliest arrival is after this step).
struct ExchangeResult {
  bool complete = true;
  const std::vector<StepSpikes>* earlier = nullptr;
};

/// One rank's share of a simulation on several ranks (dist/distributed_backend.hpp):
/// the backend updates the nodes [begin, end) only, then `exchange` replaces the
/// ascending spikes of those nodes with every rank's spikes (ascending global ids), now
/// or at the end of a window (ExchangeResult).
/// A rank whose update threw still calls `exchange`, with its exception, so that no
/// rank waits for it; `exchange` then throws on every rank. With energy on, the
/// graph must hold the whole out-rows of the owned nodes too (dist::graph_part), and
/// `share` fills a per-node array (`width` bytes per node) from each node's owner.
struct CpuOwnership {
  index_t begin = 0;
  index_t end = 0;
  std::function<ExchangeResult(step_t t, std::vector<index_t>& spikes, const std::exception_ptr& failure)> exchange;
  std::function<void(void* data, std::size_t width)> share;
};
std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const config::Config& cfg, int threads,
                                          const CpuOwnership& ownership);

}  // namespace spikegraph
