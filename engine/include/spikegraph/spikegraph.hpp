// spikegraph/spikegraph.hpp
// Umbrella header for programs that embed the engine:
//   find_package(spikegraph CONFIG REQUIRED)
//   target_link_libraries(app PRIVATE spikegraph::engine)
// See examples/cpp_embed/ and docs/cpp.md.
#pragma once

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/core/types.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/dist/partition.hpp"
#include "spikegraph/graph/analysis.hpp"
#include "spikegraph/graph/builder.hpp"
#include "spikegraph/graph/microcircuit.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/io/spike_file.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/services/service.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/sim/summary.hpp"
#include "spikegraph/state/arrays.hpp"
#include "spikegraph/version.hpp"
