// spikegraph/state/node_state.hpp
// The per-node state variables, declared once. Every backend allocates one array per
// row of this table (n elements of the row's type); Backend::state() and
// state_names(), the checkpoint sections "backend/<name>", a newborn node's reset
// (structural plasticity), the monitor's choices, memory accounting and the Python
// views all come from it. Adding a state variable is one row here (and an enumerator
// of NodeVar) plus the code that uses it. A row that only some neuron models use is
// allocated only when a node type uses such a model (its `feature`).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/state/arrays.hpp"

namespace spikegraph {

/// The node state variables, in the order of the table (and of state_names()).
enum class NodeVar : std::uint8_t {
  v,
  threshold,
  drive,
  energy,
  refractory,
  last_spike,
  alive,
  phase,
  trace_pre,
  trace_post,
  rate,
  i_syn_ex,
  i_syn_in,
  u,
  poisson_rate,
};
constexpr int kNodeVarCount = 15;

/// When a variable is allocated: always, or only when some node type runs a model
/// that needs it.
enum class VarFeature : std::uint8_t {
  always,
  exp_synapses,  ///< a type with node.<type>.model = "lif_exp"
  recovery,      ///< a type with node.<type>.model = "izhikevich"
};

/// The features a simulation's node types need (from their neuron models).
struct NodeFeatures {
  bool exp_synapses = false;
  bool recovery = false;
  bool has(VarFeature f) const {
    return f == VarFeature::always || (f == VarFeature::exp_synapses && exp_synapses) ||
           (f == VarFeature::recovery && recovery);
  }
};

/// Element type of a variable: `real` is the simulation's precision (sim.precision:
/// float32 or float64), the others are fixed.
enum class VarType : std::uint8_t { real, u8, u16, i32 };

/// What a node born by structural plasticity starts with.
enum class NewbornValue : std::uint8_t {
  keep,           ///< set by the structure service itself (energy, alive) or irrelevant (phase)
  zero,           ///< 0
  minus_one,      ///< -1 ("never")
  rest,           ///< the newborn type's v_rest
  base_threshold,  ///< the newborn type's configured threshold
  type_poisson_rate  ///< the newborn type's configured node.<type>.poisson_rate
};

/// One row of the table.
struct NodeVarInfo {
  NodeVar id;
  const char* name;
  VarType type;
  const char* unit;        ///< "" for dimensionless values and flags
  const char* meaning;     ///< one line, for docs, errors and Python's state_info()
  const char* written_by;  ///< the phase (or service) that changes it during a run
  NewbornValue newborn;
  bool monitorable;        ///< may be named in monitor.variables
  VarFeature feature = VarFeature::always;  ///< when it is allocated
};

/// The table, indexed by NodeVar.
inline constexpr std::array<NodeVarInfo, kNodeVarCount> kNodeVars{{
    {NodeVar::v, "v", VarType::real, "mV", "membrane potential", "neuron_update", NewbornValue::rest, true},
    {NodeVar::threshold, "threshold", VarType::real, "mV", "firing threshold (adapted by homeostasis)",
     "homeostasis", NewbornValue::base_threshold, true},
    {NodeVar::drive, "drive", VarType::real, "mV", "constant input per step (sensory input, stimuli)", "sensory",
     NewbornValue::zero, true},
    {NodeVar::energy, "energy", VarType::real, "", "energy (spent by spikes and metabolism, moved along edges)",
     "energy", NewbornValue::keep, true},
    {NodeVar::refractory, "refractory", VarType::u16, "steps", "refractory steps left", "neuron_update",
     NewbornValue::zero, true},
    {NodeVar::last_spike, "last_spike", VarType::i32, "steps", "step of the last spike (-1: never)",
     "neuron_update", NewbornValue::minus_one, true},
    {NodeVar::alive, "alive", VarType::u8, "", "1 for a live node, 0 for a dead or unborn one", "structure",
     NewbornValue::keep, false},
    {NodeVar::phase, "phase", VarType::i32, "steps", "step within an oscillator's period", "neuron_update",
     NewbornValue::keep, false},
    {NodeVar::trace_pre, "trace_pre", VarType::real, "", "presynaptic STDP trace", "learning", NewbornValue::zero,
     true},
    {NodeVar::trace_post, "trace_post", VarType::real, "", "postsynaptic STDP trace", "learning",
     NewbornValue::zero, true},
    {NodeVar::rate, "rate", VarType::real, "Hz", "firing-rate estimate (homeostasis)", "homeostasis",
     NewbornValue::zero, true},
    {NodeVar::i_syn_ex, "i_syn_ex", VarType::real, "mV", "excitatory synaptic current (lif_exp; in units of drive)",
     "neuron_update", NewbornValue::zero, true, VarFeature::exp_synapses},
    {NodeVar::i_syn_in, "i_syn_in", VarType::real, "mV",
     "inhibitory synaptic current, <= 0 (lif_exp; in units of drive)", "neuron_update", NewbornValue::zero, true,
     VarFeature::exp_synapses},
    {NodeVar::u, "u", VarType::real, "mV", "recovery variable (izhikevich)", "neuron_update", NewbornValue::zero, true,
     VarFeature::recovery},
    {NodeVar::poisson_rate, "poisson_rate", VarType::real, "Hz",
     "rate of the node's independent Poisson input (its type's node.<type>.poisson_rate unless set per node)",
     "set_state", NewbornValue::type_poisson_rate, true},
}};

/// The row of `v`.
constexpr const NodeVarInfo& node_var(NodeVar v) { return kNodeVars[static_cast<int>(v)]; }

/// The row named `name`, or null.
const NodeVarInfo* find_node_var(const std::string& name);

/// The names in table order.
std::vector<std::string> node_var_names();
/// The names of the variables allocated with `features`, in table order.
std::vector<std::string> node_var_names(const NodeFeatures& features);
/// "state: variable 'u' is not allocated (...)": the error for a known variable that
/// no node type of this simulation uses.
std::string unallocated_node_var_message(const NodeVarInfo& row);

/// The dtype of a variable in a simulation of the given precision (real: f32 or f64).
DType node_var_dtype(const NodeVarInfo& info, bool double_precision);

/// "unknown variable 'x' (known: v, threshold, ...)", for errors.
std::string unknown_node_var_message(const std::string& name);

/// The per-edge state variables (float32, graph edge order): "weight" always,
/// "eligibility" with learning.rule = "eligibility" and plastic edges.
std::vector<std::string> edge_var_names(bool with_eligibility);
/// The error for an unknown or unallocated edge variable.
std::string unknown_edge_var_message(const std::string& name);

}  // namespace spikegraph
