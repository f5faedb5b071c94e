// Private (CUDA backend): the CUDA backend's logic, written once over an executor.
//
// StepEngine<Exec, Real> implements every Backend phase as a sequence of launches of
// the kernel bodies in step_bodies.hpp on device-resident state. Exec is
//  - CudaExec (cuda_exec.cuh): CUDA kernels, cudaMalloc / cudaMallocManaged, CUB;
//    this is the "cuda" backend (instantiated in cuda_backend.cu);
//  - HostExec (host_exec.hpp): the same on the host, sequentially; the tests run it
//    against the CPU backend on machines without a GPU.
//
// Memory. Node state that Backend::state() exposes (the state table's arrays,
// NodeArrays) lives in managed memory (Exec::SharedAlloc): the views handed out are
// zero-copy like the CPU
// backend's, and only the pages the host touches move (the sensory service writes the
// sensory nodes' energy and drive: a few pages per frame). Everything else (the delay
// ring, the graph, weights, eligibility, flow and learning indices, scratch) is device
// memory (Exec::Buffer). The rule that makes host views safe: every Backend call
// returns with the device idle (each call that launches work synchronises at its end),
// so between calls the host may read and write the views, and the next call's kernels
// see what it wrote. Per-edge state (edge_state) is a host copy refreshed on request.
//
// Host copies per step: the spike list of the step (count + ids, needed by spikes()),
// the ledger (7 doubles) when the energy phase runs, and the per-spike row offsets of
// the sparse delivery (host to device). Structure steps (replace_graph) upload the new
// graph and rebuild the indices on the device.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "backend/node_arrays.hpp"
#include "backend/poisson_tables.hpp"
#include "backend/state_sections.hpp"
#include "delivery_plan.hpp"
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/model_params.hpp"
#include "spikegraph/sim/records.hpp"
#include "step_bodies.hpp"

namespace spikegraph::gpu {

template <class Exec, class Real>
class StepEngine final : public Backend {
  template <class T>
  using Dev = typename Exec::template Buffer<T>;

 public:
  /// Builds the state of `graph` (which must outlive the engine) on the device.
  /// `options` are the executor's (the device, or the host loop order).
  StepEngine(const Graph& graph, const config::Config& cfg, DeliveryPolicy policy, typename Exec::Options options)
      : exec_(options),
        graph_(&graph),
        params_(make_model_params<Real>(cfg)),
        policy_(policy),
        nodes_(graph.num_nodes(), node_features(params_)) {
    const index_t n = graph.num_nodes();
    n_ = n;
    // Room for the delays of edges that structural plasticity may add later.
    std::int64_t max_delay = graph.max_delay();
    if (cfg.boolean("structure.enabled")) max_delay = std::max(max_delay, cfg.steps("structure.child_delay", 1));
    ring_slots_ = static_cast<std::size_t>(max_delay) + 1;
    ring_channels_ = nodes_.features().exp_synapses ? 2 : 1;
    energy_enabled_ = cfg.boolean("energy.enabled");
    learning_ = cfg.boolean("learning.enabled");
    poisson_key_ = kernels::make_key(params_.seed, static_cast<std::uint64_t>(kernels::RngStream::poisson_input));

    upload_type_params();

    // Node state (managed memory), initialised on the host exactly as on the CPU.
    initialise_node_state(nodes_, graph, params_, cfg);
    prefetch_state();
    upload_poisson_tables();

    spiked_.resize(n, "spiked");
    exec_.zero(spiked_.data(), spiked_.bytes());
    ring_.resize(ring_channels_ * ring_slots_ * n, "delay ring");
    exec_.zero(ring_.data(), ring_.bytes());
    iota_.resize(n, "spike selection");
    exec_.for_each(n, Iota{iota_.data()});
    for (auto& list : spike_list_) list.resize(n, "spike list");
    spike_count_.resize(1, "spike count");
    if (energy_enabled_) {
      energy_next_.resize(n, "energy scratch");
      flow_out_.resize(n, "flow out");
      flow_sources_.resize(n, "flow sources");
      inflow_.resize(n, "inflow");
      overflow_.resize(n, "overflow terms");
      spend_before_.resize(n, "energy terms");
      spend_cost_.resize(n, "spike cost terms");
      spend_metabolism_.resize(n, "metabolism terms");
      ledger_total_.resize(kColumns, "ledger");
    }
    upload_graph(graph);
    // Weights: a device copy always; own_weights_ mirrors the CPU backend's own copy
    // (plastic edges, or set_weights), which decides what a checkpoint holds.
    own_weights_ = !graph.edge_plastic().empty();
    upload_vector(weights_, graph.edge_weight(), "weights");
    if (own_weights_ && params_.eligibility_rule) {
      eligibility_.resize(graph.num_edges(), "eligibility");
      exec_.zero(eligibility_.data(), eligibility_.bytes());
    }
    build_flow_index();
    exec_.synchronize();
  }

