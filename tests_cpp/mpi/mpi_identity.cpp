// Simulations on several MPI ranks against one process, bit for bit. Run under
// mpirun with 1 to 4 ranks (tests_cpp/CMakeLists.txt registers the runs):
//
//   mpi_identity identity         the spike exchange alone at many list lengths, a static
//                                 network with an exchange window, then every case,
//                                 compared with a one-process run each rank makes
//   mpi_identity save FILE        run, checkpoint on this many ranks
//   mpi_identity resume FILE      load FILE on this many ranks, continue, compare with
//                                 an uninterrupted one-process run
//   mpi_identity fail             a service throws on one rank: every rank ends the step
//                                 with that error, and the next steps run again; then a
//                                 failure carried by the spike exchange reaches every rank
//
// Exit status 0 when every rank found what it expected.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/graph/builder.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/graph/microcircuit.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "../support/test_util.hpp"

namespace sg = spikegraph;

// Steps of each compared run (fewer under sanitizers, which run 10-30x slower).
#ifndef SPIKEGRAPH_MPI_TEST_STEPS
#define SPIKEGRAPH_MPI_TEST_STEPS 400
#endif

namespace {

constexpr std::int64_t kSteps = SPIKEGRAPH_MPI_TEST_STEPS;

struct Case {
  std::string name;
  std::string toml;
};

// Every feature: the default network (sensory grating, every node type, oscillators),
// Poisson input, STDP, homeostasis, energy with its flow along edges, structural
// plasticity (births, deaths, pruning every 20 steps), stimuli, recorders, metrics;
// Brunel with lif_exp / izhikevich nodes, the eligibility rule, energy without flow,
// and structure with energy off.
std::vector<Case> cases() {
  // structure_metrics: the periodic structure metrics too (costly under sanitizers).
  const auto common = [](const char* conductance, bool structure_metrics = false) {
    return std::string("\n[energy]\nenabled = true\nconductance = ") + conductance + R"(
[homeostasis]
enabled = true
interval = 10
[metrics]
interval = 50
)" + (structure_metrics ? "structure = true\n" : "");
  };
  return {
      {"default", R"([sim]
seed = 7
threads = 2
backend = "cpu"
[network]
kind = "default"
[graph]
sensory_side = 8
dynamic_per_sensory = 6
workspace_side = 6
oscillators = 16
relays = 16
highways = 8
out_degree = 12.0
[sensory]
source = "grating"
interval = 3
[node.dynamic]
poisson_rate = 3000.0
poisson_weight = 0.6
[learning]
enabled = true
[structure]
enabled = true
interval = 20
spare_nodes = 10
death_energy = 0.1
birth_energy = 0.7
birth_cost = 0.5
)" + common("0.02", true)},
      {"brunel_lif_exp_eligibility", R"([sim]
seed = 3
threads = 1
precision = "float64"
backend = "cpu"
partition = "edges"
[network]
n = 900
k_in = 40
plastic = "exc_exc"
[node.dynamic]
model = "lif_exp"
poisson_rate = 12000.0
poisson_weight = 0.1
[learning]
enabled = true
rule = "eligibility"
)" + common("0.01")},
      {"brunel_izhikevich", R"([sim]
seed = 11
threads = 2
backend = "cpu"
[network]
n = 700
k_in = 30
[node.dynamic]
model = "izhikevich"
poisson_rate = 8000.0
poisson_weight = 2.0
)" + common("0.0")},
      // Energy off: a rank stores only the edges into its nodes, new ones included.
      // Energies stay at their initial value: births (into the spare slots) and
      // pruning, no deaths.
      {"brunel_structure_without_energy", R"([sim]
seed = 13
threads = 1
backend = "cpu"
[network]
n = 600
k_in = 30
plastic = "exc_exc"
[node.dynamic]
poisson_rate = 9000.0
poisson_weight = 0.12
[learning]
enabled = true
[structure]
enabled = true
interval = 20
spare_nodes = 6
birth_energy = 2.0
birth_cost = 0.5
prune_weight = 0.099
[metrics]
interval = 50
structure = true
)"},
  };
}

