// Private: the multicore CPU backend.
#pragma once

#include <memory>

#include "spikegraph/backend/backend.hpp"

namespace spikegraph {

/// threads: worker threads (>= 1). Precision from the config (sim.precision).
std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const config::Config& cfg, int threads);

}  // namespace spikegraph