  std::string name() const override { return Exec::kName; }
  int threads() const override { return 1; }
  Precision precision() const override { return sizeof(Real) == 4 ? Precision::float32 : Precision::float64; }
  const std::vector<index_t>& spikes() const override { return spikes_; }
  std::size_t last_synaptic_events() const override { return last_events_; }

  void begin_step(step_t) override {
    delivering_.swap(spikes_);
    spikes_.clear();
    current_list_ ^= 1;  // the list of the previous step is now the one delivered
    last_events_ = 0;
  }

  void deliver(step_t t) override {
    last_events_ = 0;
    if (delivering_.empty()) return;
    const std::size_t events = plan_rows(delivering_, graph_->out_offsets().data(), row_start_host_);
    last_events_ = events;
    if (events == 0) return;
    const step_t t_emit = t - 1;
    const auto base_slot = static_cast<std::size_t>(t_emit % static_cast<step_t>(ring_slots_));
    const index_t* spikes = spike_list_[current_list_ ^ 1].data();
    if (use_dense(policy_, events, graph_->num_edges())) {
      ensure_target_index();
      flags_.resize(n_, "spike flags");
      exec_.zero(flags_.data(), flags_.bytes());
      exec_.for_each(delivering_.size(), MarkSpikes{spikes, flags_.data()});
      DeliverDense<Real> b{};
      b.syn = params_.synapse;
      b.tp = tp_;
      b.synaptic_gain = gain_;
      b.flags = flags_.data();
      b.in_offsets = in_offsets_.data();
      b.in_edges = in_edges_.data();
      b.in_sources = in_sources_.data();
      b.delay = edge_delay_.data();
      b.kind = edge_kind_.data();
      b.weight = weights_.data();
      b.type = node_type_.data();
      b.energy = node_.energy;
      b.base_slot = base_slot;
      b.slots = ring_slots_;
      b.inh_rows = inh_rows();
      b.nodes = n_;
      b.ring = ring_.data();
      exec_.for_each(n_, b);
      ++dense_steps_;
    } else {
      row_start_.reserve(row_start_host_.size(), "delivery rows");
      exec_.to_device(row_start_.data(), row_start_host_.data(), row_start_host_.size() * sizeof(std::uint32_t));
      if (events > keys_[0].size()) {  // grow geometrically, up to one event per edge
        const std::size_t grow = std::max(events, std::min<std::size_t>(2 * keys_[0].size(), graph_->num_edges()));
        for (auto& k : keys_) k.reserve(grow, "delivery keys");
        for (auto& o : order_) o.reserve(grow, "delivery order");
        contrib_.reserve(grow, "delivery contributions");
      }
      DeliverExpand<Real> x{};
      x.syn = params_.synapse;
      x.tp = tp_;
      x.synaptic_gain = gain_;
      x.spikes = spikes;
      x.row_start = row_start_.data();
      x.out_offsets = out_offsets_.data();
      x.target = edge_target_.data();
      x.delay = edge_delay_.data();
      x.kind = edge_kind_.data();
      x.weight = weights_.data();
      x.type = node_type_.data();
      x.energy = node_.energy;
      x.base_slot = base_slot;
      x.slots = ring_slots_;
      x.inh_rows = inh_rows();
      x.nodes = n_;
      x.keys = keys_[0].data();
      x.order = order_[0].data();
      x.contrib = contrib_.data();
      exec_.for_each(delivering_.size() * kRowThreads, x);
      exec_.sort_pairs(keys_[0].data(), keys_[1].data(), order_[0].data(), order_[1].data(), events,
                       key_bits(ring_channels_ * ring_slots_, n_));
      SegmentAdd<Real> a{};
      a.keys = keys_[1].data();
      a.order = order_[1].data();
      a.contrib = contrib_.data();
      a.events = events;
      a.ring = ring_.data();
      exec_.for_each(events, a);
      ++sparse_steps_;
    }
    exec_.synchronize();
  }

