// The CPU backend: node state as structure of arrays, a ring of input
// accumulators ([slot][node], one slot per step of delay), and per-phase loops
// split over threads by node (update) or by target range (delivery), so that
// every floating-point sum is taken in the same order for any thread count.
#include "cpu_backend.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "../ledger_blocks.hpp"
#include "../node_arrays.hpp"
#include "../poisson_tables.hpp"
#include "../state_sections.hpp"
#include "flow_rows.hpp"
#include "parallel.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/kernels/energy.hpp"
#include "spikegraph/kernels/learning.hpp"
#include "spikegraph/kernels/neuron.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/kernels/synapse.hpp"
#include "spikegraph/sim/model_params.hpp"
#include "spikegraph/sim/records.hpp"

namespace spikegraph {

namespace cpu {
int hardware_threads() {
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h);
}
}  // namespace cpu

namespace {

// Nodes are processed in blocks; Poisson counts of a block are computed first in a
// loop the compiler vectorises, then the neuron update.
constexpr std::size_t kBlock = 256;
// Below this many synaptic events a step's delivery runs on one thread (waking the
// team costs more than it saves).
constexpr std::size_t kParallelDeliveryEvents = 4096;
// Delivery prefetches the input slot of the edge this many edges ahead: the
// scattered adds are bound by cache-miss latency, not bandwidth.
constexpr offset_t kPrefetchAhead = 16;

// Smallest amounts of work worth a thread of its own (see cpu::parts_for).
// Neuron update: 2048 nodes (a Poisson draw and an exact integration each) are ~10 us,
// several times a fork of the pool: the 10% microcircuit (7.7k nodes) and the default
// network (5.5k) update 1.5-1.8x faster on 2 threads than on 1 with it (8192 kept them on one).
constexpr std::size_t kMinNodesPerThread = 2048;
constexpr std::size_t kMinSimpleNodesPerThread = 32768;  // one multiply per node or edge
constexpr std::size_t kMinSpikesPerThread = 16;          // STDP: a row of edges per spike

// Energy-ledger sums: per block of nodes, then over blocks (ledger_blocks.hpp).
using namespace ledger_blocks;

// A run of consecutive nodes of one type.
struct Segment {
  index_t begin;
  index_t end;
  std::uint8_t type;
};

// The neuron updates of `len` consecutive nodes of one type, one per neuron model.
// Free functions with restrict-qualified arrays and a local copy of the parameters,
// so the compiler can prove the stores do not alias and vectorises the loop; every
// store is unconditional and every choice a select (a conditional store would stop
// GCC from vectorising). last_spike is stamped in collect_spikes (spikes are rare).
// With kSplit, inhibitory input arrives in its own ring channel (`in_inh`); models
// with one input channel add it to the excitatory one.

template <class Real, bool kCoupled, bool kSplit>
void update_nodes(Real* __restrict v, std::uint16_t* __restrict refr, const Real* __restrict thr,
                  const Real* __restrict drive, const Real* __restrict energy, Real* __restrict in,
                  Real* __restrict in_inh, const std::uint32_t* __restrict counts, const std::uint8_t* __restrict alive,
                  std::uint8_t* __restrict spiked, std::size_t len, const kernels::NeuronParams<Real>& params,
                  bool ignores) {
  const kernels::NeuronParams<Real> p = params;  // a local copy: GCC then keeps it in registers
  const Real pw = p.poisson_weight;
  const Real keep_input = ignores ? Real(0) : Real(1);
  const kernels::Decay<Real> fixed{p.decay, p.drive_gain};
  for (std::size_t j = 0; j < len; ++j) {
    Real synaptic = in[j];
    if constexpr (kSplit) synaptic += in_inh[j];
    const Real x = kernels::node_input(synaptic, counts[j], pw, keep_input);
    in[j] = Real(0);
    if constexpr (kSplit) in_inh[j] = Real(0);
    kernels::Decay<Real> d = fixed;
    if constexpr (kCoupled) d = kernels::membrane_decay(p, energy[j]);
    spiked[j] = static_cast<std::uint8_t>(
        kernels::live_neuron_step(v[j], refr[j], thr[j], drive[j], x, energy[j], d, p, alive[j] != 0));
  }
}

// Nodes of the other models, one kernels::model_step each (not vectorised: these
// models are not on the benchmarks' hot paths). `in` and `in_inh` point at node b0's input.
template <class Real, class View>
[[gnu::noinline]] void update_model_nodes(const View& x, std::size_t b0, std::size_t len, Real* __restrict in,
                                          Real* __restrict in_inh, const std::uint32_t* __restrict counts,
                                          std::uint8_t* __restrict spiked, const kernels::NeuronParams<Real>& p,
                                          const kernels::ModelConstants<Real>& c, bool ignores) {
  const Real keep_input = ignores ? Real(0) : Real(1);
  for (std::size_t j = 0; j < len; ++j) {
    const std::size_t i = b0 + j;
    spiked[j] = static_cast<std::uint8_t>(kernels::model_step(p, c, x, i, in[j], in_inh ? in_inh[j] : Real(0),
                                                              in_inh != nullptr, counts[j], keep_input));
    in[j] = Real(0);
    if (in_inh) in_inh[j] = Real(0);
  }
}

template <class Real>
class CpuBackend final : public Backend {
 public:
  CpuBackend(const Graph& graph, const config::Config& cfg, int threads, CpuOwnership ownership)
      : graph_(&graph),
        params_(make_model_params<Real>(cfg)),
        threads_(std::max(1, threads)),
        nodes_(graph.num_nodes(), node_features(params_)),
        owned_(std::move(ownership)) {
    const index_t n = graph.num_nodes();
    if (!owned_.exchange) owned_.end = n;  // one process: every node is ours
    // Room for the delays of edges that structural plasticity may add later.
    std::int64_t max_delay = graph.max_delay();
    if (cfg.boolean("structure.enabled")) max_delay = std::max(max_delay, cfg.steps("structure.child_delay", 1));
    ring_slots_ = static_cast<std::size_t>(max_delay) + 1;
    ring_channels_ = nodes_.features().exp_synapses ? 2 : 1;
    initialise_node_state(nodes_, graph, params_, cfg);
    spiked_.assign(n, 0);
    // The delay ring holds the input of the nodes this backend updates only.
    ring_.assign(ring_channels_ * ring_slots_ * owned_count(), Real(0));
    poisson_key_ = kernels::make_key(params_.seed, static_cast<std::uint64_t>(kernels::RngStream::poisson_input));
    rebuild_poisson_tables();
    const auto& types = graph.node_type();
    for (index_t i = 0; i < n;) {
      index_t j = i;
      while (j < n && types[j] == types[i]) ++j;
      segments_.push_back(Segment{i, j, types[i]});
      i = j;
    }
    thread_spikes_.resize(static_cast<std::size_t>(threads_));
    weight_ = graph.edge_weight().data();
    if (!graph.edge_plastic().empty()) {
      // Plastic edges change: the backend works on its own copy of the weights.
      weights_ = graph.edge_weight();
      weight_ = weights_.data();
      if (params_.eligibility_rule) eligibility_.assign(graph.num_edges(), 0.0f);
    }
    if (cfg.boolean("energy.enabled") || cfg.boolean("learning.enabled")) {
      graph.by_target();  // built once here, before worker threads read it
    }
    if (cfg.boolean("energy.enabled")) {
      energy_next_.assign(n, Real(0));
      flow_sources_.assign(n, kernels::FlowSource<Real>{Real(0), Real(0)});
      flow_out_.assign(n, Real(0));
      if (owned_.share) {
        inflow_.assign(n, Real(0));
        overflow_.assign(n, Real(0));
      }
    }
    learning_ = cfg.boolean("learning.enabled");
    build_flow_index();
  }

