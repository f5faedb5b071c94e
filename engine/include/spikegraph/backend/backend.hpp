// spikegraph/backend/backend.hpp
// A backend owns the simulation state (structure of arrays in its memory) and
// runs the per-phase kernels over it. Backends only loop and launch: the
// per-element math is in spikegraph/kernels/. Select one with make_backend().
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"
#include "spikegraph/state/arrays.hpp"

namespace spikegraph {

class Graph;
namespace config {
class Config;
}

/// Floating-point type of the node state.
enum class Precision { float32, float64 };

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

  /// Names of the state arrays this backend exposes ("v", "threshold", ...).
  virtual std::vector<std::string> state_names() const = 0;
  /// A host view of a state array; throws InputError for an unknown name.
  virtual ArrayRef state(const std::string& name) = 0;
  /// Bytes of state held by the backend (excluding the graph).
  virtual std::size_t memory_bytes() const = 0;
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

}  // namespace spikegraph