  void update_neurons(step_t t) override {
    spikes_.clear();
    if (n_ == 0) return;
    const std::size_t slot = static_cast<std::size_t>(t % static_cast<step_t>(ring_slots_));
    NodeUpdate<Real> b{};
    b.tp = tp_;
    b.poisson_thresholds = poisson_thresholds_.data();
    b.poisson_offset = poisson_offset_.data();
    b.poisson_size = poisson_size_.data();
    b.poisson_table = poisson_table_.data();
    b.key = poisson_key_;
    b.step = t;
    b.type = node_type_.data();
    b.node = node_;
    b.input = ring_.data() + slot * n_;
    b.input_inh = ring_channels_ == 2 ? b.input + ring_slots_ * n_ : nullptr;
    b.spiked = spiked_.data();
    exec_.for_each(n_, b);
    // The spike list in ascending node order (an order-preserving selection), then to the host.
    std::uint32_t* list = spike_list_[current_list_].data();
    exec_.select_flagged(iota_.data(), spiked_.data(), list, spike_count_.data(), n_);
    std::uint32_t count = 0;
    exec_.to_host(&count, spike_count_.data(), sizeof count);
    spikes_.resize(count);
    exec_.to_host(spikes_.data(), list, count * sizeof(index_t));
    exec_.synchronize();
  }

  void update_energy(step_t, bool flow, EnergyLedger& ledger) override {
    if (!energy_enabled_) throw BackendError("energy phase: the backend was built with energy.enabled = false");
    const std::size_t blocks = (n_ + kLedgerBlock - 1) / kLedgerBlock;
    block_sums_.reserve(std::max<std::size_t>(blocks, 1) * kColumns, "ledger blocks");
    exec_.zero(block_sums_.data(), blocks * kColumns * sizeof(double));
    const kernels::EnergyParams<Real> ep = params_.energy;
    // Per node, then per ledger block (the blocks' sums in node order, as on the CPU).
    exec_.for_each(n_, EnergySpendNodes<Real>{ep, node_.energy, node_.alive, spiked_.data(), spend_before_.data(),
                                              spend_cost_.data(), spend_metabolism_.data()});
    exec_.for_each(blocks, EnergySpendBlocks<Real>{n_, node_.alive, spend_before_.data(), spend_cost_.data(),
                                                   spend_metabolism_.data(), block_sums_.data()});
    EnergyAfterBlocks<Real> after{};
    after.nodes = n_;
    after.alive = node_.alive;
    after.overflow_terms = overflow_.data();
    after.sums = block_sums_.data();
    if (flow) {
      FlowOutRows<Real> out{};
      out.ep = ep;
      out.out_offsets = out_offsets_.data();
      out.target = edge_target_.data();
      out.weight = weights_.data();
      out.carries = out_carries_.data();
      out.type = node_type_.data();
      for (int t = 0; t < kNodeTypeCount; ++t) out.flow_factor[t] = params_.flow_factor[t];
      out.alive = node_.alive;
      out.energy = node_.energy;
      out.sources = flow_sources_.data();
      out.flow_out = flow_out_.data();
      exec_.for_each_row(n_, out);
      exec_.for_each(blocks, FlowOutBlocks<Real>{n_, flow_out_.data(), block_sums_.data()});
      FlowInRows<Real> in{};
      in.ep = ep;
      in.in_offsets = in_offsets_.data();
      in.in_sources = in_sources_.data();
      in.in_flow_weight = in_flow_weight_.data();
      in.sources = flow_sources_.data();
      in.flow_out = flow_out_.data();
      in.alive = node_.alive;
      in.energy = node_.energy;
      in.energy_next = energy_next_.data();
      in.inflow = inflow_.data();
      in.overflow = overflow_.data();
      exec_.for_each_row(n_, in);
      after.inflow = inflow_.data();
      after.energy_after = energy_next_.data();
      exec_.for_each(blocks, after);
      // Copied, not swapped: views of "energy" handed out earlier must stay valid.
      exec_.device_copy(node_.energy, energy_next_.data(), energy_next_.bytes());
    } else {
      exec_.for_each(n_, EnergyClampNodes<Real>{ep, node_.energy, node_.alive, overflow_.data()});
      after.inflow = nullptr;
      after.energy_after = node_.energy;
      exec_.for_each(blocks, after);
    }
    exec_.for_each(kColumns, LedgerTotal{block_sums_.data(), blocks, ledger_total_.data()});
    double total[kColumns];
    exec_.to_host(total, ledger_total_.data(), sizeof total);
    exec_.synchronize();
    ledger_blocks::set_ledger(ledger, total);
  }

