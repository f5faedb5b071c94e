// Simulation::save / Simulation::load: what a checkpoint holds and how a
// simulation is rebuilt from one (the container is io/snapshot): the configuration,
// the graph, the backend's state, then each service's own sections. The counter-based
// random numbers are keyed by (seed, stream, element, step), so the step counter
// and the seed in the configuration are the whole "RNG position".
#include <cmath>
#include <exception>

#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/version.hpp"
#include "../services/checkpoint_sections.hpp"

namespace spikegraph {

void Simulation::save(const std::string& path) const {
  io::SnapshotWriter out;
  save_to(out);  // collective on several ranks: rank 0 holds the whole
  if (ranks() <= 1) {
    out.write(path);
    return;
  }
  std::exception_ptr failure;
  if (rank() == 0) {
    try {
      out.write(path);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  comm_->agree(failure);
}

void Simulation::save_to(io::SnapshotWriter& out) const {
  out.add_text("meta/engine_version", version());
  out.add_text("config", config_.to_toml());
  out.add_scalar("sim/step", step_);
  out.add_scalar("sim/neuromodulator", neuromodulator_);
  // The current graph (after structure steps; with its spare slots).
  save_graph(out);
  backend_->save_state(out);
  // Each service's own state: records, histories, queues (services/default_services.hpp).
  std::string names;
  for (const auto& s : services_) {
    names += s->name() + "\n";
    s->save_state(out, "service/" + s->name() + "/");
  }
  out.add_text("meta/services", names);
}

std::unique_ptr<Simulation> Simulation::load(const std::string& path) {
  return load(io::SnapshotReader::open(path));
}

std::unique_ptr<Simulation> Simulation::load(const io::SnapshotReader& in) { return load(in, BackendFactory{}); }

namespace {

// The checkpoint's graph, through the validating builder: a corrupt index or weight
// is an error here, not a crash later.
std::shared_ptr<const Graph> read_graph(const io::SnapshotReader& in) {
  const auto n = in.scalar<std::uint64_t>("graph/num_nodes");
  const auto types8 = in.array<std::uint8_t>("graph/node_type", static_cast<std::size_t>(n));
  const auto offsets = in.array<offset_t>("graph/out_offsets", static_cast<std::size_t>(n) + 1);
  const auto targets = in.array<index_t>("graph/edge_target");
  const std::size_t m = targets.size();
  const auto weights = in.array<float>("graph/edge_weight", m);
  const auto delays = in.array<std::uint16_t>("graph/edge_delay", m);
  const auto kinds = in.array<std::uint8_t>("graph/edge_kind", m);
  auto plastic = in.array<std::uint8_t>("graph/edge_plastic");
  if (!plastic.empty() && plastic.size() != m) corrupt_checkpoint(in, "graph/edge_plastic has the wrong length");
  if (offsets[0] != 0 || offsets[n] != m) corrupt_checkpoint(in, "graph/out_offsets does not span the edges");
  std::vector<std::int64_t> src(m), tgt(m), dly(m), knd(m), node_types(static_cast<std::size_t>(n));
  std::vector<double> w(m);
  for (std::uint64_t s = 0; s < n; ++s) {
    if (offsets[s + 1] < offsets[s] || offsets[s + 1] > m) corrupt_checkpoint(in, "graph/out_offsets is not ascending");
    for (offset_t e = offsets[s]; e < offsets[s + 1]; ++e) src[e] = static_cast<std::int64_t>(s);
    node_types[s] = types8[s];
  }
  for (std::size_t e = 0; e < m; ++e) {
    tgt[e] = targets[e];
    w[e] = weights[e];
    dly[e] = delays[e];
    knd[e] = kinds[e];
  }
  EdgeArrays arrays;
  arrays.num_edges = m;
  arrays.sources = src.data();
  arrays.targets = tgt.data();
  arrays.weights = w.data();
  arrays.delays = dly.data();
  arrays.kinds = knd.data();
  arrays.plastic = plastic.empty() ? nullptr : plastic.data();
  std::shared_ptr<const Graph> graph;
  try {
    graph = GraphBuilder::from_arrays(static_cast<std::size_t>(n), node_types.data(), arrays);
  } catch (const GraphError& e) {
    corrupt_checkpoint(in, std::string("its graph is invalid: ") + e.what());
  }
  // Edge ids must be those of the saved run (per-edge state is indexed by them).
  if (graph->edge_target() != targets || graph->edge_weight() != weights) {
    corrupt_checkpoint(in, "its edges are not in CSR order");
  }
  if (plastic.empty() != graph->edge_plastic().empty()) corrupt_checkpoint(in, "graph/edge_plastic does not match");
  return graph;
}

}  // namespace

std::unique_ptr<Simulation> Simulation::load(const io::SnapshotReader& in, const BackendFactory& make_backend_for) {
  const config::Config cfg = config::Config::from_toml(in.text("config"), in.source() + " [config]");
  std::unique_ptr<Simulation> sim(new Simulation(read_graph(in), cfg, false, make_backend_for));
  restore(*sim, in);
  return sim;
}

std::unique_ptr<Simulation> Simulation::load(const io::SnapshotReader& in, std::shared_ptr<dist::Communicator> comm) {
  if (!comm) throw InputError("load: communicator is null");
  const config::Config cfg = config::Config::from_toml(in.text("config"), in.source() + " [config]");
  std::unique_ptr<Simulation> sim = make_distributed(read_graph(in), cfg, std::move(comm), false);
  restore(*sim, in);
  return sim;
}

void Simulation::restore(Simulation& sim, const io::SnapshotReader& in) {
  sim.backend_->load_state(in);
  sim.step_ = in.scalar<std::int64_t>("sim/step");
  sim.neuromodulator_ = in.scalar<double>("sim/neuromodulator");
  if (sim.step_ < 0 || !std::isfinite(sim.neuromodulator_)) corrupt_checkpoint(in, "sim/step or sim/neuromodulator");
  if (sim.neuromodulator_ != 0.0) sim.backend_->set_neuromodulator(sim.neuromodulator_);

  for (auto& s : sim.services_) s->load_state(in, "service/" + s->name() + "/");
}

}  // namespace spikegraph