sg::config::Config config_of(const std::string& toml) { return sg::config::Config::from_toml(toml, "mpi test"); }

// What is compared: every record and state of the run, as bytes.
struct Fingerprint {
  std::vector<std::pair<std::string, std::vector<unsigned char>>> parts;
  template <class T>
  void add(const std::string& what, const std::vector<T>& v) {
    std::vector<unsigned char> b(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    parts.emplace_back(what, std::move(b));
  }
  void add(const std::string& what, const sg::ArrayRef& a) {
    std::vector<unsigned char> b(a.size * sg::dtype_size(a.dtype));
    if (!b.empty()) std::memcpy(b.data(), a.data, b.size());
    parts.emplace_back(what, std::move(b));
  }
};

// Drives one simulation the same way on any number of ranks.
void drive(sg::Simulation& sim, std::int64_t steps, std::int64_t from) {
  const auto n = static_cast<sg::index_t>(sim.graph().num_nodes());
  for (std::int64_t done = 0; done < steps; done += 50) {
    const std::int64_t at = from + done;
    if (at % 100 == 0) {
      sg::Stimulus input;
      input.step = sim.current_step() + 3;
      input.value = 15.0;
      for (sg::index_t i = 5; i < n; i += n / 7) input.nodes.push_back(i);
      sim.schedule_stimulus(input);
      sg::Stimulus drive;
      drive.step = sim.current_step() + 10;
      drive.kind = sg::Stimulus::Kind::add_drive;
      drive.value = 0.5;
      drive.nodes = {1, n / 2, n - 1};
      sim.schedule_stimulus(drive);
    }
    sim.run_steps(std::min<std::int64_t>(50, steps - done));
  }
}

// Structure events as numbers: step, then the counts and ids of each.
std::vector<double> structure_events(const std::vector<sg::EventBatch>& batches) {
  std::vector<double> out;
  for (const auto& b : batches) {
    for (const auto& e : b.structure) {
      out.insert(out.end(), {static_cast<double>(e.step), static_cast<double>(e.pruned_edges),
                             static_cast<double>(e.removed_edges), static_cast<double>(e.added_edges),
                             static_cast<double>(e.births_refused)});
      for (const auto* ids : {&e.deaths, &e.parents, &e.children}) {
        out.push_back(static_cast<double>(ids->size()));
        out.insert(out.end(), ids->begin(), ids->end());
      }
    }
  }
  return out;
}

void add_recorders(sg::Simulation& sim) {
  const auto n = static_cast<sg::index_t>(sim.graph().num_nodes());
  sg::RecorderSpec v;
  v.name = "probe";
  v.kind = sg::RecorderKind::state;
  v.nodes = {0, n / 3, n / 2, n - 1};
  v.variables = {"v", "energy", "threshold"};
  v.interval_steps = 7;
  sim.add_recorder(v);
}

// The metrics history is not part of checkpoints: resumed runs leave it out.
Fingerprint fingerprint(sg::Simulation& sim, bool with_metrics = true) {
  Fingerprint f;
  f.add("spike steps", sim.spikes().steps);
  f.add("spike nodes", sim.spikes().nodes);
  for (const auto& name : sim.state_names()) f.add("state " + name, sim.state(name));
  for (const auto& name : sim.edge_state_names()) f.add("edge state " + name, sim.edge_state(name));
  std::vector<double> ledger;
  for (const auto& l : sim.ledger_history()) {
    ledger.insert(ledger.end(), {static_cast<double>(l.step), l.total_before, l.inflow, l.spike_cost, l.metabolism,
                                 l.flow_out, l.flow_in, l.overflow, l.total_after});
  }
  f.add("ledger", ledger);
  const auto& h = sim.homeostasis();
  f.add("homeostasis", std::vector<double>{h.synaptic_gain, h.branching_ratio, h.branching_quality});
  f.add("homeostasis activity", h.activity);
  for (const auto& name : sim.recorder_names()) {
    const auto& r = sim.recorder(name);
    f.add("recorder " + name + " steps", r.steps);
    for (const auto& values : r.values) f.add("recorder " + name, values);
  }
  std::vector<double> metrics;
  for (const auto& m : sim.metrics_history()) {
    metrics.insert(metrics.end(), {m.activity.rate_mean, m.activity.rate_std, m.activity.branching_ratio});
    // The structure metrics are the whole graph's (gathered on several ranks).
    const sg::GraphMetrics& g = m.graph;
    metrics.insert(metrics.end(), {static_cast<double>(g.degrees.edges), g.degrees.mean_in,
                                   static_cast<double>(g.degrees.max_out), g.weights[0].mean, g.weights[0].max,
                                   static_cast<double>(g.weak.count), static_cast<double>(g.strong.largest),
                                   g.clustering.average, g.paths.mean_length, g.spectral.spectral_radius,
                                   static_cast<double>(m.validation.ok)});
  }
  if (with_metrics) f.add("metrics", metrics);
  f.add("step", std::vector<std::int64_t>{sim.current_step()});
  return f;
}

// 0 when equal; otherwise prints the first difference.
int compare(const std::string& label, const Fingerprint& got, const Fingerprint& want, int rank) {
  if (got.parts.size() != want.parts.size()) {
    std::cerr << "rank " << rank << ": " << label << ": different records\n";
    return 1;
  }
  for (std::size_t k = 0; k < got.parts.size(); ++k) {
    if (got.parts[k] != want.parts[k]) {
      std::cerr << "rank " << rank << ": " << label << ": " << got.parts[k].first << " differs from one process ("
                << got.parts[k].second.size() << " vs " << want.parts[k].second.size() << " bytes)\n";
      return 1;
    }
  }
  return 0;
}

std::unique_ptr<sg::Simulation> one_process(const sg::config::Config& cfg) {
  auto sim = std::make_unique<sg::Simulation>(sg::make_network(cfg), cfg);
  add_recorders(*sim);
  return sim;
}

int identity(const std::shared_ptr<sg::dist::Communicator>& comm) {
  int failures = 0;
  for (const Case& c : cases()) {
    const auto cfg = config_of(c.toml);
    // Brunel networks: each rank draws only its part; the default network is built
    // whole on every rank and cut.
    auto sim = cfg.string("network.kind") == "brunel" ? sg::Simulation::distributed(cfg, comm)
                                                      : sg::Simulation::distributed(sg::make_network(cfg), cfg, comm);
    add_recorders(*sim);
    auto ref = one_process(cfg);
    std::vector<sg::EventBatch> events, ref_events;
    sim->subscribe([&](const sg::EventBatch& b) { events.push_back(b); });
    ref->subscribe([&](const sg::EventBatch& b) { ref_events.push_back(b); });
    drive(*sim, kSteps, 0);
    drive(*ref, kSteps, 0);
    if (cfg.real("energy.conductance") == 0.0) {
      // energy.conductance is live: a flow switched on during the run.
      const sg::config::FlatTable on{{"energy.conductance", sg::config::Value::real(0.02)}};
      for (sg::Simulation* s : {sim.get(), ref.get()}) {
        s->update_config(on);
        drive(*s, kSteps / 2, kSteps);
      }
    }
    Fingerprint got = fingerprint(*sim), want = fingerprint(*ref);
    got.add("structure events", structure_events(events));
    want.add("structure events", structure_events(ref_events));
    const int bad = compare(c.name, got, want, comm->rank());
    std::size_t births = 0, deaths = 0, pruned = 0;
    for (const auto& b : ref_events) {
      for (const auto& e : b.structure) {
        births += e.children.size();
        deaths += e.deaths.size();
        pruned += e.pruned_edges;
      }
    }
    // A structure case that stopped giving births, deaths or pruning would test nothing.
    const bool dies = cfg.boolean("energy.enabled");  // energies change only with it
    if (cfg.boolean("structure.enabled") && (births == 0 || (dies && deaths == 0) || pruned == 0)) {
      std::cerr << c.name << ": the run had " << births << " births, " << deaths << " deaths, " << pruned
                << " pruned edges; the case needs each it can have\n";
      ++failures;
    }
    if (bad == 0 && comm->rank() == 0) {
      std::cout << c.name << ": " << comm->size() << " ranks = one process (" << ref->current_step() << " steps, "
                << ref->spikes().size() << " spikes, " << births << " births, " << deaths << " deaths, " << pruned
                << " pruned, "
                << sim->graph().num_edges() << " of " << sim->total_edges() << " edges on rank 0)\n";
    }
    failures += bad;
  }
  return failures;
}

// Nodes 0-19 have plastic edges among themselves; their plastic edges into nodes 20-39
// are weak enough to be pruned at the first structure step, after which the ranks
// that own only nodes from 20 on store no plastic edge (and no eligibility) while the
// others do. Reading and saving the whole network's edge state must still agree. Only
// the edges among nodes 20-39 have long delays (up to 20 steps), so the parts' own
// longest delays differ, and spare slots follow: every rank's delay ring must still
// be the whole graph's for the checkpoint to be one process's.
int part_without_plastic_edges(const std::shared_ptr<sg::dist::Communicator>& comm) {
  std::vector<sgtest::E> edges;
  std::vector<std::uint8_t> plastic;
  const auto edge = [&](std::int64_t s, std::int64_t t, double weight, bool p, std::int64_t d) {
    edges.push_back(sgtest::E{s, t, weight, d});
    plastic.push_back(p ? 1 : 0);
  };
  for (std::int64_t i = 0; i < 20; ++i) {
    for (std::int64_t j = 1; j <= 4; ++j) {
      edge(i, (i + j) % 20, 0.8, true, 1);
      edge(i, 20 + (i + j) % 20, 0.001, true, 1);
      edge(20 + i, 20 + (i + j) % 20, 0.5, false, 1 + (i * j) % 20);
      edge(20 + i, (i + j) % 20, 0.3, false, 1);
    }
  }
  const auto graph = sgtest::small_graph(40, edges, {}, plastic);
  const auto cfg = config_of(R"([sim]
seed = 9
threads = 1
[node.dynamic]
poisson_rate = 20000.0
poisson_weight = 0.3
[energy]
enabled = true
conductance = 0.01
[learning]
enabled = true
rule = "eligibility"
[structure]
enabled = true
interval = 5
death_energy = 0.0
birth_energy = 1.0e9
prune_weight = 0.05
spare_nodes = 3
)");
  auto sim = sg::Simulation::distributed(graph, cfg, comm);
  sg::Simulation ref(graph, cfg);
  sim->run_steps(30);
  ref.run_steps(30);
  int bad = compare("part without plastic edges", fingerprint(*sim), fingerprint(ref), comm->rank());
  // The case this is about: with several ranks, some rank's part lost every plastic edge.
  std::vector<std::uint64_t> plastic_parts{sim->graph().edge_plastic().empty() ? 0u : 1u};
  comm->sum_counts(plastic_parts);
  if (comm->size() > 1 && plastic_parts[0] == static_cast<std::uint64_t>(comm->size())) {
    std::cerr << "rank " << comm->rank() << ": every part kept plastic edges; the case is not tested\n";
    ++bad;
  }
  // Saved on these ranks, continued in one process: as if never interrupted.
  const std::string path = "mpi_part_without_plastic_" + std::to_string(comm->size()) + ".sgckpt";
  sim->save(path);
  std::vector<double> sync{0.0};
  comm->sum_in_rank_order(sync);  // the file is complete on every rank
  auto resumed = sg::Simulation::load(sg::io::SnapshotReader::open(path));
  comm->sum_in_rank_order(sync);  // every rank has read the file: rank 0 removes it
  if (comm->rank() == 0) std::remove(path.c_str());
  resumed->run_steps(20);
  ref.run_steps(20);
  bad += compare("part without plastic edges, resumed", fingerprint(*resumed), fingerprint(ref), comm->rank());
  if (bad == 0 && comm->rank() == 0) {
    std::cout << "part without plastic edges: " << comm->size() << " ranks = one process (" << ref.total_edges()
              << " edges left, " << sim->graph().num_edges() << " on rank 0)\n";
  }
  return bad;
}

// A static network (no energy, learning, homeostasis, structure or sensory input) whose
// delays are 12-30 steps: on several ranks the spikes are exchanged once per window of
// 12 steps, and every record matches one process: the spike record (with and without a
// horizon), spike, rate and state recorders, the subscribers' spikes, the metrics
// sampled every 23 steps (a window ends there), and a checkpoint taken on the ranks and
// continued in one process.
sg::NetworkBuilder windowed_network() {
  sg::NetworkBuilder b(21, 0.1);
  b.add_population("E", sg::NodeType::dynamic, 640);
  b.add_population("I", sg::NodeType::dynamic, 160);
  sg::ConnectionRule in;
  in.kind = sg::ConnectionRule::Kind::fixed_indegree;
  sg::Distribution delay{sg::Distribution::Kind::uniform, 1.2, 3.0};
  for (const char* post : {"E", "I"}) {
    in.n = 32;
    b.connect("E", post, in, sg::Distribution::constant_value(0.12), delay);
    in.n = 8;
    b.connect("I", post, in, sg::Distribution::constant_value(0.5), delay, sg::EdgeKind::inhibitory);
  }
  b.set_initial("E", "v", sg::Distribution{sg::Distribution::Kind::uniform, 0.0, 1.0});
  return b;
}

int exchange_window(const std::shared_ptr<sg::dist::Communicator>& comm) {
  int bad = 0;
  for (const char* horizon : {"0.0", "6.0"}) {
    const auto cfg = config_of(std::string(R"([sim]
seed = 5
threads = 1
dt = 0.1
backend = "cpu"
[node.dynamic]
poisson_rate = 9000.0
poisson_weight = 0.12
[metrics]
interval = 2.3
[record]
horizon = )") + horizon + "\n");
    const sg::NetworkBuilder b = windowed_network();
    auto sim = sg::Simulation::distributed(b, cfg, comm);
    auto ref = std::make_unique<sg::Simulation>(b.build(1), cfg);
    ref->set_initial_state(b.initial_state());
    const std::int64_t want_window = comm->size() > 1 ? 12 : 1;
    if (sim->exchange_window() != want_window || ref->exchange_window() != 1) {
      std::cerr << "rank " << comm->rank() << ": exchange window " << sim->exchange_window() << ", expected "
                << want_window << "\n";
      ++bad;
    }
    std::vector<sg::EventBatch> events, ref_events;
    for (sg::Simulation* s : {sim.get(), ref.get()}) {
      add_recorders(*s);
      sg::RecorderSpec spikes;
      spikes.name = "some_spikes";
      spikes.kind = sg::RecorderKind::spikes;
      spikes.nodes = {3, 70, 71, 400, 650, 799};
      s->add_recorder(spikes);
      sg::RecorderSpec rate;
      rate.name = "rate";
      rate.kind = sg::RecorderKind::rate;
      for (sg::index_t i = 100; i < 500; ++i) rate.nodes.push_back(i);
      rate.interval_steps = 9;
      s->add_recorder(rate);
    }
    sim->subscribe([&](const sg::EventBatch& e) { events.push_back(e); });
    ref->subscribe([&](const sg::EventBatch& e) { ref_events.push_back(e); });
    drive(*sim, kSteps, 0);
    drive(*ref, kSteps, 0);
    const auto spike_events = [](const std::vector<sg::EventBatch>& batches) {
      std::vector<double> out;
      for (const auto& e : batches) {
        out.push_back(static_cast<double>(e.spike_steps.size()));
        out.insert(out.end(), e.spike_steps.begin(), e.spike_steps.end());
        out.insert(out.end(), e.spike_nodes.begin(), e.spike_nodes.end());
        out.push_back(static_cast<double>(e.stimuli.size()));
      }
      return out;
    };
    const std::string label = std::string("exchange window, horizon ") + horizon;
    Fingerprint got = fingerprint(*sim), want = fingerprint(*ref);
    got.add("spike events", spike_events(events));
    want.add("spike events", spike_events(ref_events));
    for (const char* name : {"some_spikes", "rate"}) {
      got.add(std::string(name) + " nodes", sim->recorder(name).nodes);
      got.add(std::string(name) + " counts", sim->recorder(name).counts);
      want.add(std::string(name) + " nodes", ref->recorder(name).nodes);
      want.add(std::string(name) + " counts", ref->recorder(name).counts);
    }
    got.add("perf spikes", std::vector<std::uint64_t>{sim->perf().spikes});
    want.add("perf spikes", std::vector<std::uint64_t>{ref->perf().spikes});
    int wrong = compare(label, got, want, comm->rank());
    if (ref->spikes().size() < 500 || ref->metrics_history().empty()) {
      std::cerr << label << ": " << ref->spikes().size() << " spikes, " << ref->metrics_history().size()
                << " metrics samples: the case tests too little\n";
      ++wrong;
    }
    // Saved on these ranks, continued in one process.
    const std::string path = "mpi_exchange_window_" + std::to_string(comm->size()) + ".sgckpt";
    sim->save(path);
    std::vector<double> sync{0.0};
    comm->sum_in_rank_order(sync);
    auto resumed = sg::Simulation::load(sg::io::SnapshotReader::open(path));
    comm->sum_in_rank_order(sync);
    if (comm->rank() == 0) std::remove(path.c_str());
    resumed->run_steps(40);
    ref->run_steps(40);
    wrong += compare(label + ", resumed", fingerprint(*resumed, false), fingerprint(*ref, false), comm->rank());
    if (wrong == 0 && comm->rank() == 0) {
      std::cout << label << ": " << comm->size() << " ranks, exchange every " << sim->exchange_window()
                << " steps = one process (" << ref->spikes().size() << " spikes)\n";
    }
    bad += wrong;
  }
  return bad;
}

// The microcircuit drawn per rank (no rank builds the whole), partitioned by in-edges,
// with energy flow: against the whole circuit in one process.
int microcircuit_per_rank(const std::shared_ptr<sg::dist::Communicator>& comm) {
  const double scale = 0.02, k_scale = 0.03;
  auto cfg = config_of(R"([sim]
seed = 4
threads = 1
partition = "edges"
[energy]
enabled = true
conductance = 0.01
)");
  cfg.update(sg::microcircuit_config(sg::microcircuit_design(scale, k_scale, true), scale, k_scale));
  auto sim = sg::Simulation::distributed(cfg, comm);
  const sg::BuiltNetwork net = sg::build_network(cfg);
  sg::Simulation ref(net.graph, cfg);
  ref.set_initial_state(net.initial_state);
  sim->run_steps(kSteps / 2);
  ref.run_steps(kSteps / 2);
  const int bad = compare("microcircuit drawn per rank", fingerprint(*sim), fingerprint(ref), comm->rank());
  if (bad == 0 && comm->rank() == 0) {
    std::cout << "microcircuit drawn per rank: " << comm->size() << " ranks = one process (" << ref.spikes().size()
              << " spikes, " << sim->graph().num_edges() << " of " << sim->total_edges() << " edges on rank 0)\n";
  }
  return bad;
}

constexpr std::int64_t kBefore = kSteps * 3 / 5 - 10, kAfter = kSteps - kBefore;  // 230 + 170

int save(const std::shared_ptr<sg::dist::Communicator>& comm, const std::string& path) {
  const auto cfg = config_of(cases()[0].toml);
  auto sim = sg::Simulation::distributed(sg::make_network(cfg), cfg, comm);
  add_recorders(*sim);
  drive(*sim, kBefore, 0);
  sim->save(path);
  if (comm->rank() == 0) std::cout << "saved at step " << sim->current_step() << " on " << comm->size() << " ranks\n";
  return 0;
}

int resume(const std::shared_ptr<sg::dist::Communicator>& comm, const std::string& path) {
  const auto cfg = config_of(cases()[0].toml);
  auto sim = sg::Simulation::load(sg::io::SnapshotReader::open(path), comm);
  drive(*sim, kAfter, kBefore);
  const Fingerprint got = fingerprint(*sim, false);
  auto ref = one_process(cfg);
  drive(*ref, kBefore, 0);
  drive(*ref, kAfter, kBefore);
  const int bad = compare("resume", got, fingerprint(*ref, false), comm->rank());
  if (bad == 0 && comm->rank() == 0) {
    std::cout << "resumed on " << comm->size() << " ranks = one uninterrupted process\n";
  }
  return bad;
}

// The spike exchange on its own: lists of many lengths in turn (empty, within a block,
// over it, over the largest block, shrinking again), each rank's different, give every
// rank's list in rank order on every rank.
int exchange_lengths(const std::shared_ptr<sg::dist::Communicator>& comm) {
  int bad = 0;
  const std::size_t lengths[] = {0, 3, 16, 17, 40, 5000, 12, 0, 9000, 1, 33, 2};
  for (std::size_t k = 0; k < std::size(lengths); ++k) {
    const auto length_of = [&](int rank) { return (lengths[k] * static_cast<std::size_t>(rank + 1) + k) / 2; };
    const auto list_of = [&](int rank) {
      std::vector<sg::index_t> ids(length_of(rank));
      for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<sg::index_t>(rank * 100000 + i * 3 + k);
      return ids;
    };
    std::vector<sg::index_t> all, expected;
    comm->allgather(list_of(comm->rank()), all);
    for (int r = 0; r < comm->size(); ++r) {
      const auto ids = list_of(r);
      expected.insert(expected.end(), ids.begin(), ids.end());
    }
    if (all != expected) {
      std::cerr << "rank " << comm->rank() << ": exchange " << k << " gave " << all.size() << " ids, expected "
                << expected.size() << "\n";
      ++bad;
    }
  }
  return bad;
}

// Throws in its phase at one step, on one rank only. It reads no spikes: with
// `late_ok` it says so (Service::takes_late_spikes), and exchange windows stay on.
class FailingService final : public sg::Service {
 public:
  FailingService(int rank, std::int64_t step, bool late_ok = false) : rank_(rank), step_(step), late_ok_(late_ok) {}
  std::string name() const override { return "faulty"; }
  std::vector<sg::Phase> phases() const override { return {sg::Phase::energy}; }
  bool takes_late_spikes() const override { return late_ok_; }
  void run(sg::Phase, sg::StepContext& ctx) override {
    if (ctx.step == step_ && mine_) throw sg::InputError("bad input on this rank");
  }
  void set_rank(int rank) { mine_ = rank == rank_; }

 private:
  int rank_;
  std::int64_t step_;
  bool late_ok_;
  bool mine_ = false;
};

int fail(const std::shared_ptr<sg::dist::Communicator>& comm) {
  const auto cfg = config_of(cases()[0].toml);
  auto sim = sg::Simulation::distributed(sg::make_network(cfg), cfg, comm);
  const int failing = comm->size() - 1;
  auto service = std::make_unique<FailingService>(failing, 20);
  service->set_rank(comm->rank());
  sim->replace_service(std::move(service));
  bool caught = false;
  try {
    sim->run_steps(50);
  } catch (const sg::InputError& e) {
    const std::string what = e.what();
    const bool expected = comm->rank() == failing ? what == "bad input on this rank"
                                                  : what == "rank " + std::to_string(failing) +
                                                                " failed: bad input on this rank";
    if (!expected) std::cerr << "rank " << comm->rank() << ": unexpected message: " << what << "\n";
    caught = expected;
  }
  if (!caught) {
    std::cerr << "rank " << comm->rank() << ": the failure did not reach this rank\n";
    return 1;
  }
  // Every rank stopped after the same step, and the run continues together.
  if (sim->current_step() != 21) {
    std::cerr << "rank " << comm->rank() << ": stopped at step " << sim->current_step() << "\n";
    return 1;
  }
  sim->run_steps(10);
  // A failure carried by the spike exchange itself (a rank whose neuron update threw).
  caught = false;
  try {
    const std::vector<sg::index_t> mine(static_cast<std::size_t>(comm->rank()) * 20, 1);
    std::vector<sg::index_t> all;
    comm->allgather(mine, all, comm->rank() != failing,
                    std::make_exception_ptr(sg::InputError("bad spikes on this rank")));
  } catch (const sg::InputError& e) {
    const std::string what = e.what();
    caught = comm->rank() == failing ? what == "bad spikes on this rank"
                                     : what == "rank " + std::to_string(failing) + " failed: bad spikes on this rank";
    if (!caught) std::cerr << "rank " << comm->rank() << ": unexpected message: " << what << "\n";
  }
  if (!caught) {
    std::cerr << "rank " << comm->rank() << ": the exchange's failure did not reach this rank\n";
    return 1;
  }
  // Within an exchange window (12 steps on several ranks): the failure at step 20 ends
  // the run at the end of its window, step 24, on every rank, and the run continues.
  const auto wcfg = config_of("[sim]\nseed = 5\nthreads = 1\ndt = 0.1\n[node.dynamic]\npoisson_rate = 9000.0\n");
  auto windowed = sg::Simulation::distributed(windowed_network(), wcfg, comm);
  auto late = std::make_unique<FailingService>(failing, 20, true);
  late->set_rank(comm->rank());
  windowed->replace_service(std::move(late));
  const std::int64_t stop = comm->size() > 1 ? 24 : 21;
  caught = false;
  try {
    windowed->run_steps(50);
  } catch (const sg::InputError&) {
    caught = windowed->current_step() == stop;
  }
  if (!caught || windowed->exchange_window() != (comm->size() > 1 ? 12 : 1)) {
    std::cerr << "rank " << comm->rank() << ": in a window, stopped at step " << windowed->current_step()
              << " (expected " << stop << "), window " << windowed->exchange_window() << "\n";
    return 1;
  }
  windowed->run_steps(10);
  // Ranks that split a run differently end their windows at different steps: an error
  // that names the mistake, on every rank.
  if (comm->size() > 1) {
    auto split = sg::Simulation::distributed(windowed_network(), wcfg, comm);
    caught = false;
    try {
      split->run_steps(comm->rank() == 0 ? 10 : 5);
    } catch (const sg::BackendError& e) {
      caught = std::string(e.what()).find("every rank must make the same run_steps calls") != std::string::npos;
      if (!caught) std::cerr << "rank " << comm->rank() << ": unexpected message: " << e.what() << "\n";
    }
    if (!caught) {
      std::cerr << "rank " << comm->rank() << ": a run split differently was not an error\n";
      return 1;
    }
  }
  if (comm->rank() == 0) std::cout << "a failure on rank " << failing << " reached all " << comm->size() << " ranks\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::shared_ptr<sg::dist::Communicator> comm;
  try {
    comm = sg::dist::mpi_world();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  const std::string mode = argc > 1 ? argv[1] : "identity";
  int failures = 0;
  try {
    if (mode == "identity") {
      failures = exchange_lengths(comm) + exchange_window(comm) + identity(comm) + part_without_plastic_edges(comm) +
                 microcircuit_per_rank(comm);
    } else if (mode == "save" && argc > 2) {
      failures = save(comm, argv[2]);
    } else if (mode == "resume" && argc > 2) {
      failures = resume(comm, argv[2]);
    } else if (mode == "fail") {
      failures = fail(comm);
    } else {
      std::cerr << "usage: mpi_identity identity|save FILE|resume FILE|fail\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "rank " << comm->rank() << ": " << e.what() << "\n";
    comm->abort(1);
    return 1;
  }
  // Every rank's verdict: a pass needs them all.
  std::vector<double> total{static_cast<double>(failures)};
  comm->sum_in_rank_order(total);
  return total[0] == 0.0 ? 0 : 1;
}
