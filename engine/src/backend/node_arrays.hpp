// Private (backends): a backend's node state, one array of n elements per row of the
// state table (spikegraph/state/node_state.hpp), in memory from an allocation policy
// (HostAlloc on the CPU, managed memory on a GPU), and the initial state every
// backend starts from. Nothing here names a variable except through the table, so a
// new row is allocated, exposed, checkpointed and counted without changes here.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "buffer.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/sim/model_params.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph {

/// The C++ element type of a VarType (`real` is Real).
template <class Real, VarType T>
struct VarElement;
template <class Real>
struct VarElement<Real, VarType::real> {
  using type = Real;
};
template <class Real>
struct VarElement<Real, VarType::u8> {
  using type = std::uint8_t;
};
template <class Real>
struct VarElement<Real, VarType::u16> {
  using type = std::uint16_t;
};
template <class Real>
struct VarElement<Real, VarType::i32> {
  using type = std::int32_t;
};
/// The C++ element type of node variable V.
template <class Real, NodeVar V>
using NodeVarType = typename VarElement<Real, node_var(V).type>::type;

/// Typed pointers to every node state array (what the phases' loops and kernel bodies
/// read and write), valid as long as the NodeArrays they came from.
template <class Real>
struct NodeView {
  Real* v;
  Real* threshold;
  Real* drive;
  Real* energy;
  std::uint16_t* refractory;
  std::int32_t* last_spike;
  std::uint8_t* alive;
  std::int32_t* phase;
  Real* trace_pre;
  Real* trace_post;
  Real* rate;
  Real* i_syn_ex;  ///< null unless a type runs lif_exp
  Real* i_syn_in;  ///< null unless a type runs lif_exp
  Real* u;         ///< null unless a type runs izhikevich
  Real* poisson_rate;
};

template <class Real, class Alloc>
class NodeArrays {
 public:
  NodeArrays() = default;
  /// Arrays of `nodes` elements for every row of the table that `features` allocate
  /// (contents undefined); the other rows stay empty.
  NodeArrays(std::size_t nodes, const NodeFeatures& features) : nodes_(nodes), features_(features) {
    for (const auto& row : kNodeVars) {
      if (features.has(row.feature)) buffers_[index(row.id)].resize(nodes * dtype_size(dtype(row)), row.name);
    }
  }

  /// Typed pointer to variable V (null when it is not allocated).
  template <NodeVar V>
  NodeVarType<Real, V>* get() {
    if (!allocated(node_var(V))) return nullptr;
    return reinterpret_cast<NodeVarType<Real, V>*>(buffers_[index(V)].data());
  }

  bool allocated(const NodeVarInfo& row) const { return features_.has(row.feature); }
  const NodeFeatures& features() const { return features_; }
  /// The allocated variables' names, in table order.
  std::vector<std::string> names() const { return node_var_names(features_); }

  /// Typed pointers to every array.
  NodeView<Real> view() {
    return NodeView<Real>{get<NodeVar::v>(),          get<NodeVar::threshold>(), get<NodeVar::drive>(),
                          get<NodeVar::energy>(),     get<NodeVar::refractory>(), get<NodeVar::last_spike>(),
                          get<NodeVar::alive>(),      get<NodeVar::phase>(),     get<NodeVar::trace_pre>(),
                          get<NodeVar::trace_post>(), get<NodeVar::rate>(),      get<NodeVar::i_syn_ex>(),
                          get<NodeVar::i_syn_in>(),   get<NodeVar::u>(),         get<NodeVar::poisson_rate>()};
  }

