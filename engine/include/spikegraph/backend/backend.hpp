// spikegraph/backend/backend.hpp
// A backend owns the simulation state (structure of arrays in its memory) and
// runs the per-phase kernels over it. Backends only loop and launch: the
// per-element math is in spikegraph/kernels/. Select one with make_backend().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"
#include "spikegraph/state/arrays.hpp"

namespace spikegraph {

namespace io {
class SnapshotWriter;
class SnapshotReader;
}  // namespace io

class Graph;
struct EnergyLedger;
namespace config {
class Config;
}

/// Floating-point type of the node state.
enum class Precision { float32, float64 };

/// Explicit copies between host memory and a device's memory since a backend was
/// built (bytes and calls). Backends whose state is in host memory report zeros; page
/// migrations of managed memory (the GPU backend's state views) are not counted.
struct TransferStats {
  std::uint64_t to_host_bytes = 0;
  std::uint64_t to_device_bytes = 0;
  std::uint64_t to_host_copies = 0;
  std::uint64_t to_device_copies = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  /// Worker threads (CPU) or 1 (GPU).
  virtual int threads() const = 0;
  virtual Precision precision() const = 0;

  /// Called by the coordinator at the start of every step t: the spikes of step
  /// t-1 become the ones deliver(t) sends, and spikes() is empty until
  /// update_neurons(t) runs (so a replaced neural service never replays spikes).
  virtual void begin_step(step_t t) = 0;
  /// Phase "delivery" of step t: the spikes of step t-1 are added to the input
  /// rings of their targets at step t-1+delay, with their effective weights.
  virtual void deliver(step_t t) = 0;
  /// Phase "neuron_update" of step t: Poisson input, integration, threshold.
  /// Afterwards spikes() holds the nodes that spiked at step t, ascending.
  virtual void update_neurons(step_t t) = 0;
  /// Nodes that spiked at the current step (after update_neurons), ascending.
  virtual const std::vector<index_t>& spikes() const = 0;
  /// Synaptic events (spikes x out-degree) delivered by the last deliver() call.
  virtual std::size_t last_synaptic_events() const = 0;

  /// Phase "energy" of step t (docs/model.md step 4): spike cost of the nodes that spiked
  /// at t, metabolism, the flow along edges when `flow` is true, the clamp; the
  /// balance goes into `ledger`.
  virtual void update_energy(step_t t, bool flow, EnergyLedger& ledger) = 0;
  /// Phase "learning" of step t (docs/model.md step 5): trace decay, event-driven STDP on
  /// the plastic edges of the nodes that spiked, eligibility decay and conversion.
  virtual void update_learning(step_t t) = 0;
  /// Homeostasis, every step: the running rate estimate of every node.
  virtual void update_rates(step_t t) = 0;
  /// Homeostasis, every interval: intrinsic threshold adaptation of dynamic nodes.
  virtual void adapt_thresholds() = 0;
  /// Stimuli (phase delivery, after the spikes): add `value` to the synaptic input of
  /// step t of each node, or to / as its drive. Node ids are validated by the caller.
  virtual void add_input(step_t t, const index_t* nodes, std::size_t count, double value) = 0;
  virtual void change_drive(const index_t* nodes, std::size_t count, double value, bool add) = 0;

  /// Take the parameters of `cfg` (Simulation::update_config, between steps): the
  /// model's constants are recomputed from it; the state, the synaptic gain and the
  /// neuromodulator are kept. `cfg` differs from the construction's configuration
  /// only in keys the schema marks live (ParamSpec::live), none of which changes
  /// what is allocated. Throws ConfigError (nothing changes then); the default
  /// throws BackendError (a backend that cannot change its parameters).
  virtual void configure(const config::Config& cfg);

  /// Global gain on recurrent synaptic input (homeostasis); 1 by default.
  virtual void set_synaptic_gain(double gain) = 0;
  /// The user's neuromodulator signal (eligibility rule); 0 by default.
  virtual void set_neuromodulator(double signal) = 0;

  /// Switch to a graph with the same nodes and other edges (structural plasticity):
  /// new_graph's edge k continues old edge order[k] when order[k] < old edge count,
  /// else it is new (weight from the graph, zero eligibility). Pending input in the
  /// rings is kept. The graph must outlive the backend.
  virtual void replace_graph(const Graph& new_graph, const std::vector<index_t>& order) = 0;

  /// Overwrite every edge weight (graph edge order; validated by the caller). The
  /// backend keeps its own copy from then on; the graph is not changed.
  virtual void set_weights(const float* weights, std::size_t count) = 0;

  /// Names of the per-edge state arrays ("weight", "eligibility" when used).
  virtual std::vector<std::string> edge_state_names() const = 0;
  /// A host view of a per-edge state array, in the graph's edge order. Read it; write
  /// weights with set_weights (other copies are kept in step there). The view is
  /// invalidated when the graph changes (structure steps).
  virtual ArrayRef edge_state(const std::string& name) = 0;

  /// Names of the state arrays this backend exposes ("v", "threshold", ...).
  virtual std::vector<std::string> state_names() const = 0;
  /// A host view of a state array; throws InputError for an unknown name.
  virtual ArrayRef state(const std::string& name) = 0;
  /// Called after the user wrote the state array `name` through its view (for
  /// example Simulation::set_state), so the backend can refresh what it derives
  /// from it (the CPU backend's flow weights depend on "alive"). Default: nothing.
  virtual void state_written(const std::string& name) { (void)name; }
  /// Bytes of state held by the backend (excluding the graph).
  virtual std::size_t memory_bytes() const = 0;
  /// Host/device traffic so far (see TransferStats); zeros by default.
  virtual TransferStats transfers() const { return {}; }

  /// Checkpoints: write everything needed to continue bit-identically, beyond the
  /// graph and the configuration (state arrays, live weights, delay rings, the last
  /// step's spikes, the synaptic gain), as sections named "backend/...". The
  /// default throws BackendError (a backend that cannot checkpoint).
  virtual void save_state(io::SnapshotWriter& out) const;
  /// Read what save_state wrote into a backend built from the same graph and
  /// configuration. Checks every section (presence, dtype, size) before changing
  /// anything; throws IoError naming the section otherwise.
  virtual void load_state(const io::SnapshotReader& in);
};

/// Availability of one backend, as build_info() reports it.
struct BackendInfo {
  std::string name;
  bool compiled = false;
  bool available = false;
  std::string detail;  ///< e.g. "2 threads", "not compiled in (SPIKEGRAPH_CUDA=OFF)"
};

std::vector<BackendInfo> available_backends();

/// Create a backend by name ("cpu", "cuda" or "auto": cuda when available, else
/// cpu). Throws BackendError when the named backend is not available, never
/// falling back silently. The graph must outlive the backend.
std::unique_ptr<Backend> make_backend(const std::string& name, const Graph& graph,
                                      const config::Config& cfg);

/// Builds the backend of a simulation from its graph and configuration. A
/// Simulation made without one uses make_backend(cfg "sim.backend"); tests and
/// embedders pass their own (another executor, a backend of their own) and get the
/// same coordinator, services and checkpoints around it.
using BackendFactory = std::function<std::unique_ptr<Backend>(const Graph&, const config::Config&)>;

}  // namespace spikegraph