  std::string name() const override { return "cpu"; }
  int threads() const override { return threads_; }
  Precision precision() const override {
    return sizeof(Real) == 4 ? Precision::float32 : Precision::float64;
  }
  const std::vector<index_t>& spikes() const override { return spikes_; }
  std::size_t last_synaptic_events() const override { return last_events_; }

  void begin_step(step_t) override {
    delivering_.swap(spikes_);
    delivering_complete_ = spikes_complete_;
    spikes_.clear();
    spikes_complete_ = true;
    last_events_ = 0;
  }

  void deliver(step_t t) override {
    last_events_ = 0;
    // Spikes held for a later exchange are delivered when it happens (merge_remote_spikes).
    if (delivering_complete_) deliver_list(t - 1, delivering_);
  }

  void update_neurons(step_t t) override {
    const std::size_t slot = static_cast<std::size_t>(t % static_cast<step_t>(ring_slots_));
    const std::size_t first = owned_.begin;
    const std::size_t count = owned_count();
    for (auto& list : thread_spikes_) list.clear();
    std::exception_ptr failure;
    try {
      cpu::parallel_parts(cpu::parts_for(threads_, count, kMinNodesPerThread), count,
                          [&](int part, std::size_t lo, std::size_t hi) {
        lo += first;
        hi += first;
        for (const Segment& seg : segments_) {
          const std::size_t b = std::max<std::size_t>(lo, seg.begin);
          const std::size_t e = std::min<std::size_t>(hi, seg.end);
          if (b < e) update_segment(t, slot, seg.type, b, e);
        }
        collect_spikes(t, lo, hi, thread_spikes_[static_cast<std::size_t>(part)]);
      });
    } catch (...) {
      if (!owned_.exchange) throw;
      failure = std::current_exception();
    }
    spikes_.clear();
    for (const auto& list : thread_spikes_) spikes_.insert(spikes_.end(), list.begin(), list.end());
    if (owned_.exchange) merge_remote_spikes(t, failure);
  }

  void update_energy(step_t, bool flow, EnergyLedger& ledger) override {
    if (energy_next_.empty()) throw BackendError("energy phase: the backend was built with energy.enabled = false");
    const index_t n = graph_->num_nodes();
    const std::size_t blocks = (n + kLedgerBlock - 1) / kLedgerBlock;
    block_sums_.assign(blocks * kColumns, 0.0);
    const kernels::EnergyParams<Real> ep = params_.energy;
    // Pass 1 (by node): spike cost and metabolism, in place.
    for_blocks(blocks, [&](std::size_t b, std::size_t lo, std::size_t hi) {
      double* sums = &block_sums_[b * kColumns];
      Real cost = 0, metabolism = 0;
      for (std::size_t i = lo; i < hi; ++i) {
        if (!node_.alive[i]) continue;
        sums[kBefore] += node_.energy[i];
        node_.energy[i] = kernels::spend_energy(ep, node_.energy[i], spiked_[i] != 0, cost, metabolism);
      }
      sums[kCost] += cost;
      sums[kMetabolism] += metabolism;
    });
    if (flow) {
      if (owned_.share) {
        flow_owned(blocks);
      } else {
        flow_pass_out(blocks);
        flow_pass_in(blocks);
      }
      // Copied, not swapped: views of "energy" handed out earlier must stay valid.
      std::copy(energy_next_.begin(), energy_next_.end(), node_.energy);
    } else {
      for_blocks(blocks, [&](std::size_t b, std::size_t lo, std::size_t hi) {
        double* sums = &block_sums_[b * kColumns];
        Real overflow = 0;
        for (std::size_t i = lo; i < hi; ++i) {
          if (!node_.alive[i]) continue;
          node_.energy[i] = kernels::clamp_energy(ep, node_.energy[i], overflow);
          sums[kAfter] += node_.energy[i];
        }
        sums[kOverflow] += overflow;
      });
    }
    double total[kColumns] = {0, 0, 0, 0, 0, 0, 0};
    for (std::size_t b = 0; b < blocks; ++b) {
      for (int c = 0; c < kColumns; ++c) total[c] += block_sums_[b * kColumns + c];
    }
    set_ledger(ledger, total);
  }

