// Private (CUDA backend): the per-thread bodies of every kernel of the step.
//
// Each body is a small struct of raw pointers and parameters with an SG_HD
// operator()(i) for thread i. The CUDA executor launches it as one thread per
// index (cuda_exec.cuh); the host executor of the tests calls it in a loop
// (host_exec.hpp), so the host tests run exactly this code. The per-element math is
// the CPU backend's own: both call the same kernels/*.hpp functions (the neuron step,
// the energy and flow terms, the STDP changes, homeostasis) and share the ledger's
// block layout (backend/ledger_blocks.hpp); what differs is only how the work is
// split over threads and in which order sums are taken, which the bodies keep equal
// to the CPU's (tests_cpp/backend/test_cuda_emulation.cpp checks it bit for bit).
//
// Threads of one launch never write the same element, and no thread reads what
// another thread of the same launch writes (the host executor runs the indices in
// reverse order to catch a body that would depend on it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/ledger_blocks.hpp"
#include "backend/node_arrays.hpp"
#include "spikegraph/core/types.hpp"
#include "spikegraph/kernels/energy.hpp"
#include "spikegraph/kernels/hd.hpp"
#include "spikegraph/kernels/learning.hpp"
#include "spikegraph/kernels/math.hpp"
#include "spikegraph/kernels/neuron.hpp"
#include "spikegraph/kernels/params.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/kernels/synapse.hpp"

namespace spikegraph::gpu {

// Energy-ledger sums per block of nodes (each block's sum in node order, in one
// thread), then over blocks in order: backend/ledger_blocks.hpp, shared with the CPU.
using namespace ledger_blocks;

/// Threads that share one spike's edge row (depression, potentiation, the sparse
/// delivery's expansion): thread i works on row i / kRowThreads, edges
/// lane, lane + kRowThreads, ... (lane = i % kRowThreads), so a warp reads a row
/// contiguously. Each edge of a row belongs to exactly one thread.
constexpr std::size_t kRowThreads = 32;

/// Flags per by-target slot (the CPU backend's in_flags_).
constexpr std::uint8_t kInPlastic = 1;
constexpr std::uint8_t kInCarriesEnergy = 2;

constexpr std::uint8_t kInhibitory = static_cast<std::uint8_t>(EdgeKind::inhibitory);

/// Per-node-type parameters of the neuron update and delivery (from ModelParams).
template <class Real>
struct TypeParams {
  kernels::NeuronParams<Real> neuron[kNodeTypeCount];
  kernels::ModelConstants<Real> model[kNodeTypeCount];  ///< constants of the models other than lif
  std::int32_t oscillator_period[kNodeTypeCount];  ///< 0: not an oscillator
  std::uint8_t ignores_input[kNodeTypeCount];
  Real out_gain[kNodeTypeCount];
  Real flow_factor[kNodeTypeCount];              ///< c_s of the energy flow
  std::uint8_t adapts_threshold[kNodeTypeCount];
  Real target_rate[kNodeTypeCount];  ///< homeostasis' target rate, Hz
  Real threshold_lo[kNodeTypeCount], threshold_hi[kNodeTypeCount];  ///< homeostasis bounds
};

// ---------------------------------------------------------------- neuron update

/// Phase neuron_update, one thread per node: Poisson input, integration, threshold
/// (CPU: update_segment + update_nodes, or update_oscillators for oscillator types;
/// last_spike is stamped here instead of in collect_spikes, with the same result).
template <class Real>
struct NodeUpdate {
  TypeParams<Real> tp;
  /// The Poisson tables (backend/poisson_tables.hpp): thresholds, each table's offset
  /// and size, each node's table.
  const std::uint32_t* poisson_thresholds;
  const std::uint32_t* poisson_offset;
  const std::int32_t* poisson_size;
  const std::uint16_t* poisson_table;
  kernels::RngKey key;
  std::int64_t step;
  const std::uint8_t* type;
  NodeView<Real> node;  ///< the node state table's arrays
  Real* input;      ///< the ring slot of this step
  Real* input_inh;  ///< its inhibitory channel (null unless the ring is split: a type runs lif_exp)
  std::uint8_t* spiked;