  void update_learning(step_t) override {
    const kernels::LearningParams<Real> lp = params_.learning;
    exec_.for_each(n_, DecayTraces<Real>{lp.decay_plus, lp.decay_minus, node_.trace_pre, node_.trace_post});
    const std::size_t count = spikes_.size();
    const index_t* spikes = spike_list_[current_list_].data();
    if (graph_->edge_plastic().empty()) {
      exec_.for_each(count, AddSpikesToTraces<Real>{spikes, node_.trace_pre, node_.trace_post});
      exec_.synchronize();
      return;
    }
    weights_on_host_ = eligibility_on_host_ = false;
    if (!eligibility_.empty()) {
      EligibilityStep el{};
      el.plastic = edge_plastic_.data();
      el.edge_slot = edge_slot_.data();
      el.in_flags = in_flags_.data();
      el.eligibility = eligibility_.data();
      el.weights = weights_.data();
      el.in_flow_weight = in_flow_weight_.empty() ? nullptr : in_flow_weight_.data();
      el.decay = static_cast<float>(lp.decay_eligibility);
      el.gain = static_cast<float>(lp.rate * signal_);
      el.lo = static_cast<float>(lp.w_min);
      el.hi = static_cast<float>(lp.w_max);
      exec_.for_each(graph_->num_edges(), el);
    }
    // Depression at presynaptic spikes, then potentiation at postsynaptic spikes (two
    // launches: an edge whose both ends spiked is depressed before it is potentiated).
    WeightTarget<Real> wt{};
    wt.lp = lp;
    wt.weights = weights_.data();
    wt.eligibility = eligibility_.empty() ? nullptr : eligibility_.data();
    wt.in_flow_weight = in_flow_weight_.empty() ? nullptr : in_flow_weight_.data();
    wt.in_flags = in_flags_.data();
    Depression<Real> dep{};
    dep.wt = wt;
    dep.spikes = spikes;
    dep.out_offsets = out_offsets_.data();
    dep.target = edge_target_.data();
    dep.plastic = edge_plastic_.data();
    dep.edge_slot = edge_slot_.data();
    dep.alive = node_.alive;
    dep.energy = node_.energy;
    dep.trace_post = node_.trace_post;
    exec_.for_each(count * kRowThreads, dep);
    Potentiation<Real> pot{};
    pot.wt = wt;
    pot.spikes = spikes;
    pot.in_offsets = in_offsets_.data();
    pot.in_edges = in_edges_.data();
    pot.in_sources = in_sources_.data();
    pot.alive = node_.alive;
    pot.energy = node_.energy;
    pot.trace_pre = node_.trace_pre;
    exec_.for_each(count * kRowThreads, pot);
    exec_.for_each(count, AddSpikesToTraces<Real>{spikes, node_.trace_pre, node_.trace_post});
    exec_.synchronize();
  }

  void update_rates(step_t) override {
    exec_.for_each(n_, UpdateRates<Real>{params_.homeostasis, node_.alive, spiked_.data(), node_.rate});
    exec_.synchronize();
  }

  void adapt_thresholds() override {
    AdaptThresholds<Real> a{};
    a.hp = params_.homeostasis;
    a.tp = tp_;
    a.type = node_type_.data();
    a.alive = node_.alive;
    a.rate = node_.rate;
    a.threshold = node_.threshold;
    exec_.for_each(n_, a);
    exec_.synchronize();
  }

