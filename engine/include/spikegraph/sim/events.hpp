// spikegraph/sim/events.hpp
// Event coordination: scheduled stimuli (applied inside the step, docs/model.md step 2)
// and the batches of events published to subscribers at chunk boundaries (the end
// of every Simulation::run_steps call), never from inside a hot loop.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {

/// A stimulus applied at one step to a set of nodes.
struct Stimulus {
  enum class Kind : std::uint8_t {
    input,      ///< add `value` to the synaptic input of the step (like a spike arriving)
    add_drive,  ///< drive += value, from this step on
    set_drive,  ///< drive = value, from this step on
  };
  std::int64_t step = 0;
  Kind kind = Kind::input;
  double value = 0.0;
  std::vector<index_t> nodes;
};

/// A homeostasis window that ended (docs/model.md step 6).
struct HomeostasisEvent {
  std::int64_t step = 0;
  double branching_ratio = 0.0;  ///< NaN when the window or the previous one had no spikes
  double synaptic_gain = 1.0;
};

/// One structure step (docs/model.md step 7).
struct StructureEvent {
  std::int64_t step = 0;
  std::vector<index_t> deaths;     ///< nodes that died
  std::vector<index_t> parents;    ///< parents[k] gave birth to children[k]
  std::vector<index_t> children;
  std::size_t pruned_edges = 0;
  std::size_t removed_edges = 0;   ///< edges of dead nodes dropped at compaction
  std::size_t added_edges = 0;
  std::size_t births_refused = 0;  ///< parents above birth energy with no spare slot left
};

/// What subscribers receive at a chunk boundary: everything since the last batch.
struct EventBatch {
  std::int64_t first_step = 0;  ///< first step of the chunk
  std::int64_t end_step = 0;    ///< one past the last step of the chunk
  std::vector<std::int64_t> spike_steps;  ///< spike batch (filled only while someone subscribes)
  std::vector<index_t> spike_nodes;
  std::vector<HomeostasisEvent> homeostasis;
  std::vector<Stimulus> stimuli;  ///< stimuli applied during the chunk
  std::vector<StructureEvent> structure;  ///< births, deaths, pruning
};

using EventCallback = std::function<void(const EventBatch&)>;

}  // namespace spikegraph