  SG_HD void operator()(std::size_t i) const {
    const std::uint8_t ty = type[i];
    const kernels::NeuronParams<Real>& p = tp.neuron[ty];
    const std::int32_t period = tp.oscillator_period[ty];
    std::uint8_t fired = 0;
    if (period > 0) {
      if (node.alive[i]) {
        if (node.phase[i] > 0) {
          --node.phase[i];
        } else {
          node.phase[i] = period - 1;
          fired = node.energy[i] >= p.spike_energy_min ? 1 : 0;
        }
      }
    } else {
      const bool ignores = tp.ignores_input[ty] != 0;
      std::uint32_t count = 0;
      const std::uint16_t table = poisson_table[i];
      if (poisson_size[table] > 0 && !ignores) {
        const std::uint32_t u = kernels::draw_u32(key, static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(step));
        count = kernels::poisson_from_table(u, poisson_thresholds + poisson_offset[table], poisson_size[table]);
      }
      fired = static_cast<std::uint8_t>(kernels::model_step(p, tp.model[ty], node, i, input[i],
                                                            input_inh ? input_inh[i] : Real(0),
                                                            input_inh != nullptr, count,
                                                            ignores ? Real(0) : Real(1)));
    }
    input[i] = Real(0);  // consumed (oscillators ignore input)
    if (input_inh) input_inh[i] = Real(0);
    spiked[i] = fired;
    if (fired) node.last_spike[i] = static_cast<std::int32_t>(step);
  }
};

/// The identity 0, 1, 2, ...: the input of the ascending spike-list selection.
struct Iota {
  std::uint32_t* out;
  SG_HD void operator()(std::size_t i) const { out[i] = static_cast<std::uint32_t>(i); }
};

// ---------------------------------------------------------------- delivery

/// The effective weight of one edge of a spiking source (CPU: deliver_range).
template <class Real>
SG_HD inline Real contribution(const kernels::SynapseParams<Real>& syn, Real source_energy, Real source_gain,
                               std::uint8_t kind, float weight) {
  Real factor[kEdgeKindCount];
  kernels::spike_factors(syn, source_energy, source_gain, factor);
  return factor[kind] * static_cast<Real>(weight);
}

/// The ring row of an edge with `delay` and `kind` for a spike emitted at the step
/// whose slot is base_slot (CPU: deliver_range, same size_t arithmetic): its slot,
/// plus `inh_rows` (the slot count when the ring has an inhibitory channel, else 0)
/// for inhibitory edges.
SG_HD inline std::size_t ring_slot(std::size_t base_slot, std::uint16_t delay, std::size_t slots, std::uint8_t kind,
                                   std::size_t inh_rows) {
  std::size_t slot = base_slot + delay;
  if (slot >= slots) slot -= slots;
  return kind == static_cast<std::uint8_t>(EdgeKind::inhibitory) ? slot + inh_rows : slot;
}

/// Sparse delivery, step 1: kRowThreads threads per spiking source write one event
/// per out-edge: its key slot * n + target, its contribution and its own index
/// (the payload the stable sort carries).
template <class Real>
struct DeliverExpand {
  kernels::SynapseParams<Real> syn;
  TypeParams<Real> tp;
  Real synaptic_gain;  ///< the homeostatic gain (kernels::source_gain)
  const index_t* spikes;
  const std::uint32_t* row_start;
  const offset_t* out_offsets;
  const index_t* target;
  const std::uint16_t* delay;
  const std::uint8_t* kind;
  const float* weight;
  const std::uint8_t* type;
  const Real* energy;
  std::size_t base_slot;
  std::size_t slots;
  std::size_t inh_rows;  ///< see ring_slot
  std::size_t nodes;
  std::uint64_t* keys;
  std::uint32_t* order;
  Real* contrib;