  void add_input(step_t t, const index_t* nodes, std::size_t count, double value) override {
    if (count == 0) return;
    const std::size_t slot = static_cast<std::size_t>(t % static_cast<step_t>(ring_slots_));
    const bool sequential = upload_nodes(nodes, count);
    AddInput<Real> a{};
    a.nodes = node_list_.data();
    a.count = count;
    a.sequential = sequential;
    a.value = static_cast<Real>(value);
    const std::size_t channel = ring_channels_ == 2 && value < 0 ? 1 : 0;  // as an edge of that sign (CPU: add_input)
    a.input = ring_.data() + (channel * ring_slots_ + slot) * n_;
    exec_.for_each(sequential ? 1 : count, a);
    exec_.synchronize();
  }

  void change_drive(const index_t* nodes, std::size_t count, double value, bool add) override {
    if (count == 0) return;
    const bool sequential = upload_nodes(nodes, count);
    ChangeDrive<Real> c{};
    c.nodes = node_list_.data();
    c.count = count;
    c.sequential = sequential;
    c.add = add;
    c.value = static_cast<Real>(value);
    c.drive = node_.drive;
    exec_.for_each(sequential ? 1 : count, c);
    exec_.synchronize();
  }

  void set_synaptic_gain(double gain) override { gain_ = static_cast<Real>(gain); }
  void set_neuromodulator(double signal) override { signal_ = signal; }
  void configure(const config::Config& cfg) override {
    ModelParams<Real> next = make_model_params<Real>(cfg);
    std::swap(params_, next);
    upload_type_params();
    exec_.synchronize();
    if (apply_type_poisson_rates(node_.poisson_rate, graph_->node_type().data(), n_, next, params_)) {
      upload_poisson_tables();
    }
  }

  void replace_graph(const Graph& g, const std::vector<index_t>& order) override {
    if (g.num_nodes() != graph_->num_nodes() || order.size() != g.num_edges() || g.max_delay() >= ring_slots_) {
      throw BackendError("replace_graph: the new graph must keep the nodes and fit the delay rings");
    }
    const std::size_t old_edges = graph_->num_edges();
    const std::size_t m = g.num_edges();
    const bool plastic = !g.edge_plastic().empty();
    Dev<index_t> order_dev;
    upload_vector(order_dev, order, "edge order");
    Dev<float> fresh;
    upload_vector(fresh, g.edge_weight(), "weights");
    Dev<float> weights, eligibility;
    if (plastic) {
      weights.resize(m, "weights");
      exec_.for_each(m, GatherEdgeState{order_dev.data(), old_edges, weights_.data(), fresh.data(), weights.data()});
      if (params_.eligibility_rule) {
        eligibility.resize(m, "eligibility");
        exec_.for_each(m, GatherEdgeState{order_dev.data(), old_edges,
                                          eligibility_.empty() ? nullptr : eligibility_.data(), nullptr,
                                          eligibility.data()});
      }
    } else {
      weights.swap(fresh);
    }
    exec_.synchronize();
    graph_ = &g;
    weights_.swap(weights);
    eligibility_.swap(eligibility);
    own_weights_ = plastic;
    weights_on_host_ = eligibility_on_host_ = false;
    upload_graph(g);
    build_flow_index();
    exec_.synchronize();
  }

  void set_weights(const float* weights, std::size_t count) override {
    if (count != graph_->num_edges()) throw InputError("set_weights: wrong number of weights");
    weights_.resize(count, "weights");
    exec_.to_device(weights_.data(), weights, count * sizeof(float));
    own_weights_ = true;
    weights_on_host_ = false;
    build_flow_index();
    exec_.synchronize();
  }

  void state_written(const std::string& name) override {
    if (name == "alive") {  // edges into dead nodes stop carrying energy
      build_flow_index();
      exec_.synchronize();
    }
    if (name == "poisson_rate") upload_poisson_tables();
  }

  std::vector<std::string> edge_state_names() const override { return edge_var_names(!eligibility_.empty()); }

  ArrayRef edge_state(const std::string& name) override {
    const std::size_t m = graph_->num_edges();
    if (name == "weight") {
      if (!weights_on_host_) {
        weight_host_.resize(m);
        exec_.to_host(weight_host_.data(), weights_.data(), m * sizeof(float));
        weights_on_host_ = true;
      }
      return ArrayRef{weight_host_.data(), m, DType::f32};
    }
    if (name == "eligibility" && !eligibility_.empty()) {
      if (!eligibility_on_host_) {
        eligibility_host_.resize(m);
        exec_.to_host(eligibility_host_.data(), eligibility_.data(), m * sizeof(float));
        eligibility_on_host_ = true;
      }
      return ArrayRef{eligibility_host_.data(), m, DType::f32};
    }
    throw InputError(unknown_edge_var_message(name));
  }