  void update_learning(step_t) override {
    const kernels::LearningParams<Real> lp = params_.learning;
    const index_t n = graph_->num_nodes();
    cpu::parallel_parts(cpu::parts_for(threads_, n, kMinSimpleNodesPerThread), n, [&](int, std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        node_.trace_pre[i] *= lp.decay_plus;
        node_.trace_post[i] *= lp.decay_minus;
      }
    });
    const std::vector<std::uint8_t>& plastic = graph_->edge_plastic();
    if (plastic.empty()) {
      add_spikes_to_traces();
      return;
    }
    float* w = weights_.data();
    if (!eligibility_.empty()) {
      const float decay = static_cast<float>(lp.decay_eligibility);
      const float gain = static_cast<float>(lp.rate * signal_);
      const float lo = static_cast<float>(lp.w_min), hi = static_cast<float>(lp.w_max);
      cpu::parallel_parts(cpu::parts_for(threads_, graph_->num_edges(), kMinSimpleNodesPerThread), graph_->num_edges(),
                          [&](int, std::size_t b, std::size_t e) {
        for (std::size_t k = b; k < e; ++k) {
          if (!plastic[k]) continue;
          eligibility_[k] *= decay;
          if (gain != 0.0f) store_weight(k, edge_slot_[k], std::min(hi, std::max(lo, w[k] + gain * eligibility_[k])));
        }
      });
    }
    // Depression at presynaptic spikes (out-rows are disjoint), then potentiation at
    // postsynaptic spikes (in-lists are disjoint): no two threads touch one edge, and
    // an edge whose both ends spiked is depressed before it is potentiated.
    const auto& off = graph_->out_offsets();
    const index_t* tgt = graph_->edge_target().data();
    cpu::parallel_parts(cpu::parts_for(threads_, spikes_.size(), kMinSpikesPerThread), spikes_.size(),
                        [&](int, std::size_t b, std::size_t e) {
      for (std::size_t k = b; k < e; ++k) {
        const index_t s = spikes_[k];
        const offset_t end = off[s + 1];
        for (offset_t edge = off[s]; edge < end; ++edge) {
          if (!in_flow_weight_.empty() && edge + kPrefetchAhead < end) {  // by-target slots are scattered
            __builtin_prefetch(&in_flow_weight_[edge_slot_[edge + kPrefetchAhead]], 1);
          }
          const index_t j = tgt[edge];
          if (!plastic[edge] || !node_.alive[j]) continue;
          const Real m = kernels::energy_modulation(lp, node_.energy[s], node_.energy[j]);
          apply_weight_change(edge, edge_slot_[edge], kernels::depression(lp, node_.trace_post[j], m));
        }
      }
    });
    const TargetIndex& in = graph_->by_target();
    cpu::parallel_parts(cpu::parts_for(threads_, spikes_.size(), kMinSpikesPerThread), spikes_.size(),
                        [&](int, std::size_t b, std::size_t e) {
      for (std::size_t k = b; k < e; ++k) {
        const index_t j = spikes_[k];
        const offset_t end = in.in_offsets[j + 1];
        for (offset_t slot = in.in_offsets[j]; slot < end; ++slot) {
          if (slot + kPrefetchAhead < end) {  // in-edges are scattered over the edge arrays
            const index_t ahead = in.in_edges[slot + kPrefetchAhead];
            __builtin_prefetch(&weights_[ahead], 1);
          }
          const index_t i = in.in_sources[slot];
          if ((in_flags_[slot] & kInPlastic) == 0 || !node_.alive[i]) continue;
          const Real m = kernels::energy_modulation(lp, node_.energy[i], node_.energy[j]);
          apply_weight_change(in.in_edges[slot], slot, kernels::potentiation(lp, node_.trace_pre[i], m));
        }
      }
    });
    add_spikes_to_traces();
  }