  SG_HD void operator()(std::size_t i) const {
    const std::size_t k = i / kRowThreads;
    const std::size_t lane = i % kRowThreads;
    const index_t s = spikes[k];
    const offset_t begin = out_offsets[s];
    const offset_t end = out_offsets[s + 1];
    const Real e_s = energy[s];
    const std::uint8_t ty = type[s];
    const Real gain = kernels::source_gain(tp.out_gain[ty], tp.ignores_input[ty] != 0, synaptic_gain);
    for (offset_t e = begin + lane; e < end; e += kRowThreads) {
      const std::uint32_t q = row_start[k] + static_cast<std::uint32_t>(e - begin);
      const std::size_t slot = ring_slot(base_slot, delay[e], slots, kind[e], inh_rows);
      keys[q] = static_cast<std::uint64_t>(slot) * nodes + target[e];
      order[q] = q;
      contrib[q] = contribution(syn, e_s, gain, kind[e], weight[e]);
    }
  }
};

/// Sparse delivery, step 2 (after the stable sort by key): the first thread of each
/// run of equal keys adds the run's contributions to its ring element, in order.
template <class Real>
struct SegmentAdd {
  const std::uint64_t* keys;   ///< sorted
  const std::uint32_t* order;  ///< event index of each sorted key
  const Real* contrib;         ///< by event index
  std::size_t events;
  Real* ring;

  SG_HD void operator()(std::size_t q) const {
    const std::uint64_t key = keys[q];
    if (q > 0 && keys[q - 1] == key) return;
    Real r = ring[key];
    for (std::size_t p = q; p < events && keys[p] == key; ++p) r += contrib[order[p]];
    ring[key] = r;
  }
};

/// Dense delivery: flags[s] = 1 for each spiking source (flags zeroed before).
struct MarkSpikes {
  const index_t* spikes;
  std::uint8_t* flags;
  SG_HD void operator()(std::size_t k) const { flags[spikes[k]] = 1; }
};

/// Dense delivery: one thread per target walks its in-list in edge order.
template <class Real>
struct DeliverDense {
  kernels::SynapseParams<Real> syn;
  TypeParams<Real> tp;
  Real synaptic_gain;  ///< the homeostatic gain (kernels::source_gain)
  const std::uint8_t* flags;
  const offset_t* in_offsets;
  const index_t* in_edges;
  const index_t* in_sources;
  const std::uint16_t* delay;
  const std::uint8_t* kind;
  const float* weight;
  const std::uint8_t* type;
  const Real* energy;
  std::size_t base_slot;
  std::size_t slots;
  std::size_t inh_rows;  ///< see ring_slot
  std::size_t nodes;
  Real* ring;