  std::vector<std::string> state_names() const override { return nodes_.names(); }

  ArrayRef state(const std::string& name) override { return nodes_.ref(name); }

  /// The CPU backend's sections, bit for bit, so that a checkpoint of either backend
  /// loads into the other.
  void save_state(io::SnapshotWriter& out) const override {
    const std::size_t n = n_;
    // Device-only arrays are downloaded; the managed node state is read in place.
    const std::vector<std::uint8_t> spiked = download(spiked_, n);
    const std::vector<Real> ring = download(ring_, ring_.size());
    const std::vector<float> weights = own_weights_ ? download(weights_, graph_->num_edges()) : std::vector<float>{};
    const std::vector<float> eligibility = download(eligibility_, eligibility_.size());
    using backend_state::span;
    backend_state::write_backend_state<Real>(out, {nodes_.refs(), span(spiked), span(spikes_), ring_slots_, span(ring),
                                                   span(weights), span(eligibility), static_cast<double>(gain_),
                                                   signal_});
  }

  void load_state(const io::SnapshotReader& in) override {
    const std::size_t n = n_;
    backend_state::State<Real> s = backend_state::read_backend_state<Real>(
        in, {n, ring_slots_, ring_channels_, nodes_.features(), own_weights_ ? graph_->num_edges() : 0,
             eligibility_.size()});
    nodes_.assign(s.nodes);
    prefetch_state();
    exec_.to_device(spiked_.data(), s.spiked.data(), n);
    exec_.to_device(ring_.data(), s.ring.data(), s.ring.size() * sizeof(Real));
    exec_.to_device(spike_list_[current_list_].data(), s.spikes.data(), s.spikes.size() * sizeof(index_t));
    spikes_.swap(s.spikes);
    if (own_weights_) exec_.to_device(weights_.data(), s.weights.data(), s.weights.size() * sizeof(float));
    if (!s.eligibility.empty()) {
      exec_.to_device(eligibility_.data(), s.eligibility.data(), s.eligibility.size() * sizeof(float));
    }
    weights_on_host_ = eligibility_on_host_ = false;
    gain_ = static_cast<Real>(s.gain);
    signal_ = s.signal;
    build_flow_index();  // from the loaded weights and alive flags
    exec_.synchronize();
    upload_poisson_tables();
  }

  /// Bytes the backend allocated (device, managed and host copies), excluding the
  /// device copy of the graph's own arrays (targets, delays, kinds, plastic flags,
  /// offsets, the by-target index), like the CPU backend excludes the graph.
  std::size_t memory_bytes() const override {
    std::size_t b = nodes_.bytes();
    b += spiked_.bytes() + ring_.bytes() + iota_.bytes() + spike_list_[0].bytes() + spike_list_[1].bytes();
    b += energy_next_.bytes() + flow_out_.bytes() + flow_sources_.bytes() + inflow_.bytes() + overflow_.bytes();
    b += spend_before_.bytes() + spend_cost_.bytes() + spend_metabolism_.bytes();
    b += block_sums_.bytes() + weights_.bytes() + eligibility_.bytes() + out_carries_.bytes() +
         in_flow_weight_.bytes() + edge_slot_.bytes() + in_flags_.bytes();
    b += row_start_.bytes() + keys_[0].bytes() + keys_[1].bytes() + order_[0].bytes() + order_[1].bytes() +
         contrib_.bytes() + flags_.bytes() + node_list_.bytes();
    b += (weight_host_.capacity() + eligibility_host_.capacity()) * sizeof(float);
    b += (spikes_.capacity() + delivering_.capacity()) * sizeof(index_t);
    b += poisson_thresholds_.bytes() + poisson_offset_.bytes() + poisson_size_.bytes() + poisson_table_.bytes();
    return b;
  }

  TransferStats transfers() const override { return exec_.transfers(); }

  /// Steps delivered by each path so far (tests check both paths ran).
  std::size_t sparse_steps() const { return sparse_steps_; }
  std::size_t dense_steps() const { return dense_steps_; }
  /// The executor (tests count its launches).
  const Exec& exec() const { return exec_; }

