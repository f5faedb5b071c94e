// spikegraph/services/service.hpp
// The model's services (neural processing, energy, learning, homeostasis,
// structure, sensory input, event coordination, recording, graph management,
// performance monitoring, configuration) are objects owned by the Simulation (the
// coordinator); each keeps its own state and checkpoints it. Each declares the phases of the step it runs in;
// the coordinator calls them once per phase per step, in the fixed order of
// docs/model.md, so a virtual call happens per phase, never per node or edge.
// An embedder replaces a service with Simulation::replace_service().
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {

class Backend;
class Graph;
class Simulation;
struct EnergyLedger;
struct EventBatch;
namespace config {
class Config;
}
namespace io {
class SnapshotWriter;
class SnapshotReader;
}  // namespace io

/// The phases of one step, in execution order (docs/model.md "The step, in this order").
enum class Phase : int {
  sensory = 0,
  delivery,
  neuron_update,
  energy,
  learning,
  homeostasis,
  structure,
  recording,
  count
};

/// Lower-case phase name ("delivery", ...).
const char* phase_name(Phase p);

/// What a service sees during a phase: the step, the model's state and the outputs of
/// the step that several services contribute to. A service keeps its own state in
/// itself; it reads another service's published state through `sim` (for example
/// sim.homeostasis(), sim.spikes()), never writes it. References are valid for the
/// call only.
struct StepContext {
  step_t step;                  ///< the step being computed (0-based)
  Backend& backend;             ///< state and per-phase kernels
  const Graph& graph;           ///< the graph at the start of the phase
  const config::Config& config; ///< the current configuration
  /// This step's energy balance: each entry has one writer (inflow: sensory;
  /// transfers and birth_cost: structure; the rest: energy). Reset to zeros with
  /// step = this step before the first phase.
  EnergyLedger& ledger;
  /// The event batch of the chunk: each service posts its own kind of event
  /// (structure events: structure; stimuli, spikes, homeostasis: events).
  EventBatch& events;
  /// The coordinator's owner of the graph: a service that changes the structure
  /// (phase structure) installs the new graph here after Backend::replace_graph.
  /// `graph` above keeps referring to the graph of the phase's start.
  std::shared_ptr<const Graph>& graph_owner;
  const Simulation& sim;        ///< read-only: other services' published state
  /// On several ranks with an exchange window (Simulation::exchange_window): true at a
  /// step whose spikes reach the services later, through Service::late_spikes; then
  /// backend.spikes() holds this rank's own only. Always false in one process.
  bool spikes_late = false;
};

class Service {
 public:
  virtual ~Service() = default;
  /// Registry name; replacing a service means registering another with this name.
  virtual std::string name() const = 0;
  /// Phases this service runs in.
  virtual std::vector<Phase> phases() const = 0;
  /// Read the service's parameters from `cfg`: before initialize(), and again when
  /// the configuration changes between runs (Simulation::update_config). Must not
  /// change the service's state; `cfg` is already validated. Default: nothing.
  virtual void configure(const config::Config& /*cfg*/) {}
  /// Called once before the first step (and after a replacement), after configure():
  /// set up the service's state.
  virtual void initialize(StepContext& /*ctx*/) {}
  /// Called once per step for each phase in phases().
  virtual void run(Phase phase, StepContext& ctx) = 0;
  /// Checkpoints: write the service's own state (what its configuration does not
  /// determine) as sections whose names start with `prefix`, and read it back
  /// after initialize() in a simulation rebuilt from the checkpoint. Defaults:
  /// nothing to save. A service replaced after loading starts from initialize().
  virtual void save_state(io::SnapshotWriter& /*out*/, const std::string& /*prefix*/) const {}
  virtual void load_state(const io::SnapshotReader& /*in*/, const std::string& /*prefix*/) {}
  /// Bytes the service holds in records and histories (performance monitoring).
  virtual std::size_t memory_bytes() const { return 0; }

  /// Exchange windows (docs/distributed.md). On several ranks the coordinator sends the
  /// spikes once per window of steps, no longer than the smallest delay, when every
  /// service with phases says here that it can take a step's spikes late: it reads
  /// no spikes, or it reads them in late_spikes() at steps where StepContext::spikes_late
  /// is set. Default: false (a service of your own keeps the exchange at every step).
  virtual bool takes_late_spikes() const { return false; }
  /// The spikes (every rank's, ascending) of an earlier `step` of the window now ending,
  /// oldest step first, before the phases after neuron_update of the window's last step.
  /// `ctx.step` is the window's last step. Default: nothing.
  virtual void late_spikes(step_t /*step*/, const std::vector<index_t>& /*spikes*/, StepContext& /*ctx*/) {}
  /// Whether the service needs every step's spikes up to `step` when it runs at `step`
  /// (a window ends there at the latest). Default: false.
  virtual bool spikes_due(step_t /*step*/) const { return false; }
};

}  // namespace spikegraph