  SG_HD void operator()(std::size_t j) const {
    const offset_t end = in_offsets[j + 1];
    for (offset_t p = in_offsets[j]; p < end; ++p) {
      const index_t s = in_sources[p];
      if (!flags[s]) continue;
      const index_t e = in_edges[p];
      const std::size_t slot = ring_slot(base_slot, delay[e], slots, kind[e], inh_rows);
      const Real gain = kernels::source_gain(tp.out_gain[type[s]], tp.ignores_input[type[s]] != 0, synaptic_gain);
      ring[slot * nodes + j] += contribution(syn, energy[s], gain, kind[e], weight[e]);
    }
  }
};

// ---------------------------------------------------------------- stimuli

/// add_input / change_drive: `sequential` runs one thread over every node in list
/// order (a node may appear twice); otherwise one thread per (distinct) node.
template <class Real>
struct AddInput {
  const index_t* nodes;
  std::size_t count;
  bool sequential;
  Real value;
  Real* input;  ///< the ring slot of the step
  SG_HD void operator()(std::size_t i) const {
    if (!sequential) {
      input[nodes[i]] += value;
      return;
    }
    for (std::size_t k = 0; k < count; ++k) input[nodes[k]] += value;
  }
};

template <class Real>
struct ChangeDrive {
  const index_t* nodes;
  std::size_t count;
  bool sequential;
  bool add;
  Real value;
  Real* drive;
  SG_HD void apply(index_t node) const { drive[node] = add ? drive[node] + value : value; }
  SG_HD void operator()(std::size_t i) const {
    if (!sequential) {
      apply(nodes[i]);
      return;
    }
    for (std::size_t k = 0; k < count; ++k) apply(nodes[k]);
  }
};

// ---------------------------------------------------------------- energy

/// The partial sums one lane of a row keeps (for_each_row in the executors): N sums
/// that lanes combine member by member, lane l += lane l + w for w = 8, 4, 2, 1 (the
/// tree of kernels::combine_flow_lanes).
template <class Real, int N>
struct RowLanes {
  static constexpr int kCount = N;
  Real v[N];
  SG_HD void add(const RowLanes& o) {
    for (int k = 0; k < N; ++k) v[k] += o.v[k];
  }
};

// The ledger's per-block sums are sequential in node order (the CPU's order), so each
// block is one thread. What each node contributes is computed first, one thread per
// node (coalesced, in parallel); the block threads then only add arrays of terms,
// with no stores inside their loops, so loads of many terms are in flight at once.
// A term t computed as 0 + t adds exactly like t: a float sum that starts at +0 never
// becomes -0, so the sums equal the CPU's running sums bit for bit.

/// Calls add(load(i)) for i = lo .. hi-1 in order, loading kSumChunk terms before adding
/// them: the loads of a chunk are in flight together, while the sums keep node order.
constexpr std::size_t kSumChunk = 16;
template <class Term, class Load, class Add>
SG_HD inline void sum_in_order(std::size_t lo, std::size_t hi, const Load& load, const Add& add) {
  std::size_t i = lo;
  for (; i + kSumChunk <= hi; i += kSumChunk) {
    Term t[kSumChunk];
    for (std::size_t k = 0; k < kSumChunk; ++k) t[k] = load(i + k);
    for (std::size_t k = 0; k < kSumChunk; ++k) add(t[k]);
  }
  for (; i < hi; ++i) add(load(i));
}

/// Pass 1 of the energy phase, one thread per node (CPU: update_energy's first
/// for_blocks, per node): spike cost and metabolism in place; the node's terms of the
/// ledger (energy before, cost, metabolism) for EnergySpendBlocks.
template <class Real>
struct EnergySpendNodes {
  kernels::EnergyParams<Real> ep;
  Real* energy;
  const std::uint8_t* alive;
  const std::uint8_t* spiked;
  Real* before;      ///< the energy before (term of kBefore)
  Real* cost;        ///< term of kCost
  Real* metabolism;  ///< term of kMetabolism

  SG_HD void operator()(std::size_t i) const {
    if (!alive[i]) {  // not part of the sums (EnergySpendBlocks skips them); written so that it may load them
      before[i] = cost[i] = metabolism[i] = Real(0);
      return;
    }
    Real c = 0, m = 0;
    before[i] = energy[i];
    energy[i] = kernels::spend_energy(ep, energy[i], spiked[i] != 0, c, m);
    cost[i] = c;
    metabolism[i] = m;
  }
};

/// Pass 1, one thread per ledger block: the block's sums of the spend terms, in node
/// order over alive nodes.
template <class Real>
struct EnergySpendBlocks {
  std::size_t nodes;
  const std::uint8_t* alive;
  const Real* before;
  const Real* cost_terms;
  const Real* metabolism_terms;
  double* sums;  ///< kColumns per block, zeroed before

