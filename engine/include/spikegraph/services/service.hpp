// spikegraph/services/service.hpp
// The model's services (neural processing, recording, and later energy,
// learning, homeostasis, structure, sensory input) are objects owned by the
// Simulation (the coordinator). Each declares the phases of the step it runs in;
// the coordinator calls them once per phase per step, in the fixed order of
// docs/model.md, so a virtual call happens per phase, never per node or edge.
// An embedder replaces a service with Simulation::replace_service().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {

class Backend;
class Graph;
struct SpikeRecord;
struct MonitorRecord;
struct EnergyLedger;
struct HomeostasisState;
struct EventState;
struct SensoryInput;
struct LedgerTotals;
struct MetricsSample;
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

/// What a service sees during a phase. References are valid for the call only.
struct StepContext {
  step_t step;                 ///< the step being computed (0-based)
  Backend& backend;            ///< state and per-phase kernels
  const Graph& graph;          ///< the current graph
  const config::Config& config;
  SpikeRecord& spike_record;      ///< the simulation's spike record
  MonitorRecord& monitor_record;  ///< the simulation's monitor samples
  EnergyLedger& ledger;           ///< this step's energy balance (energy phase)
  std::vector<EnergyLedger>& ledger_history;  ///< per-step ledgers (energy.record_ledger)
  HomeostasisState& homeostasis;  ///< gain, windows and branching history
  EventState& events;             ///< scheduled stimuli and the batch for subscribers
  /// The coordinator's owner of the graph: a service that changes the structure
  /// (phase structure) installs the new graph here after Backend::replace_graph.
  /// `graph` above keeps referring to the graph of the phase's start.
  std::shared_ptr<const Graph>& graph_owner;
  SensoryInput& sensory;          ///< frames given by the user, the sensory grid shape
  /// Energy ledger totals of the completed steps (the coordinator adds `ledger` after each step).
  LedgerTotals& ledger_totals;
  std::vector<MetricsSample>& metrics_history;  ///< samples of the "metrics" service
};

class Service {
 public:
  virtual ~Service() = default;
  /// Registry name; replacing a service means registering another with this name.
  virtual std::string name() const = 0;
  /// Phases this service runs in.
  virtual std::vector<Phase> phases() const = 0;
  /// Called once before the first step (and after a replacement).
  virtual void initialize(StepContext& /*ctx*/) {}
  /// Called once per step for each phase in phases().
  virtual void run(Phase phase, StepContext& ctx) = 0;
  /// Checkpoints: write the service's own state (what its configuration does not
  /// determine) as sections whose names start with `prefix`, and read it back
  /// after initialize() in a simulation rebuilt from the checkpoint. Defaults:
  /// nothing to save. A service replaced after loading starts from initialize().
  virtual void save_state(io::SnapshotWriter& /*out*/, const std::string& /*prefix*/) const {}
  virtual void load_state(const io::SnapshotReader& /*in*/, const std::string& /*prefix*/) {}
};

}  // namespace spikegraph