 private:
  // The per-type parameters and the concatenated Poisson tables, from params_.
  void upload_type_params() {
    for (int t = 0; t < kNodeTypeCount; ++t) {
      tp_.neuron[t] = params_.neuron[t];
      tp_.model[t] = params_.model_constants[t];
      tp_.oscillator_period[t] = params_.oscillator_period[t];
      tp_.ignores_input[t] = params_.ignores_input[t];
      tp_.out_gain[t] = params_.out_gain[t];
      tp_.flow_factor[t] = params_.flow_factor[t];
      tp_.adapts_threshold[t] = params_.adapts_threshold[t];
      tp_.target_rate[t] = params_.target_rate[t];
      tp_.threshold_lo[t] = params_.threshold_lo[t];
      tp_.threshold_hi[t] = params_.threshold_hi[t];
    }
  }

  // The Poisson tables of the nodes' rates (backend/poisson_tables.hpp), to the device.
  void upload_poisson_tables() {
    exec_.synchronize();  // the rates are in managed memory: read them after the device is done
    const PoissonTables t = make_poisson_tables(node_.poisson_rate, graph_->node_type().data(), n_, params_);
    upload_vector(poisson_thresholds_, t.thresholds, "poisson tables");
    upload_vector(poisson_offset_, t.offset, "poisson tables");
    upload_vector(poisson_size_, t.size, "poisson tables");
    upload_vector(poisson_table_, t.node_table, "poisson tables");
    exec_.synchronize();
  }

  void prefetch_state() {
    for (const ArrayRef& a : nodes_.refs()) exec_.prefetch(a.data, a.size * dtype_size(a.dtype));
  }

  template <class T>
  std::vector<T> download(const Dev<T>& b, std::size_t count) const {
    std::vector<T> out(count);
    if (count) exec_.to_host(out.data(), b.data(), count * sizeof(T));
    return out;
  }

  template <class T>
  void upload_vector(Dev<T>& dst, const std::vector<T>& src, const char* what) {
    dst.resize(src.size(), what);
    if (!src.empty()) exec_.to_device(dst.data(), src.data(), src.size() * sizeof(T));
  }

  /// The node list of a stimulus on the device; returns whether it must be applied
  /// sequentially (a node appears twice: the additions happen in list order).
  bool upload_nodes(const index_t* nodes, std::size_t count) {
    std::vector<index_t> sorted(nodes, nodes + count);
    std::sort(sorted.begin(), sorted.end());
    const bool repeats = std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
    node_list_.reserve(count, "stimulus nodes");
    exec_.to_device(node_list_.data(), nodes, count * sizeof(index_t));
    return repeats;
  }

  /// The graph's arrays on the device. The by-target index goes up when a phase
  /// needs it (energy, learning) or once the dense delivery has been used.
  void upload_graph(const Graph& g) {
    upload_vector(node_type_, g.node_type(), "node types");
    upload_vector(out_offsets_, g.out_offsets(), "out offsets");
    upload_vector(edge_target_, g.edge_target(), "edge targets");
    upload_vector(edge_delay_, g.edge_delay(), "edge delays");
    upload_vector(edge_kind_, g.edge_kind(), "edge kinds");
    upload_vector(edge_plastic_, g.edge_plastic(), "plastic flags");
    target_index_ready_ = false;
    if (energy_enabled_ || learning_ || target_index_used_) ensure_target_index();
  }

  void ensure_target_index() {
    if (target_index_ready_) return;
    const TargetIndex& in = graph_->by_target();
    upload_vector(in_offsets_, in.in_offsets, "in offsets");
    upload_vector(in_edges_, in.in_edges, "in edges");
    upload_vector(in_sources_, in.in_sources, "in sources");
    target_index_ready_ = target_index_used_ = true;
  }