  SG_HD void operator()(std::size_t b) const {
    const std::size_t lo = b * kLedgerBlock;
    const std::size_t hi = lo + kLedgerBlock < nodes ? lo + kLedgerBlock : nodes;
    double total = 0;
    Real cost = 0, metabolism = 0;
    struct Term {
      bool alive;
      Real before, cost, metabolism;
    };
    sum_in_order<Term>(
        lo, hi,
        [&](std::size_t i) { return Term{alive[i] != 0, before[i], cost_terms[i], metabolism_terms[i]}; },
        [&](const Term& t) {
          if (!t.alive) return;
          total += t.before;
          cost += t.cost;
          metabolism += t.metabolism;
        });
    double* s = sums + b * kColumns;
    s[kBefore] = total;
    s[kCost] = cost;
    s[kMetabolism] = metabolism;
  }
};

/// The energy phase without flow, one thread per node: the clamp (CPU: update_energy's
/// second for_blocks, per node) and its overflow term.
template <class Real>
struct EnergyClampNodes {
  kernels::EnergyParams<Real> ep;
  Real* energy;
  const std::uint8_t* alive;
  Real* overflow;  ///< term of kOverflow

  SG_HD void operator()(std::size_t i) const {
    Real o = 0;
    if (alive[i]) energy[i] = kernels::clamp_energy(ep, energy[i], o);
    overflow[i] = o;
  }
};

/// The sums after the clamp or the flow, one thread per ledger block: inflow (when
/// `inflow` is set), overflow and the total after, in node order over alive nodes.
template <class Real>
struct EnergyAfterBlocks {
  std::size_t nodes;
  const std::uint8_t* alive;
  const Real* inflow;  ///< null without flow
  const Real* overflow_terms;
  const Real* energy_after;
  double* sums;

  SG_HD void operator()(std::size_t b) const {
    const std::size_t lo = b * kLedgerBlock;
    const std::size_t hi = lo + kLedgerBlock < nodes ? lo + kLedgerBlock : nodes;
    double in = 0, after = 0;
    Real overflow = 0;
    struct Term {
      bool alive;
      Real in, overflow, after;
    };
    sum_in_order<Term>(
        lo, hi,
        [&](std::size_t j) {
          return Term{alive[j] != 0, inflow ? inflow[j] : Real(0), overflow_terms[j], energy_after[j]};
        },
        [&](const Term& t) {
          if (!t.alive) return;
          if (inflow) in += t.in;
          overflow += t.overflow;
          after += t.after;
        });
    double* s = sums + b * kColumns;
    if (inflow) s[kFlowIn] = in;
    s[kOverflow] = overflow;
    s[kAfter] = after;
  }
};

/// Flow pass 1, kFlowLanes threads per source (CPU: flow_pass_out's node loop): lane l
/// takes the row's terms l, l + 16, ... (kernels::flow_out_lane), the lanes are joined in
/// the tree of kernels::flow_out_row, then the scale and the total outflow.
template <class Real>
struct FlowOutRows {
  using Lanes = RowLanes<Real, 2>;  // the row's weight sum and drop sum
  static constexpr unsigned kLanes = kernels::kFlowLanes;
  kernels::EnergyParams<Real> ep;
  const offset_t* out_offsets;
  const index_t* target;
  const float* weight;
  const std::uint8_t* carries;
  const std::uint8_t* type;
  Real flow_factor[kNodeTypeCount];  ///< c_s per type
  const std::uint8_t* alive;
  const Real* energy;
  kernels::FlowSource<Real>* sources;
  Real* flow_out;

