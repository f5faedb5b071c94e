// Simulation on several ranks (spikegraph/dist): construction from the whole graph or
// a rank's part, and the calls whose answer is the whole network's (edge state,
// weights, a checkpoint's graph), gathered from the ranks' parts.
#include <algorithm>
#include <cstring>

#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/dist/partition.hpp"
#include "spikegraph/graph/builder.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "../dist/distributed_backend.hpp"

namespace spikegraph {

namespace {

void check_supported(const config::Config& cfg, int ranks) {
  const auto problems = dist::unsupported_on_ranks(cfg, ranks);
  if (problems.empty()) return;
  std::string text = "a simulation on " + std::to_string(ranks) + " ranks cannot run yet with:";
  for (const auto& p : problems) text += "\n  " + p;
  throw ConfigError(text);
}

// One edge of a rank's part, as it travels to be placed by its id in the whole graph.
struct EdgeRecord {
  std::uint64_t id;
  index_t source, target;
  float weight;
  std::uint16_t delay;
  std::uint8_t kind, plastic;
};

}  // namespace

std::unique_ptr<Simulation> Simulation::distributed(std::shared_ptr<const Graph> graph, const config::Config& cfg,
                                                    std::shared_ptr<dist::Communicator> comm) {
  if (!comm) throw InputError("Simulation: communicator is null");
  if (!graph) throw InputError("Simulation: graph is null");
  return make_distributed(std::move(graph), cfg, std::move(comm), true);
}

std::unique_ptr<Simulation> Simulation::make_distributed(std::shared_ptr<const Graph> whole,
                                                         const config::Config& cfg,
                                                         std::shared_ptr<dist::Communicator> comm,
                                                         bool add_spare_nodes) {
  const int ranks = comm->size();
  dist::GraphPart part;
  dist::NodePartition partition = dist::partition_by_nodes(whole->num_nodes(), 1);
  if (ranks == 1) {
    part.graph = whole;
  } else {
    check_supported(cfg, ranks);  // before cutting the graph
    partition = dist::make_partition(*whole, ranks, cfg.string("sim.partition"));
    const int r = comm->rank();
    part = dist::graph_part(*whole, partition.begin(r), partition.end(r), dist::needs_source_rows(cfg));
  }
  const std::uint64_t edges = whole->num_edges();
  whole.reset();  // this rank keeps its part only (when the caller lets go of the whole)
  return make_distributed(part, partition, edges, cfg, std::move(comm), add_spare_nodes);
}

std::unique_ptr<Simulation> Simulation::distributed(const dist::GraphPart& part, const dist::NodePartition& partition,
                                                    std::uint64_t global_edges, const config::Config& cfg,
                                                    std::shared_ptr<dist::Communicator> comm) {
  if (!comm) throw InputError("Simulation: communicator is null");
  if (!part.graph) throw InputError("Simulation: graph is null");
  return make_distributed(part, partition, global_edges, cfg, std::move(comm), true);
}

std::unique_ptr<Simulation> Simulation::make_distributed(const dist::GraphPart& part,
                                                         const dist::NodePartition& partition,
                                                         std::uint64_t global_edges, const config::Config& cfg,
                                                         std::shared_ptr<dist::Communicator> comm,
                                                         bool add_spare_nodes) {
  const int ranks = comm->size();
  if (ranks == 1) {
    if (part.graph->num_edges() != global_edges) throw InputError("Simulation: one rank's part must be the whole graph");
    std::unique_ptr<Simulation> sim(new Simulation(part.graph, cfg, add_spare_nodes, BackendFactory{}));
    sim->comm_ = std::move(comm);
    return sim;
  }
  check_supported(cfg, ranks);
  // Spare slots for births (structure.spare_nodes) follow the network's nodes, owned
  // by the last rank; they have no edges yet.
  const std::size_t spare = add_spare_nodes && cfg.boolean("structure.enabled")
                                ? static_cast<std::size_t>(cfg.integer("structure.spare_nodes"))
                                : 0;
  dist::GraphPart grown;
  dist::NodePartition owned = partition;
  if (spare > 0) {
    grown.graph = with_spare_nodes(*part.graph, spare);
    grown.row_base = part.row_base;
    grown.row_base.resize(grown.graph->num_nodes(), global_edges);
    owned.starts.back() = static_cast<index_t>(grown.graph->num_nodes());
  }
  const dist::GraphPart& mine = spare > 0 ? grown : part;
  BackendFactory factory = [&](const Graph& g, const config::Config& c) -> std::unique_ptr<Backend> {
    return std::make_unique<dist::DistributedBackend>(g, c, comm, owned, mine.row_base, global_edges);
  };
  std::unique_ptr<Simulation> sim(new Simulation(mine.graph, cfg, false, factory));
  sim->mark_spare_slots(spare);
  sim->comm_ = std::move(comm);
  sim->dist_ = static_cast<dist::DistributedBackend*>(sim->backend_.get());
  sim->choose_exchange_window();
  return sim;
}

std::unique_ptr<Simulation> Simulation::distributed(const config::Config& cfg,
                                                    std::shared_ptr<dist::Communicator> comm) {
  if (!comm) throw InputError("Simulation: communicator is null");
  const int ranks = comm->size();
  const std::string kind = cfg.string("network.kind");
  if (ranks == 1 || (kind != "brunel" && kind != "microcircuit")) {
    const BuiltNetwork net = build_network(cfg);
    auto sim = distributed(net.graph, cfg, std::move(comm));
    sim->set_initial_state(net.initial_state);
    return sim;
  }
  check_supported(cfg, ranks);
  const int r = comm->rank();
  if (kind == "microcircuit") return distributed(microcircuit_builder_of(cfg), cfg, std::move(comm));
  const BrunelParams p = brunel_params(cfg);
  const std::uint64_t edges = brunel_edges(p);  // also checks the parameters
  const auto n = static_cast<index_t>(p.n);
  // Every node has k_in edges in: the partition by edges is the one by nodes.
  dist::NodePartition partition = dist::partition_by_nodes(n, ranks);
  if (cfg.string("sim.partition") == "edges") {
    partition = dist::partition_by_in_edges(std::vector<std::uint64_t>(n, static_cast<std::uint64_t>(p.k_in)), ranks);
  }
  dist::GraphPart part;
  part.graph = make_brunel_part(p, partition.begin(r), partition.end(r), dist::needs_source_rows(cfg),
                                part.row_base);
  return make_distributed(part, partition, edges, cfg, std::move(comm), true);
}

std::unique_ptr<Simulation> Simulation::distributed(const NetworkBuilder& builder, const config::Config& cfg,
                                                    std::shared_ptr<dist::Communicator> comm) {
  if (!comm) throw InputError("Simulation: communicator is null");
  const int ranks = comm->size();
  const int threads = dist::threads_per_rank(cfg, ranks);
  std::unique_ptr<Simulation> sim;
  if (ranks == 1) {
    sim = distributed(builder.build(threads), cfg, std::move(comm));
  } else {
    check_supported(cfg, ranks);
    // Drawn projection by projection; this rank keeps its part.
    const auto n = static_cast<index_t>(builder.num_nodes());  // add_population keeps it below 2^32 - 1
    const dist::NodePartition partition =
        cfg.string("sim.partition") == "edges"
            ? dist::partition_by_in_edges(builder.in_degrees(threads), ranks)
            : dist::partition_by_nodes(n, ranks);
    const int r = comm->rank();
    dist::GraphPart part;
    std::uint64_t edges = 0;
    part.graph = builder.build_part(partition.begin(r), partition.end(r), dist::needs_source_rows(cfg), part.row_base,
                                    edges, threads);
    sim = make_distributed(part, partition, edges, cfg, std::move(comm), true);
  }
  sim->set_initial_state(builder.initial_state());
  return sim;
}

int Simulation::rank() const { return comm_ ? comm_->rank() : 0; }
int Simulation::ranks() const { return comm_ ? comm_->size() : 1; }
std::uint64_t Simulation::total_edges() const { return dist_ ? dist_->global_edges() : graph_->num_edges(); }

std::pair<index_t, index_t> Simulation::owned_nodes() const {
  if (!dist_) return {0, graph_->num_nodes()};
  return {dist_->partition().begin(rank()), dist_->partition().end(rank())};
}

bool Simulation::stores_edge(index_t source, index_t target) const {
  return !dist_ || dist_->stores_edge(source, target);
}

ArrayRef Simulation::edge_state(const std::string& name) {
  if (!dist_) return backend_->edge_state(name);
  gathered_edge_state_ = dist_->gather_edge_state(name);
  return ArrayRef{gathered_edge_state_.data(), gathered_edge_state_.size(), DType::f32};
}

void Simulation::set_whole_weights(const std::vector<float>& weights) {
  if (dist_) {
    dist_->set_global_weights(weights.data(), weights.size());
  } else {
    backend_->set_weights(weights.data(), weights.size());
  }
}

void Simulation::save_graph(io::SnapshotWriter& out) const {
  const std::shared_ptr<const Graph> whole = dist_ ? gather_graph(true, false) : graph_;  // rank 0 writes
  if (!whole) return;
  const Graph& g = *whole;
  out.add_scalar("graph/num_nodes", static_cast<std::uint64_t>(g.num_nodes()));
  out.add("graph/node_type", g.node_type());
  out.add("graph/out_offsets", g.out_offsets());
  out.add("graph/edge_target", g.edge_target());
  out.add("graph/edge_weight", g.edge_weight());
  out.add("graph/edge_delay", g.edge_delay());
  out.add("graph/edge_kind", g.edge_kind());
  out.add("graph/edge_plastic", g.edge_plastic());
}

std::shared_ptr<const Graph> Simulation::whole_graph() const {
  if (dist_) return gather_graph(false, true);
  const ArrayRef w = backend_->edge_state("weight");
  const auto* live = static_cast<const float*>(w.data);
  const Graph& g = *graph_;
  return GraphBuilder::from_csr(g.node_type(), g.out_offsets(), g.edge_target(),
                                std::vector<float>(live, live + g.num_edges()), g.edge_delay(), g.edge_kind(),
                                g.edge_plastic(), g.max_delay());
}

std::shared_ptr<const Graph> Simulation::gather_graph(bool root_only, bool live_weights) const {
  // Every rank's edges, placed by their ids: the whole graph in its CSR order.
  const Graph& g = *graph_;
  const bool plastic = !g.edge_plastic().empty();
  const float* weights = live_weights ? static_cast<const float*>(backend_->edge_state("weight").data)
                                      : g.edge_weight().data();
  std::vector<unsigned char> mine, all;
  mine.reserve(g.num_edges() * sizeof(EdgeRecord));
  dist_->for_each_edge([&](index_t s, offset_t e, std::uint64_t id) {
    if (!dist_->owns_edge(e)) return;  // the target's rank sends it
    const EdgeRecord rec{id, s, g.edge_target()[e], weights[e], g.edge_delay()[e], g.edge_kind()[e],
                         static_cast<std::uint8_t>(plastic ? g.edge_plastic()[e] : 0)};
    const auto* bytes = reinterpret_cast<const unsigned char*>(&rec);
    mine.insert(mine.end(), bytes, bytes + sizeof(rec));
  });
  std::vector<std::uint64_t> offsets;
  if (root_only) {
    dist_->comm().gather_bytes(mine, all, offsets);
    if (rank() != 0) return nullptr;
  } else {
    dist_->comm().allgather_bytes(mine, all, offsets);
  }
  const auto m = static_cast<std::size_t>(dist_->global_edges());
  std::vector<offset_t> out_offsets(g.num_nodes() + 1, 0);
  std::vector<index_t> target(m);
  std::vector<float> weight(m);
  std::vector<std::uint16_t> delay(m);
  std::vector<std::uint8_t> kind(m), plastic_flag(m, 0);
  bool any_plastic = false;
  for (std::size_t at = 0; at + sizeof(EdgeRecord) <= all.size(); at += sizeof(EdgeRecord)) {
    EdgeRecord rec;
    std::memcpy(&rec, all.data() + at, sizeof(rec));
    const auto k = static_cast<std::size_t>(rec.id);
    target[k] = rec.target;
    weight[k] = rec.weight;
    delay[k] = rec.delay;
    kind[k] = rec.kind;
    plastic_flag[k] = rec.plastic;
    any_plastic = any_plastic || rec.plastic != 0;
    ++out_offsets[rec.source + 1];
  }
  for (std::size_t s = 0; s < g.num_nodes(); ++s) out_offsets[s + 1] += out_offsets[s];
  // One process keeps no plastic flags when no edge is plastic (a rank's part may have
  // none while the whole has some, so this follows the whole).
  if (!any_plastic) plastic_flag.clear();
  std::uint16_t max_delay = 0;
  for (std::uint16_t d : delay) max_delay = std::max(max_delay, d);
  return GraphBuilder::from_csr(g.node_type(), std::move(out_offsets), std::move(target), std::move(weight),
                                std::move(delay), std::move(kind), std::move(plastic_flag), max_delay);
}

}  // namespace spikegraph
