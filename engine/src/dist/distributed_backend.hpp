// Private: the backend of one rank of a simulation on several ranks.
//
// The rank stores every node's state and the edges into the nodes it owns. Its CPU
// backend updates only the owned nodes and gathers the spikes of every rank after
// the neuron update (an exchange through the communicator), so every rank holds the
// step's spikes of the whole network. The phases that depend on spikes and on a
// node's own state only (spike cost and metabolism, rates, thresholds, traces) then
// run for every node on every rank and agree bit for bit; the membrane variables
// (those the neuron update writes) are current on their owner only, and this wrapper
// gathers them when they are read (state(), a collective call).
//
// Checkpoints are the one-process format: save_state gathers the owned parts (ring
// columns of owned nodes, edge state by global edge id) so that rank 0 can write
// them; load_state takes the one-process sections and keeps this rank's edges. So a
// checkpoint written on N ranks loads on M.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../backend/cpu/cpu_backend.hpp"
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/dist/partition.hpp"
#include "spikegraph/graph/graph.hpp"

namespace spikegraph::dist {

class DistributedBackend final : public Backend {
 public:
  /// The backend of rank comm->rank() over `local_graph` (the rank's part of the
  /// whole graph, which must outlive the backend), whose row s starts at edge
  /// row_base[s] of the whole graph of `global_edges` edges (GraphPart). Threads per rank:
  /// sim.threads, or the hardware threads divided among the ranks when it is 0. The
  /// caller has checked `cfg` with unsupported_on_ranks (its keys are not live).
  DistributedBackend(const Graph& local_graph, const config::Config& cfg, std::shared_ptr<Communicator> comm,
                     NodePartition partition, std::vector<std::uint64_t> row_base, std::uint64_t global_edges);

  std::string name() const override { return inner_->name(); }
  int threads() const override { return inner_->threads(); }
  Precision precision() const override { return inner_->precision(); }
  void begin_step(step_t t) override { inner_->begin_step(t); }
  void deliver(step_t t) override { inner_->deliver(t); }
  void update_neurons(step_t t) override { inner_->update_neurons(t); }
  const std::vector<index_t>& spikes() const override { return inner_->spikes(); }
  std::size_t last_synaptic_events() const override { return inner_->last_synaptic_events(); }
  void update_energy(step_t t, bool flow, EnergyLedger& ledger) override { inner_->update_energy(t, flow, ledger); }
  void update_learning(step_t t) override { inner_->update_learning(t); }
  void update_rates(step_t t) override { inner_->update_rates(t); }
  void adapt_thresholds() override { inner_->adapt_thresholds(); }
  void add_input(step_t t, const index_t* nodes, std::size_t count, double value) override {
    inner_->add_input(t, nodes, count, value);
  }
  void change_drive(const index_t* nodes, std::size_t count, double value, bool add) override {
    inner_->change_drive(nodes, count, value, add);
  }
  void configure(const config::Config& cfg) override { inner_->configure(cfg); }
  void set_synaptic_gain(double gain) override { inner_->set_synaptic_gain(gain); }
  void set_neuromodulator(double signal) override { inner_->set_neuromodulator(signal); }
  /// A structure step's new part of this rank (the edges it stores: stores_edge), in
  /// whole-graph order. Collective: the ranks' edge counts per row give the new
  /// whole-graph edge ids.
  void replace_graph(const Graph& new_graph, const std::vector<index_t>& order) override;
  /// This rank's edges (local edge order).
  void set_weights(const float* weights, std::size_t count) override { inner_->set_weights(weights, count); }
  /// The whole network's (a part without plastic edges may lack eligibility).
  std::vector<std::string> edge_state_names() const override;
  /// This rank's edges (local edge order); gather_edge_state gives the whole graph's.
  ArrayRef edge_state(const std::string& name) override;
  std::vector<std::string> state_names() const override { return inner_->state_names(); }
  /// Collective for the variables the neuron update writes: every node's current value.
  ArrayRef state(const std::string& name) override;
  void state_written(const std::string& name) override { inner_->state_written(name); }
  /// The CPU backend's, plus each row's whole-graph offset.
  std::size_t memory_bytes() const override {
    return inner_->memory_bytes() + row_base_.capacity() * sizeof(std::uint64_t);
  }
  /// Collective. Only rank 0's `out` holds the gathered whole; other ranks' is partial.
  void save_state(io::SnapshotWriter& out) const override;
  /// Every rank reads the one-process sections and keeps its own edges.
  void load_state(const io::SnapshotReader& in) override;