  /// The array of `v` as a typed reference (what Backend::state() hands out).
  ArrayRef ref(NodeVar v) {
    return ArrayRef{buffers_[index(v)].data(), nodes_, dtype(node_var(v))};
  }
  /// The array named `name`; InputError naming the known ones, or saying that no
  /// node type uses it, otherwise.
  ArrayRef ref(const std::string& name) {
    const NodeVarInfo* row = find_node_var(name);
    if (!row) throw InputError(unknown_node_var_message(name));
    if (!allocated(*row)) throw InputError(unallocated_node_var_message(*row));
    return ref(row->id);
  }
  /// Read-only view of every array, in table order (for checkpoints); unallocated
  /// rows have size 0.
  std::array<ArrayRef, kNodeVarCount> refs() const {
    std::array<ArrayRef, kNodeVarCount> out;
    for (const auto& row : kNodeVars) {
      out[index(row.id)] = ArrayRef{const_cast<unsigned char*>(buffers_[index(row.id)].data()),
                                    allocated(row) ? nodes_ : 0, dtype(row)};
    }
    return out;
  }

  /// Overwrite every array with `bytes[k]` (the table's arrays in order, each
  /// nodes() elements: what backend_state::read_backend_state checked and returns).
  void assign(const std::array<std::vector<unsigned char>, kNodeVarCount>& bytes) {
    for (std::size_t k = 0; k < buffers_.size(); ++k) {
      if (!bytes[k].empty()) std::memcpy(buffers_[k].data(), bytes[k].data(), bytes[k].size());
    }
  }

  std::size_t bytes() const {
    std::size_t b = 0;
    for (const auto& buffer : buffers_) b += buffer.bytes();
    return b;
  }
  static DType dtype(const NodeVarInfo& row) { return node_var_dtype(row, sizeof(Real) == 8); }

 private:
  static constexpr std::size_t index(NodeVar v) { return static_cast<std::size_t>(v); }
  std::array<Buffer<unsigned char, Alloc>, kNodeVarCount> buffers_;
  std::size_t nodes_ = 0;
  NodeFeatures features_;
};

/// Every backend's initial node state: v drawn uniformly in [init.v_min, init.v_max]
/// (counter-based, per node), each type's threshold and drive, energy.initial, no
/// refractory time and no spike yet, alive, oscillators at a random phase of their
/// period, traces, rates and synaptic currents at 0, u = b v for Izhikevich nodes
/// (0 for others), each type's Poisson rate.
template <class Real, class Alloc>
void initialise_node_state(NodeArrays<Real, Alloc>& s, const Graph& graph, const ModelParams<Real>& params,
                           const config::Config& cfg) {
  const auto init_key = kernels::make_key(params.seed, static_cast<std::uint64_t>(kernels::RngStream::initial_state));
  const auto osc_key = kernels::make_key(params.seed, static_cast<std::uint64_t>(kernels::RngStream::oscillator_phase));
  std::array<Real, kNodeTypeCount> type_drive{};
  for (int t = 0; t < kNodeTypeCount; ++t) {
    type_drive[t] = static_cast<Real>(cfg.real(std::string("node.") + node_type_name(static_cast<NodeType>(t)) + ".drive"));
  }
  const NodeView<Real> x = s.view();
  const auto& types = graph.node_type();
  for (index_t i = 0; i < graph.num_nodes(); ++i) {
    const std::uint8_t type = types[i];
    const double u = kernels::draw_uniform(init_key, i, 0);
    x.v[i] = params.init_v_min == params.init_v_max
               ? params.init_v_min
               : static_cast<Real>(params.init_v_min + (params.init_v_max - params.init_v_min) * u);
    x.threshold[i] = params.neuron[type].threshold;
    x.drive[i] = type_drive[type];
    x.energy[i] = params.initial_energy;
    x.refractory[i] = 0;
    x.last_spike[i] = -1;
    x.alive[i] = 1;
    const std::int32_t period = params.oscillator_period[type];
    x.phase[i] = period > 0 ? static_cast<std::int32_t>(kernels::draw_u32(osc_key, i, 0) % period) : 0;
    x.trace_pre[i] = Real(0);
    x.trace_post[i] = Real(0);
    x.rate[i] = Real(0);
    x.poisson_rate[i] = static_cast<Real>(params.poisson_rate[type]);
    if (x.i_syn_ex) x.i_syn_ex[i] = x.i_syn_in[i] = Real(0);
    // Izhikevich nodes start at the fixed point of u for their initial v.
    if (x.u) x.u[i] = params.model_constants[type].izh_b * x.v[i];
  }
}

}  // namespace spikegraph