  void update_rates(step_t) override {
    const kernels::HomeostasisParams<Real> hp = params_.homeostasis;
    cpu::parallel_parts(cpu::parts_for(threads_, graph_->num_nodes(), kMinSimpleNodesPerThread), graph_->num_nodes(),
                        [&](int, std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        node_.rate[i] = kernels::select_bits(node_.alive[i] != 0, kernels::update_rate(hp, node_.rate[i], spiked_[i] != 0),
                                        node_.rate[i]);
      }
    });
  }

  void adapt_thresholds() override {
    const kernels::HomeostasisParams<Real> hp = params_.homeostasis;
    const std::uint8_t* types = graph_->node_type().data();
    cpu::parallel_parts(cpu::parts_for(threads_, graph_->num_nodes(), kMinSimpleNodesPerThread), graph_->num_nodes(),
                        [&](int, std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        const std::uint8_t t = types[i];
        if (!params_.adapts_threshold[t] || !node_.alive[i]) continue;
        node_.threshold[i] = kernels::adapt_threshold(hp, node_.threshold[i], node_.rate[i], params_.target_rate[t],
                                                      params_.threshold_lo[t], params_.threshold_hi[t]);
      }
    });
  }

  void add_input(step_t t, const index_t* nodes, std::size_t count, double value) override {
    const std::size_t slot = static_cast<std::size_t>(t % static_cast<step_t>(ring_slots_));
    const std::size_t channel = ring_channels_ == 2 && value < 0 ? 1 : 0;  // as an edge of that sign
    Real* input = ring_.data() + (channel * ring_slots_ + slot) * owned_count();
    for (std::size_t k = 0; k < count; ++k) {
      const index_t i = nodes[k];
      if (i >= owned_.begin && i < owned_.end) input[i - owned_.begin] += static_cast<Real>(value);
    }
  }

  void change_drive(const index_t* nodes, std::size_t count, double value, bool add) override {
    for (std::size_t k = 0; k < count; ++k) {
      node_.drive[nodes[k]] = add ? node_.drive[nodes[k]] + static_cast<Real>(value) : static_cast<Real>(value);
    }
  }

  void set_synaptic_gain(double gain) override { gain_ = static_cast<Real>(gain); }
  void set_neuromodulator(double signal) override { signal_ = signal; }
  void configure(const config::Config& cfg) override {
    ModelParams<Real> next = make_model_params<Real>(cfg);
    std::swap(params_, next);
    if (apply_type_poisson_rates(node_.poisson_rate, graph_->node_type().data(), graph_->num_nodes(), next, params_)) {
      rebuild_poisson_tables();
    }
  }

  void replace_graph(const Graph& g, const std::vector<index_t>& order) override {
    if (g.num_nodes() != graph_->num_nodes() || order.size() != g.num_edges() ||
        g.max_delay() >= ring_slots_) {
      throw BackendError("replace_graph: the new graph must keep the nodes and fit the delay rings");
    }
    const std::size_t old_edges = graph_->num_edges();
    std::vector<float> weights;
    std::vector<float> eligibility;
    const bool plastic = !g.edge_plastic().empty();
    if (plastic) {
      weights.resize(g.num_edges());
      for (std::size_t k = 0; k < order.size(); ++k) {
        weights[k] = order[k] < old_edges ? weight_[order[k]] : g.edge_weight()[k];
      }
      if (params_.eligibility_rule) {
        eligibility.assign(g.num_edges(), 0.0f);
        if (!eligibility_.empty()) {
          for (std::size_t k = 0; k < order.size(); ++k) {
            if (order[k] < old_edges) eligibility[k] = eligibility_[order[k]];
          }
        }
      }
    }
    graph_ = &g;
    weights_.swap(weights);
    eligibility_.swap(eligibility);
    weight_ = plastic ? weights_.data() : g.edge_weight().data();
    g.by_target();
    build_flow_index();
  }

  void set_weights(const float* weights, std::size_t count) override {
    if (count != graph_->num_edges()) throw InputError("set_weights: wrong number of weights");
    weights_.assign(weights, weights + count);
    weight_ = weights_.data();
    build_flow_index();
  }

  void state_written(const std::string& name) override {
    if (name == "alive") build_flow_index();  // edges into dead nodes stop carrying energy
    if (name == "poisson_rate") rebuild_poisson_tables();
  }

  std::vector<std::string> edge_state_names() const override { return edge_var_names(!eligibility_.empty()); }

  ArrayRef edge_state(const std::string& name) override {
    if (name == "weight") {
      return ArrayRef{const_cast<float*>(weight_), graph_->num_edges(), DType::f32};
    }
    if (name == "eligibility" && !eligibility_.empty()) return ref(eligibility_);
    throw InputError(unknown_edge_var_message(name));
  }

  std::vector<std::string> state_names() const override { return nodes_.names(); }

  ArrayRef state(const std::string& name) override { return nodes_.ref(name); }

  void save_state(io::SnapshotWriter& out) const override {
    using backend_state::span;
    backend_state::write_backend_state<Real>(out, {nodes_.refs(), span(spiked_), span(spikes_), ring_slots_, span(ring_),
                                                   span(weights_), span(eligibility_), static_cast<double>(gain_),
                                                   signal_});
  }

  void load_state(const io::SnapshotReader& in) override {
    backend_state::State<Real> s = backend_state::read_backend_state<Real>(
        in, {graph_->num_nodes(), ring_slots_, ring_channels_, nodes_.features(), weights_.size(),
             eligibility_.size(), owned_count()});
    nodes_.assign(s.nodes);
    spiked_.swap(s.spiked);
    spikes_.swap(s.spikes);
    ring_.swap(s.ring);
    if (!weights_.empty()) {
      weights_.swap(s.weights);
      weight_ = weights_.data();
    }
    eligibility_.swap(s.eligibility);
    gain_ = static_cast<Real>(s.gain);
    signal_ = s.signal;
    spikes_complete_ = delivering_complete_ = true;  // a checkpoint is taken between windows
    remote_spikes_.clear();
    for (index_t i : spikes_) {
      if (i < owned_.begin || i >= owned_.end) remote_spikes_.push_back(i);
    }
    build_flow_index();  // from the loaded weights and alive flags
    rebuild_poisson_tables();
  }

  std::size_t memory_bytes() const override {
    std::size_t b = 0;
    b += nodes_.bytes();
    b += (energy_next_.capacity() + flow_out_.capacity() + inflow_.capacity() + overflow_.capacity()) * sizeof(Real);
    b += remote_spikes_.capacity() * sizeof(index_t);
    b += flow_sources_.capacity() * sizeof(kernels::FlowSource<Real>);
    b += (weights_.capacity() + eligibility_.capacity() + in_flow_weight_.capacity()) * sizeof(float);
    b += edge_slot_.capacity() * sizeof(index_t) + in_flags_.capacity() + out_carries_.capacity();
    b += spiked_.capacity() + ring_.capacity() * sizeof(Real) +
         (spikes_.capacity() + delivering_.capacity()) * sizeof(index_t);
    for (const auto& l : thread_spikes_) b += l.capacity() * sizeof(index_t);
    b += (poisson_.thresholds.capacity() + poisson_.offset.capacity()) * sizeof(std::uint32_t) +
         poisson_.size.capacity() * sizeof(std::int32_t) + poisson_.node_table.capacity() * sizeof(std::uint16_t) +
         poisson_.run_starts.capacity() * sizeof(std::size_t);
    return b;
  }

 private:
  template <class T>
  static ArrayRef ref(std::vector<T>& v) {
    return ArrayRef{v.data(), v.size(), dtype_of<T>()};
  }

  // Runs fn(block, lo, hi) for every ledger block of nodes, blocks split over threads.
  template <class Fn>
  void for_blocks(std::size_t blocks, Fn&& fn) {
    const std::size_t n = graph_->num_nodes();
    cpu::parallel_parts(cpu::parts_for(threads_, blocks, 2), blocks, [&](int, std::size_t b0, std::size_t b1) {
      for (std::size_t b = b0; b < b1; ++b) fn(b, b * kLedgerBlock, std::min(n, (b + 1) * kLedgerBlock));
    });
  }

  // Flow pass 1, by source: the scale conductance * c_s / W_s of every node and its
  // total outflow, from the energies after cost and metabolism (row sums in the
  // lane order of kernels::flow_out_row).
  void flow_pass_out(std::size_t blocks) {
    for_blocks(blocks, [&](std::size_t b, std::size_t lo, std::size_t hi) {
      double out_sum = 0.0;
      for (std::size_t s = lo; s < hi; ++s) out_sum += flow_out_node(static_cast<index_t>(s));
      block_sums_[b * kColumns + kFlowOut] += out_sum;
    });
  }

  // Source s's scale and total outflow (into flow_sources_[s], flow_out_[s]); returns the outflow.
  Real flow_out_node(index_t s) {
    const auto& off = graph_->out_offsets();
    const index_t* tgt = graph_->edge_target().data();
    const Real e_s = node_.energy[s];
    Real scale = 0, out = 0;
    if (node_.alive[s]) {
      const auto count = static_cast<std::uint32_t>(off[s + 1] - off[s]);
      Real weight_sum, drop_sum;
      if constexpr (std::is_same_v<Real, float>) {
        flow_rows_->out_row(tgt + off[s], weight_ + off[s], out_carries_.data() + off[s], count, node_.energy, e_s,
                            weight_sum, drop_sum);
      } else {
        kernels::flow_out_row(tgt + off[s], weight_ + off[s], out_carries_.data() + off[s], count, node_.energy, e_s,
                              weight_sum, drop_sum);
      }
      scale = kernels::flow_scale(params_.energy, weight_sum, params_.flow_factor[graph_->node_type()[s]]);
      out = scale * drop_sum;
    }
    flow_sources_[s] = kernels::FlowSource<Real>{e_s, scale};
    flow_out_[s] = out;
    return out;
  }

  // Flow pass 2, by target (a gather over the by-target index, in source order):
  // inflow, new energy, clamp. Writes energy_next_; node_.energy is only read.
  void flow_pass_in(std::size_t blocks) {
    for_blocks(blocks, [&](std::size_t b, std::size_t lo, std::size_t hi) {
      double* sums = &block_sums_[b * kColumns];
      Real overflow = 0;
      for (std::size_t j = lo; j < hi; ++j) {
        if (!node_.alive[j]) {
          energy_next_[j] = node_.energy[j];
          continue;
        }
        sums[kFlowIn] += flow_in_node(static_cast<index_t>(j), overflow);
        sums[kAfter] += energy_next_[j];
      }
      sums[kOverflow] += overflow;
    });
  }

  // Alive target j's inflow (returned) and new, clamped energy (into energy_next_[j]);
  // what the clamp removed is added to `overflow`.
  Real flow_in_node(index_t j, Real& overflow) {
    const TargetIndex& in = graph_->by_target();
    // Dead sources have scale 0; inhibitory edges have flow weight 0.
    const offset_t first = in.in_offsets[j];
    const auto count = static_cast<std::uint32_t>(in.in_offsets[j + 1] - first);
    Real inflow;
    if constexpr (std::is_same_v<Real, float>) {
      inflow = flow_rows_->in_row(in.in_sources.data() + first, in_flow_weight_.data() + first, count,
                                  flow_sources_.data(), node_.energy[j]);
    } else {
      inflow = kernels::flow_in_row(in.in_sources.data() + first, in_flow_weight_.data() + first, count,
                                    flow_sources_.data(), node_.energy[j]);
    }
    energy_next_[j] = kernels::clamp_energy(params_.energy, node_.energy[j] - flow_out_[j] + inflow, overflow);
    return inflow;
  }

  // The flow on one rank of several: both passes for the owned nodes only (their whole
  // out-rows and in-rows are here), each pass's results shared with every rank, then
  // the ledger's sums over every node in the one-process order (flow_pass_out/in).
  void flow_owned(std::size_t blocks) {
    const std::size_t first = owned_.begin, count = owned_count();
    cpu::parallel_parts(cpu::parts_for(threads_, count, 2 * kLedgerBlock), count,
                        [&](int, std::size_t lo, std::size_t hi) {
      for (std::size_t s = first + lo; s < first + hi; ++s) flow_out_node(static_cast<index_t>(s));
    });
    owned_.share(flow_sources_.data(), sizeof(flow_sources_[0]));
    owned_.share(flow_out_.data(), sizeof(Real));
    cpu::parallel_parts(cpu::parts_for(threads_, count, 2 * kLedgerBlock), count,
                        [&](int, std::size_t lo, std::size_t hi) {
      for (std::size_t j = first + lo; j < first + hi; ++j) {
        overflow_[j] = Real(0);
        if (!node_.alive[j]) {
          energy_next_[j] = node_.energy[j];
          inflow_[j] = Real(0);
          continue;
        }
        inflow_[j] = flow_in_node(static_cast<index_t>(j), overflow_[j]);
      }
    });
    owned_.share(energy_next_.data(), sizeof(Real));
    owned_.share(inflow_.data(), sizeof(Real));
    owned_.share(overflow_.data(), sizeof(Real));
    for_blocks(blocks, [&](std::size_t b, std::size_t lo, std::size_t hi) {
      double* sums = &block_sums_[b * kColumns];
      double out_sum = 0.0;
      for (std::size_t s = lo; s < hi; ++s) out_sum += flow_out_[s];
      sums[kFlowOut] += out_sum;
      Real overflow = 0;
      for (std::size_t j = lo; j < hi; ++j) {
        if (!node_.alive[j]) continue;
        sums[kFlowIn] += inflow_[j];
        overflow += overflow_[j];  // 0 + x is x: the terms the one-process clamp adds
        sums[kAfter] += energy_next_[j];
      }
      sums[kOverflow] += overflow;
    });
  }

  // A weight change of a plastic edge whose by-target slot is `slot`.
  void apply_weight_change(offset_t edge, offset_t slot, Real delta) {
    if (!eligibility_.empty()) {
      eligibility_[edge] += static_cast<float>(delta);
    } else {
      store_weight(edge, slot, static_cast<float>(
          kernels::clamp_weight(params_.learning, static_cast<Real>(weights_[edge]) + delta)));
    }
  }

  // Writes a plastic edge's weight and, with energy on, its by-target flow copy.
  void store_weight(offset_t edge, offset_t slot, float w) {
    weights_[edge] = w;
    if (!in_flow_weight_.empty() && (in_flags_[slot] & kInCarriesEnergy) != 0) in_flow_weight_[slot] = w;
  }

  // The energy flow reads weights twice: by source (the weights themselves, masked
  // by out_carries_: 0 for inhibitory edges and edges into dead nodes) and by target
  // (in_flow_weight_, a copy in by-target slot order, 0 where no energy flows). The
  // copy is kept in step with learning through edge_slot_ (edge id -> by-target
  // slot) and in_flags_ (per slot: plastic, carries energy).
  void build_flow_index() {
    const bool plastic = learning_ && !graph_->edge_plastic().empty();
    const bool energy = !energy_next_.empty();
    if (!plastic && !energy) return;  // nothing reads these (and no by-target index is needed)
    const TargetIndex& in = graph_->by_target();
    const std::uint8_t* kind = graph_->edge_kind().data();
    const index_t* tgt = graph_->edge_target().data();
    const auto inhibitory = static_cast<std::uint8_t>(EdgeKind::inhibitory);
    const std::size_t m = graph_->num_edges();
    out_carries_.assign(energy ? m : 0, 0);
    in_flow_weight_.assign(energy ? m : 0, 0.0f);
    edge_slot_.assign(plastic ? m : 0, 0);
    in_flags_.assign(plastic ? m : 0, 0);
    for (std::size_t k = 0; k < m; ++k) {
      const index_t e = in.in_edges[k];
      const bool carries = kind[e] != inhibitory && node_.alive[tgt[e]] != 0;
      if (energy && carries) {
        in_flow_weight_[k] = weight_[e];
        out_carries_[e] = 1;
      }
      if (plastic) {
        edge_slot_[e] = static_cast<index_t>(k);
        in_flags_[k] = static_cast<std::uint8_t>((graph_->edge_plastic()[e] ? kInPlastic : 0) |
                                                 (carries ? kInCarriesEnergy : 0));
      }
    }
  }

  // Nodes this backend updates (all of them in one process).
  std::size_t owned_count() const { return owned_.end - owned_.begin; }

  // Adds the synaptic events of `list` (the spikes of step t_emit) to the rings of this
  // backend's nodes, and counts them in last_events_.
  void deliver_list(step_t t_emit, const std::vector<index_t>& list) {
    if (list.empty()) return;
    const auto& off = graph_->out_offsets();
    std::size_t events = 0;
    for (index_t s : list) events += off[s + 1] - off[s];
    last_events_ += events;
    // This rank's graph holds only edges into its own nodes: the targets to split.
    const index_t first = owned_.begin;
    const int parts = events >= kParallelDeliveryEvents ? threads_ : 1;
    cpu::parallel_parts(parts, owned_count(), [&](int, std::size_t lo, std::size_t hi) {
      const auto b = static_cast<index_t>(first + lo), e = static_cast<index_t>(first + hi);
      if (ring_channels_ == 2) {
        deliver_range<true>(t_emit, list, b, e);
      } else {
        deliver_range<false>(t_emit, list, b, e);
      }
    });
  }

  // On one rank of several: every rank's spikes of step t replace this rank's, and the
  // spike flags of other ranks' nodes follow them (the per-node phases read them). When
  // the exchange holds this step's spikes for later, the list stays this rank's own;
  // when it ends a window, the held steps' spikes are delivered now, oldest first (each
  // ring cell then adds in the order one process does: by step, then by source).
  void merge_remote_spikes(step_t t, const std::exception_ptr& failure) {
    const ExchangeResult got = owned_.exchange(t, spikes_, failure);
    spikes_complete_ = got.complete;
    if (!got.complete) return;
    if (got.earlier) {
      for (const StepSpikes& held : *got.earlier) {
        for (index_t s : held.nodes) {
          if (s < owned_.begin || s >= owned_.end) node_.last_spike[s] = static_cast<std::int32_t>(held.step);
        }
        deliver_list(held.step, held.nodes);
      }
    }
    for (index_t s : remote_spikes_) spiked_[s] = 0;
    remote_spikes_.clear();
    for (index_t s : spikes_) {
      if (s >= owned_.begin && s < owned_.end) continue;
      spiked_[s] = 1;
      node_.last_spike[s] = static_cast<std::int32_t>(t);
      remote_spikes_.push_back(s);
    }
  }

  void add_spikes_to_traces() {
    for (index_t s : spikes_) {
      node_.trace_pre[s] += Real(1);
      node_.trace_post[s] += Real(1);
    }
  }

  // Adds `list`, the spikes of step `t_emit`, to the rings of targets in [lo, hi). Each row is
  // sorted by target, so the part of a row inside [lo, hi) is found by binary search;
  // per target, additions happen in spike order then row order for any partition.
  // With kSplit, inhibitory edges add to the second ring channel.
  template <bool kSplit>
  void deliver_range(step_t t_emit, const std::vector<index_t>& list, index_t lo, index_t hi) {
    const auto& off = graph_->out_offsets();
    const index_t* tgt = graph_->edge_target().data();
    const std::uint16_t* delay = graph_->edge_delay().data();
    const std::uint8_t* kind = graph_->edge_kind().data();
    const std::uint8_t* types = graph_->node_type().data();
    const index_t n = graph_->num_nodes();
    const bool whole = lo == 0 && hi == n;
    const auto slots = static_cast<step_t>(ring_slots_);
    const std::size_t base_slot = static_cast<std::size_t>(t_emit % slots);
    Real* ring = ring_.data();
    const std::size_t width = owned_count();
    const index_t first = owned_.begin;
    const std::size_t channel_offset[kEdgeKindCount] = {0, kSplit ? ring_slots_ : 0, 0, 0};
    static_assert(static_cast<int>(EdgeKind::inhibitory) == 1 && kEdgeKindCount == 4, "channel_offset order");
    for (index_t s : list) {
      Real factor[kEdgeKindCount];
      const std::uint8_t ty = types[s];
      kernels::spike_factors(params_.synapse, node_.energy[s],
                             kernels::source_gain(params_.out_gain[ty], params_.ignores_input[ty] != 0, gain_), factor);
      offset_t e = off[s];
      offset_t end = off[s + 1];
      if (!whole) {
        e = static_cast<offset_t>(std::lower_bound(tgt + e, tgt + end, lo) - tgt);
        end = static_cast<offset_t>(std::lower_bound(tgt + e, tgt + end, hi) - tgt);
      }
      for (; e < end; ++e) {
        if (e + kPrefetchAhead < end) {
          std::size_t ahead = base_slot + delay[e + kPrefetchAhead];
          if (ahead >= ring_slots_) ahead -= ring_slots_;
          __builtin_prefetch(ring + ahead * width + (tgt[e + kPrefetchAhead] - first), 1);
        }
        std::size_t slot = base_slot + delay[e];
        if (slot >= ring_slots_) slot -= ring_slots_;
        if constexpr (kSplit) slot += channel_offset[kind[e]];
        ring[slot * width + (tgt[e] - first)] += factor[kind[e]] * static_cast<Real>(weight_[e]);
      }
    }
  }

  void update_segment(step_t t, std::size_t slot, std::uint8_t type, std::size_t begin, std::size_t end) {
    const kernels::NeuronParams<Real>& p = params_.neuron[type];
    // Row `slot` of the ring; node i's input is at i - owned_.begin.
    Real* input = ring_.data() + slot * owned_count();
    Real* input_inh = ring_channels_ == 2 ? input + ring_slots_ * owned_count() : nullptr;
    if (params_.oscillator_period[type] > 0) {
      update_oscillators(type, begin, end, input, input_inh);
      return;
    }
    const bool ignores = params_.ignores_input[type] != 0;
    const bool coupled = p.leaky != 0 && p.energy_coupling != Real(0);
    std::uint32_t counts[kBlock];
    for (std::size_t b0 = begin; b0 < end; b0 += kBlock) {
      const std::size_t len = std::min(kBlock, end - b0);
      for (std::size_t j = 0; j < len; ++j) counts[j] = 0;
      if (!ignores) poisson_counts(t, b0, len, counts);
      if (input_inh) {
        update_block<true>(type, coupled, ignores, b0, len, input, input_inh, counts);
      } else {
        update_block<false>(type, coupled, ignores, b0, len, input, input_inh, counts);
      }
    }
  }

  // The Poisson counts of nodes [b0, b0 + len) at step t (poisson_tables.hpp): one
  // vectorised pass when they share a table (populations are contiguous), else per node.
  void poisson_counts(step_t t, std::size_t b0, std::size_t len, std::uint32_t* counts) const {
    const int shared = poisson_.shared_table(b0, b0 + len);
    if (shared >= 0) {
      const int size = poisson_.size[static_cast<std::size_t>(shared)];
      if (size == 0) return;
      const std::uint32_t* table = poisson_.thresholds.data() + poisson_.offset[static_cast<std::size_t>(shared)];
      std::uint32_t u[kBlock];
      for (std::size_t j = 0; j < len; ++j) {
        u[j] = kernels::draw_u32(poisson_key_, static_cast<std::uint32_t>(b0 + j), static_cast<std::uint64_t>(t));
      }
      for (int k = 0; k < size; ++k) {
        const std::uint32_t threshold = table[k];
        for (std::size_t j = 0; j < len; ++j) counts[j] += u[j] >= threshold ? 1u : 0u;
      }
      return;
    }
    const std::uint16_t* which = poisson_.node_table.data() + b0;
    for (std::size_t j = 0; j < len; ++j) {
      const int size = poisson_.size[which[j]];
      if (size == 0) continue;
      const std::uint32_t u =
          kernels::draw_u32(poisson_key_, static_cast<std::uint32_t>(b0 + j), static_cast<std::uint64_t>(t));
      counts[j] = kernels::poisson_from_table(u, poisson_.thresholds.data() + poisson_.offset[which[j]], size);
    }
  }

  void rebuild_poisson_tables() {
    poisson_ = make_poisson_tables(node_.poisson_rate, graph_->node_type().data(), graph_->num_nodes(), params_);
  }

  // One block of nodes of one type: the vectorised loop for lif, model_step otherwise.
  template <bool kSplit>
  void update_block(std::uint8_t type, bool coupled, bool ignores, std::size_t b0, std::size_t len, Real* input,
                    Real* input_inh, const std::uint32_t* counts) {
    const kernels::NeuronParams<Real>& p = params_.neuron[type];
    const NodeView<Real>& x = node_;
    // The block's input in the ring (which starts at the first owned node).
    Real* in = input + (b0 - owned_.begin);
    Real* in_inh = input_inh ? input_inh + (b0 - owned_.begin) : nullptr;
    if (p.model != kernels::NeuronModel::lif) {
      update_model_nodes(x, b0, len, in, in_inh, counts, spiked_.data() + b0, p, params_.model_constants[type], ignores);
      return;
    }
    Real* inh = kSplit ? in_inh : nullptr;
    if (coupled) {
      update_nodes<Real, true, kSplit>(x.v + b0, x.refractory + b0, x.threshold + b0, x.drive + b0, x.energy + b0,
                                       in, inh, counts, x.alive + b0, spiked_.data() + b0, len, p, ignores);
    } else {
      update_nodes<Real, false, kSplit>(x.v + b0, x.refractory + b0, x.threshold + b0, x.drive + b0, x.energy + b0,
                                        in, inh, counts, x.alive + b0, spiked_.data() + b0, len, p, ignores);
    }
  }

  void update_oscillators(std::uint8_t type, std::size_t begin, std::size_t end, Real* input, Real* input_inh) {
    const auto& p = params_.neuron[type];
    const std::int32_t period = params_.oscillator_period[type];
    for (std::size_t i = begin; i < end; ++i) {
      input[i - owned_.begin] = Real(0);  // oscillators ignore input
      if (input_inh) input_inh[i - owned_.begin] = Real(0);
      bool fired = false;
      if (node_.alive[i]) {
        if (node_.phase[i] > 0) {
          --node_.phase[i];
        } else {
          node_.phase[i] = period - 1;
          fired = node_.energy[i] >= p.spike_energy_min;
        }
      }
      spiked_[i] = fired ? 1 : 0;
    }
  }

  // Appends the nodes in [lo, hi) that spiked at step t, ascending, and stamps last_spike.
  void collect_spikes(step_t t, std::size_t lo, std::size_t hi, std::vector<index_t>& out) {
    const std::uint8_t* f = spiked_.data();
    const std::size_t first = out.size();
    std::size_t i = lo;
    // Skip eight quiet nodes at a time: spikes are rare.
    for (; i + 8 <= hi; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, f + i, 8);
      if (word == 0) continue;
      for (std::size_t j = i; j < i + 8; ++j) {
        if (f[j]) out.push_back(static_cast<index_t>(j));
      }
    }
    for (; i < hi; ++i) {
      if (f[i]) out.push_back(static_cast<index_t>(i));
    }
    for (std::size_t k = first; k < out.size(); ++k) node_.last_spike[out[k]] = static_cast<std::int32_t>(t);
  }

  const Graph* graph_;
  ModelParams<Real> params_;
  int threads_;
  std::size_t ring_slots_ = 1;
  std::size_t ring_channels_ = 1;  // 2: inhibitory input in its own channel (a type runs lif_exp)
  kernels::RngKey poisson_key_{};
  PoissonTables poisson_;  // from node_.poisson_rate (rebuild_poisson_tables)
  // Node state (the state table's arrays) and typed pointers into it, fixed for the
  // backend's life (loading a checkpoint copies into the same arrays).
  NodeArrays<Real, HostAlloc> nodes_;
  const NodeView<Real> node_ = nodes_.view();  // typed pointers, fixed for the backend's life
  std::vector<std::uint8_t> spiked_;
  std::vector<Real> ring_;  // channels x ring_slots_ x owned_count() (the nodes from owned_.begin on)
  std::vector<Segment> segments_;
  std::vector<index_t> spikes_;      // spiked at the current step
  std::vector<index_t> delivering_;  // spiked at the previous step, sent by deliver()
  // Whether spikes_ / delivering_ hold every rank's spikes of their step (always, in one
  // process; on several ranks a step held for a later exchange has only this rank's).
  bool spikes_complete_ = true;
  bool delivering_complete_ = true;
  std::vector<std::vector<index_t>> thread_spikes_;
  std::size_t last_events_ = 0;
  // Learning state.
  std::vector<float> weights_;      // own copy when plastic edges exist
  const float* weight_ = nullptr;   // the weights delivery and flow use
  std::vector<float> eligibility_;  // per edge, with learning.rule = "eligibility"
  Real gain_ = Real(1);
  double signal_ = 0.0;
  // Energy flow scratch.
  std::vector<Real> energy_next_, flow_out_;
  std::vector<kernels::FlowSource<Real>> flow_sources_;
  const cpu::FlowRowFunctions* flow_rows_ = &cpu::best_flow_rows();
  std::vector<std::uint8_t> out_carries_;  // by edge: 1 where the edge carries energy
  std::vector<float> in_flow_weight_;      // by target slot: the weight, 0 where no energy flows
  // With plastic edges: edge -> by-target slot, and per slot what learning needs.
  static constexpr std::uint8_t kInPlastic = 1, kInCarriesEnergy = 2;
  bool learning_ = false;
  std::vector<index_t> edge_slot_;
  std::vector<std::uint8_t> in_flags_;
  std::vector<double> block_sums_;
  // The nodes this backend updates (all of them in one process) and, on one rank of
  // several, the spike exchange and the last step's spikes of other ranks.
  CpuOwnership owned_;
  std::vector<index_t> remote_spikes_;
  // The energy flow on one rank of several: each owned node's inflow and clamp
  // overflow, shared so that every rank sums the ledger over all nodes.
  std::vector<Real> inflow_, overflow_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const config::Config& cfg, int threads,
                                          const CpuOwnership& ownership) {
  if (cfg.string("sim.precision") == "float64") {
    return std::make_unique<CpuBackend<double>>(graph, cfg, threads, ownership);
  }
  return std::make_unique<CpuBackend<float>>(graph, cfg, threads, ownership);
}

std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const config::Config& cfg, int threads) {
  return make_cpu_backend(graph, cfg, threads, CpuOwnership{});
}

}  // namespace spikegraph