  Communicator& comm() const { return *comm_; }
  const NodePartition& partition() const { return partition_; }
  std::uint64_t global_edges() const { return global_edges_; }
  /// Calls f(s, k, id) for every local edge k (source s) with its index id in the whole graph.
  template <class F>
  void for_each_edge(F&& f) const {
    const auto& off = graph_->out_offsets();
    for (index_t s = 0; s < graph_->num_nodes(); ++s) {
      for (offset_t k = off[s]; k < off[s + 1]; ++k) f(s, k, row_base_[s] + (k - off[s]));
    }
  }
  /// Collective: an edge state array of the whole graph (whole-graph edge order), on
  /// every rank, or on rank 0 only with `root_only` (elsewhere: empty).
  std::vector<float> gather_edge_state(const std::string& name, bool root_only = false) const;
  /// Weights of the whole graph (whole-graph edge order): this rank keeps its edges'.
  void set_global_weights(const float* weights, std::size_t count);
  /// Whether `name` is a variable only its owner keeps current.
  bool owner_only(const std::string& name) const;
  /// The smallest delay of the whole graph, in steps (collective to compute: at
  /// construction and after replace_graph).
  std::uint64_t min_delay_steps() const { return min_delay_; }
  /// Exchange the spikes once per `steps` steps (1: every step; at most
  /// min_delay_steps()). With a window, a step's spikes reach the other ranks, and
  /// spikes() holds every rank's, only at a step given set_window_end(true); before it,
  /// spikes() holds this rank's own and late_spikes() is empty.
  void set_exchange_window(std::int64_t steps);
  std::int64_t exchange_window() const { return window_; }
  /// Whether the coming neuron update ends a window (the coordinator says, each step).
  void set_window_end(bool end) { window_end_ = end; }
  /// After the neuron update that ended a window: every rank's spikes of the window's
  /// earlier steps, oldest first (spikes() has the last step's).
  const std::vector<StepSpikes>& late_spikes() const { return late_; }
  /// Whether local edge k goes into one of this rank's nodes (its copy is the one
  /// gathered; an edge out of this rank's nodes into another's is stored twice).
  bool owns_edge(std::size_t k) const;
  /// Whether `node` is one of this rank's (partition()).
  bool owns_node(index_t node) const;
  /// Whether this rank stores the edge source -> target: it owns the target, or the
  /// source when it keeps its nodes' whole out-rows (needs_source_rows).
  bool stores_edge(index_t source, index_t target) const;

 private:
  // The CPU backend's spike exchange (CpuOwnership::exchange), now or per window.
  ExchangeResult exchange(step_t t, std::vector<index_t>& spikes, const std::exception_ptr& failure);
  // Collective: the smallest delay of the whole graph.
  void count_min_delay();
  // Whether this rank's part keeps eligibility (it has plastic edges).
  bool part_has_eligibility() const;
  // Collective: whether any rank's part has eligibility (edge_state_names).
  void count_edge_state_names();
  // Every rank's owned slice of the node array `a` (n elements), into `a`.
  void gather_owned(const ArrayRef& a) const;
  // The same for raw per-node data of `width` bytes per node.
  void share_owned(void* data, std::size_t width) const;

  const Graph* graph_;
  std::shared_ptr<Communicator> comm_;
  NodePartition partition_;
  std::vector<std::uint64_t> row_base_;
  std::uint64_t global_edges_ = 0;
  bool source_rows_ = false;  // the part holds its nodes' whole out-rows
  bool any_eligibility_ = false;
  std::vector<float> no_eligibility_;  // zeros: a part without plastic edges, in a network with them
  std::uint64_t min_delay_ = 1;
  std::int64_t window_ = 1;               // steps per exchange
  bool window_end_ = true;
  std::vector<index_t> held_;             // this rank's message for the window so far
  std::exception_ptr held_failure_;       // the first failure of the window's updates
  std::vector<StepSpikes> late_;          // every rank's, after the window's exchange
  std::unique_ptr<Backend> inner_;
};

/// Threads of each rank: sim.threads, or the hardware threads divided among the ranks
/// when it is 0.
int threads_per_rank(const config::Config& cfg, int ranks);

/// Whether a rank's part needs the whole out-rows of its nodes (graph_part's
/// source_rows): with energy on, whose flow's outflow sums a source's whole row.
bool needs_source_rows(const config::Config& cfg);

/// Configuration keys a simulation on `ranks` > 1 ranks cannot run yet, as
/// "key = value (why)" lines; empty when it can.
std::vector<std::string> unsupported_on_ranks(const config::Config& cfg, int ranks);

}  // namespace spikegraph::dist