  // The energy flow reads weights by source (masked by out_carries_) and by target
  // (in_flow_weight_, by by-target slot); learning keeps the second in step through
  // edge_slot_ and in_flags_. Rebuilt on the device from the current weights and alive
  // flags at the same events as the CPU backend's build_flow_index.
  void build_flow_index() {
    const std::size_t m = graph_->num_edges();
    const bool plastic = learning_ && !graph_->edge_plastic().empty();
    const bool energy = energy_enabled_;
    if (!plastic && !energy) return;
    out_carries_.resize(energy ? m : 0, "energy carriers");
    in_flow_weight_.resize(energy ? m : 0, "flow weights");
    edge_slot_.resize(plastic ? m : 0, "edge slots");
    in_flags_.resize(plastic ? m : 0, "slot flags");
    BuildFlowIndex b{};
    b.in_edges = in_edges_.data();
    b.target = edge_target_.data();
    b.kind = edge_kind_.data();
    b.plastic = edge_plastic_.data();
    b.alive = node_.alive;
    b.weight = weights_.data();
    b.out_carries = energy ? out_carries_.data() : nullptr;
    b.in_flow_weight = energy ? in_flow_weight_.data() : nullptr;
    b.edge_slot = plastic ? edge_slot_.data() : nullptr;
    b.in_flags = plastic ? in_flags_.data() : nullptr;
    exec_.for_each(m, b);
  }

  mutable Exec exec_;  // save_state (const) downloads through it
  const Graph* graph_;
  ModelParams<Real> params_;
  DeliveryPolicy policy_;
  std::size_t n_ = 0;
  std::size_t ring_slots_ = 1;
  std::size_t ring_channels_ = 1;  // 2: inhibitory input in its own channel (a type runs lif_exp)
  std::size_t inh_rows() const { return ring_channels_ == 2 ? ring_slots_ : 0; }
  bool energy_enabled_ = false;
  bool learning_ = false;
  kernels::RngKey poisson_key_{};
  TypeParams<Real> tp_{};
  Real gain_ = Real(1);
  double signal_ = 0.0;

  // Node state (the state table's arrays in managed memory: the host views of
  // state()) and typed pointers into it, fixed for the engine's life.
  NodeArrays<Real, typename Exec::SharedAlloc> nodes_;
  const NodeView<Real> node_ = nodes_.view();  // typed pointers, fixed for the backend's life
  // Device state.
  Dev<std::uint8_t> spiked_;
  Dev<Real> ring_;  // [slot][node]
  Dev<std::uint32_t> poisson_thresholds_;
  Dev<std::uint32_t> poisson_offset_;
  Dev<std::int32_t> poisson_size_;
  Dev<std::uint16_t> poisson_table_;
  Dev<std::uint32_t> iota_;
  Dev<index_t> spike_list_[2];  // this step's and the previous step's spikes, ascending
  int current_list_ = 0;
  Dev<std::uint32_t> spike_count_;
  std::vector<index_t> spikes_;      // host copy of this step's spikes
  std::vector<index_t> delivering_;  // host copy of the previous step's spikes
  std::size_t last_events_ = 0;
  // Graph on the device.
  Dev<std::uint8_t> node_type_;
  Dev<offset_t> out_offsets_;
  Dev<index_t> edge_target_;
  Dev<std::uint16_t> edge_delay_;
  Dev<std::uint8_t> edge_kind_;
  Dev<std::uint8_t> edge_plastic_;
  Dev<offset_t> in_offsets_;
  Dev<index_t> in_edges_, in_sources_;
  bool target_index_ready_ = false;
  bool target_index_used_ = false;
  // Edge state.
  Dev<float> weights_;      // always on the device
  bool own_weights_ = false;  // the CPU backend would hold its own copy (checkpoint contents)
  Dev<float> eligibility_;
  Dev<std::uint8_t> out_carries_;
  Dev<float> in_flow_weight_;
  Dev<index_t> edge_slot_;
  Dev<std::uint8_t> in_flags_;
  std::vector<float> weight_host_, eligibility_host_;
  bool weights_on_host_ = false, eligibility_on_host_ = false;
  // Energy scratch.
  Dev<Real> energy_next_, flow_out_, inflow_, overflow_;
  Dev<Real> spend_before_, spend_cost_, spend_metabolism_;  // the spend pass's ledger terms per node
  Dev<kernels::FlowSource<Real>> flow_sources_;
  Dev<double> block_sums_, ledger_total_;
  // Delivery scratch.
  std::vector<std::uint32_t> row_start_host_;
  Dev<std::uint32_t> row_start_;
  Dev<std::uint64_t> keys_[2];
  Dev<std::uint32_t> order_[2];
  Dev<Real> contrib_;
  Dev<std::uint8_t> flags_;
  Dev<index_t> node_list_;
  std::size_t sparse_steps_ = 0, dense_steps_ = 0;
};

}  // namespace spikegraph::gpu