  SG_HD Lanes lane(std::size_t s, unsigned l) const {
    Lanes x{};
    if (alive[s]) {
      const offset_t first = out_offsets[s];
      const auto count = static_cast<std::uint32_t>(out_offsets[s + 1] - first);
      kernels::flow_out_lane(target + first, weight + first, carries + first, count, l, energy, energy[s], x.v[0],
                             x.v[1]);
    }
    return x;
  }
  SG_HD void finish(std::size_t s, const Lanes& row) const {
    Real scale = 0, out = 0;
    if (alive[s]) {
      scale = kernels::flow_scale(ep, row.v[0], flow_factor[type[s]]);
      out = scale * row.v[1];
    }
    sources[s] = kernels::FlowSource<Real>{energy[s], scale};
    flow_out[s] = out;
  }
};

/// Flow pass 1, one thread per ledger block: the block's outflow in node order.
template <class Real>
struct FlowOutBlocks {
  std::size_t nodes;
  const Real* flow_out;
  double* sums;
  SG_HD void operator()(std::size_t b) const {
    const std::size_t lo = b * kLedgerBlock;
    const std::size_t hi = lo + kLedgerBlock < nodes ? lo + kLedgerBlock : nodes;
    double out_sum = 0.0;
    sum_in_order<Real>(lo, hi, [&](std::size_t s) { return flow_out[s]; }, [&](Real t) { out_sum += t; });
    sums[b * kColumns + kFlowOut] = out_sum;
  }
};

/// Flow pass 2, kFlowLanes threads per target (CPU: flow_pass_in's node loop): the
/// inflow of kernels::flow_in_row (lane by lane, joined in its tree), the new energy
/// after the clamp, and the node's inflow and clamp terms for EnergyAfterBlocks.
template <class Real>
struct FlowInRows {
  using Lanes = RowLanes<Real, 1>;
  static constexpr unsigned kLanes = kernels::kFlowLanes;
  kernels::EnergyParams<Real> ep;
  const offset_t* in_offsets;
  const index_t* in_sources;
  const float* in_flow_weight;
  const kernels::FlowSource<Real>* sources;
  const Real* flow_out;
  const std::uint8_t* alive;
  const Real* energy;
  Real* energy_next;
  Real* inflow;
  Real* overflow;

  SG_HD Lanes lane(std::size_t j, unsigned l) const {
    Lanes x{};
    if (alive[j]) {  // dead sources have scale 0; inhibitory edges have flow weight 0
      const offset_t first = in_offsets[j];
      const auto count = static_cast<std::uint32_t>(in_offsets[j + 1] - first);
      x.v[0] = kernels::flow_in_lane(in_sources + first, in_flow_weight + first, count, l, sources, energy[j]);
    }
    return x;
  }
  SG_HD void finish(std::size_t j, const Lanes& row) const {
    if (!alive[j]) {
      energy_next[j] = energy[j];
      inflow[j] = overflow[j] = Real(0);  // not part of the sums; written so that EnergyAfterBlocks may load them
      return;
    }
    Real o = 0;
    energy_next[j] = kernels::clamp_energy(ep, energy[j] - flow_out[j] + row.v[0], o);
    inflow[j] = row.v[0];
    overflow[j] = o;
  }
};

/// The ledger: one thread per column adds the column's block sums in block order
/// (CPU: the loop at the end of update_energy; each column's sum is independent).
struct LedgerTotal {
  const double* sums;
  std::size_t blocks;
  double* total;  ///< kColumns
  SG_HD void operator()(std::size_t c) const {
    double t = 0;
    for (std::size_t b = 0; b < blocks; ++b) t += sums[b * kColumns + c];
    total[c] = t;
  }
};

template <class T>
struct CopyArray {
  const T* src;
  T* dst;
  SG_HD void operator()(std::size_t i) const { dst[i] = src[i]; }
};

// ---------------------------------------------------------------- energy-flow and learning index

/// One thread per by-target slot k (CPU: build_flow_index): whether the slot's edge
/// carries energy (not inhibitory, target alive), its flow weight, and with plastic
/// edges the edge -> slot map and the slot's flags. Null arrays are not written.
struct BuildFlowIndex {
  const index_t* in_edges;
  const index_t* target;
  const std::uint8_t* kind;
  const std::uint8_t* plastic;  ///< per edge (only read when edge_slot is set)
  const std::uint8_t* alive;
  const float* weight;
  std::uint8_t* out_carries;    ///< per edge (energy)
  float* in_flow_weight;        ///< per slot (energy)
  index_t* edge_slot;           ///< per edge (plastic)
  std::uint8_t* in_flags;       ///< per slot (plastic)

  SG_HD void operator()(std::size_t k) const {
    const index_t e = in_edges[k];
    const bool carries = kind[e] != kInhibitory && alive[target[e]] != 0;
    if (in_flow_weight) {
      in_flow_weight[k] = carries ? weight[e] : 0.0f;
      out_carries[e] = carries ? 1 : 0;
    }
    if (edge_slot) {
      edge_slot[e] = static_cast<index_t>(k);
      in_flags[k] = static_cast<std::uint8_t>((plastic[e] ? kInPlastic : 0) | (carries ? kInCarriesEnergy : 0));
    }
  }
};

/// Per-edge state following its edge into a new graph (CPU: replace_graph): new edge k
/// continues old edge order[k] when order[k] < old_edges, else takes `fresh[k]`
/// (the new graph's weight; null: 0).
struct GatherEdgeState {
  const index_t* order;
  std::size_t old_edges;
  const float* old_values;  ///< null: no old values (every edge fresh)
  const float* fresh;
  float* out;
  SG_HD void operator()(std::size_t k) const {
    const index_t o = order[k];
    if (old_values && o < old_edges) {
      out[k] = old_values[o];
    } else {
      out[k] = fresh ? fresh[k] : 0.0f;
    }
  }
};

// ---------------------------------------------------------------- learning

/// Writes a plastic edge's weight and, with energy on, its by-target flow copy
/// (CPU: store_weight).
SG_HD inline void store_weight(float* weights, float* in_flow_weight, const std::uint8_t* in_flags, offset_t edge,
                               offset_t slot, float w) {
  weights[edge] = w;
  if (in_flow_weight && (in_flags[slot] & kInCarriesEnergy) != 0) in_flow_weight[slot] = w;
}

/// The arrays a weight change touches (CPU: apply_weight_change).
template <class Real>
struct WeightTarget {
  kernels::LearningParams<Real> lp;
  float* weights;
  float* eligibility;  ///< null unless learning.rule = "eligibility"
  float* in_flow_weight;  ///< null without energy
  const std::uint8_t* in_flags;

  SG_HD void apply(offset_t edge, offset_t slot, Real delta) const {
    if (eligibility) {
      eligibility[edge] += static_cast<float>(delta);
    } else {
      store_weight(weights, in_flow_weight, in_flags, edge, slot,
                   static_cast<float>(kernels::clamp_weight(lp, static_cast<Real>(weights[edge]) + delta)));
    }
  }
};

/// Trace decay of every node (CPU: update_learning's first loop).
template <class Real>
struct DecayTraces {
  Real decay_plus, decay_minus;
  Real* trace_pre;
  Real* trace_post;
  SG_HD void operator()(std::size_t i) const {
    trace_pre[i] *= decay_plus;
    trace_post[i] *= decay_minus;
  }
};

/// Spiking nodes add 1 to both traces (CPU: add_spikes_to_traces; spikes are distinct).
template <class Real>
struct AddSpikesToTraces {
  const index_t* spikes;
  Real* trace_pre;
  Real* trace_post;
  SG_HD void operator()(std::size_t k) const {
    const index_t s = spikes[k];
    trace_pre[s] += Real(1);
    trace_post[s] += Real(1);
  }
};

/// Eligibility decay and conversion on every plastic edge (CPU: update_learning's
/// eligibility loop; float arithmetic, std::max/std::min written out).
struct EligibilityStep {
  const std::uint8_t* plastic;
  const index_t* edge_slot;
  const std::uint8_t* in_flags;
  float* eligibility;
  float* weights;
  float* in_flow_weight;
  float decay, gain, lo, hi;
  SG_HD void operator()(std::size_t k) const {
    if (!plastic[k]) return;
    eligibility[k] *= decay;
    if (gain != 0.0f) {
      const float x = weights[k] + gain * eligibility[k];
      const float above = (lo < x) ? x : lo;         // std::max(lo, x)
      const float w = (above < hi) ? above : hi;     // std::min(hi, above)
      store_weight(weights, in_flow_weight, in_flags, k, edge_slot[k], w);
    }
  }
};

/// Depression at presynaptic spikes: kRowThreads threads per spiking source over its
/// out-row (CPU: update_learning's first spike loop). Rows are disjoint.
template <class Real>
struct Depression {
  WeightTarget<Real> wt;
  const index_t* spikes;
  const offset_t* out_offsets;
  const index_t* target;
  const std::uint8_t* plastic;
  const index_t* edge_slot;
  const std::uint8_t* alive;
  const Real* energy;
  const Real* trace_post;
  SG_HD void operator()(std::size_t i) const {
    const index_t s = spikes[i / kRowThreads];
    const offset_t end = out_offsets[s + 1];
    for (offset_t edge = out_offsets[s] + i % kRowThreads; edge < end; edge += kRowThreads) {
      const index_t j = target[edge];
      if (!plastic[edge] || !alive[j]) continue;
      const Real m = kernels::energy_modulation(wt.lp, energy[s], energy[j]);
      wt.apply(edge, edge_slot[edge], kernels::depression(wt.lp, trace_post[j], m));
    }
  }
};

/// Potentiation at postsynaptic spikes: kRowThreads threads per spiking target over its
/// in-list (CPU: update_learning's second spike loop). In-lists are disjoint.
template <class Real>
struct Potentiation {
  WeightTarget<Real> wt;
  const index_t* spikes;
  const offset_t* in_offsets;
  const index_t* in_edges;
  const index_t* in_sources;
  const std::uint8_t* alive;
  const Real* energy;
  const Real* trace_pre;
  SG_HD void operator()(std::size_t i) const {
    const index_t j = spikes[i / kRowThreads];
    const offset_t end = in_offsets[j + 1];
    for (offset_t slot = in_offsets[j] + i % kRowThreads; slot < end; slot += kRowThreads) {
      const index_t src = in_sources[slot];
      if ((wt.in_flags[slot] & kInPlastic) == 0 || !alive[src]) continue;
      const Real m = kernels::energy_modulation(wt.lp, energy[src], energy[j]);
      wt.apply(in_edges[slot], slot, kernels::potentiation(wt.lp, trace_pre[src], m));
    }
  }
};

// ---------------------------------------------------------------- homeostasis

/// The running rate of every node (CPU: update_rates).
template <class Real>
struct UpdateRates {
  kernels::HomeostasisParams<Real> hp;
  const std::uint8_t* alive;
  const std::uint8_t* spiked;
  Real* rate;
  SG_HD void operator()(std::size_t i) const {
    rate[i] = kernels::select_bits(alive[i] != 0, kernels::update_rate(hp, rate[i], spiked[i] != 0), rate[i]);
  }
};

/// Threshold adaptation of alive nodes of adapting types (CPU: adapt_thresholds).
template <class Real>
struct AdaptThresholds {
  kernels::HomeostasisParams<Real> hp;
  TypeParams<Real> tp;
  const std::uint8_t* type;
  const std::uint8_t* alive;
  const Real* rate;
  Real* threshold;
  SG_HD void operator()(std::size_t i) const {
    const std::uint8_t t = type[i];
    if (!tp.adapts_threshold[t] || !alive[i]) return;
    threshold[i] = kernels::adapt_threshold(hp, threshold[i], rate[i], tp.target_rate[t], tp.threshold_lo[t],
                                            tp.threshold_hi[t]);
  }
};

}  // namespace spikegraph::gpu
