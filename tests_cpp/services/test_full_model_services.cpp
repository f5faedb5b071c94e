// Services of the full model driven from C++: structural plasticity, stimuli and
// subscribers, sensory input (grating and frames) on the default network, set_weights.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/state/node_state.hpp"
#include "support/test_util.hpp"

using sgtest::config_of;
using sgtest::E;
using sgtest::set;
using sgtest::small_graph;
using sgtest::state_of;
using spikegraph::EventBatch;
using spikegraph::Simulation;
using spikegraph::Stimulus;

namespace {

// Energy without cost, metabolism or flow (so only structure changes it), structure on.
sgtest::Keys structure_keys() {
  return {{"sim.precision", "\"float64\""},    {"energy.enabled", "true"},
          {"energy.tau_decay", "1e9"},          {"energy.conductance", "0.0"},
          {"energy.spike_cost_frac", "0.0"},    {"structure.enabled", "true"},
          {"structure.interval", "10"}};
}

std::vector<spikegraph::StructureEvent> collect(Simulation& sim, std::int64_t steps) {
  std::vector<spikegraph::StructureEvent> out;
  const int id = sim.subscribe([&](const EventBatch& b) { out.insert(out.end(), b.structure.begin(), b.structure.end()); });
  sim.run_steps(steps);
  sim.unsubscribe(id);
  return out;
}

}  // namespace

TEST_CASE("structure: starving dynamic nodes die and their energy is a ledger transfer", "[structure]") {
  Simulation sim(small_graph(4, {E{0, 1, 0.1}, E{1, 2, 0.1}, E{2, 3, 0.1}}, {1, 1, 1, 3}), config_of(structure_keys()));
  set(sim, "energy", {0.01, 2.0, 0.01, 0.01});
  const auto events = collect(sim, 10);
  REQUIRE(events.size() == 1);
  CHECK(events[0].deaths == std::vector<spikegraph::index_t>{0, 2});
  CHECK(state_of(sim, "alive") == std::vector<double>{0, 1, 0, 1});
  CHECK(sim.ledger().transfers == Approx(0.02));
  CHECK(std::abs(sim.ledger().error()) < 1e-12);
  CHECK(events[0].removed_edges == 3);
  CHECK(sim.graph().num_edges() == 0);
  sim.graph().validate();
}

TEST_CASE("structure: births fill spare slots, pay the cost, add edges, and are refused without slots", "[structure]") {
  const std::vector<std::uint8_t> plastic{0, 0};
  Simulation sim(small_graph(3, {E{0, 1, 0.1}, E{1, 2, 0.1}}, {}, plastic),
                 config_of(structure_keys(), {{"structure.spare_nodes", "2"},
                                              {"structure.birth_energy", "3.0"},
                                              {"structure.birth_cost", "1.5"},
                                              {"structure.child_out_degree", "2"},
                                              {"structure.death_energy", "0.0"},
                                              // types absent here, so that every optional row exists
                                              {"node.relay.model", "\"lif_exp\""},
                                              {"node.workspace.model", "\"izhikevich\""}}));
  REQUIRE(sim.graph().num_nodes() == 5);
  REQUIRE(sim.state_names().size() == static_cast<std::size_t>(spikegraph::kNodeVarCount));
  CHECK(state_of(sim, "alive") == std::vector<double>{1, 1, 1, 0, 0});
  set(sim, "energy", {4.0, 3.5, 1.0, 0.0, 0.0});
  // Leftovers in the spare slots: a newborn starts as the state table's newborn column says.
  for (const auto& row : spikegraph::kNodeVars) {
    if (row.newborn == spikegraph::NewbornValue::keep) continue;
    std::vector<double> leftover = state_of(sim, row.name);
    if (row.id != spikegraph::NodeVar::poisson_rate) leftover = {0, 0, 0, 0, 0};  // the parents keep their input
    leftover[3] = leftover[4] = 7;
    set(sim, row.name, leftover);
  }
  const auto events = collect(sim, 10);
  REQUIRE(events.size() == 1);
  CHECK(events[0].parents == std::vector<spikegraph::index_t>{0, 1});
  CHECK(events[0].children == std::vector<spikegraph::index_t>{3, 4});
  for (const auto& row : spikegraph::kNodeVars) {
    INFO(row.name);
    const auto x = state_of(sim, row.name);
    switch (row.newborn) {
      case spikegraph::NewbornValue::keep: break;
      case spikegraph::NewbornValue::zero: CHECK(x[3] == 0.0); break;
      case spikegraph::NewbornValue::minus_one: CHECK(x[3] == -1.0); break;
      case spikegraph::NewbornValue::rest: CHECK(x[3] == sim.config().real("node.dynamic.v_rest")); break;
      case spikegraph::NewbornValue::base_threshold:
        CHECK(x[3] == Approx(sim.config().real("node.dynamic.threshold")));
        break;
      case spikegraph::NewbornValue::type_poisson_rate:
        CHECK(x[3] == sim.config().real("node.dynamic.poisson_rate"));
        break;
    }
  }
  CHECK(events[0].added_edges == 6);
  const auto e = state_of(sim, "energy");
  CHECK(e[0] == Approx(2.5));
  CHECK(e[3] == Approx(0.75));
  CHECK(sim.ledger().birth_cost == Approx(1.5));  // 2 x 1.5 paid, 2 x 0.75 given to the children
  CHECK(std::abs(sim.ledger().error()) < 1e-12);
  sim.graph().validate();
  set(sim, "energy", {4.0, 0.5, 0.5, 0.5, 0.5});
  const auto again = collect(sim, 10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].births_refused == 1);
  CHECK(again[0].children.empty());
}

TEST_CASE("structure: weak plastic edges are pruned, their weights carried for the rest", "[structure]") {
  const std::vector<std::uint8_t> plastic{1, 0, 1};
  Simulation sim(small_graph(3, {E{0, 1, 0.01}, E{0, 2, 0.01}, E{1, 2, 0.5}}, {}, plastic),
                 config_of(structure_keys(), {{"structure.death_energy", "0.0"}, {"learning.enabled", "true"},
                                              {"learning.rule", "\"eligibility\""}}));
  const auto events = collect(sim, 10);
  REQUIRE(events.size() == 1);
  CHECK(events[0].pruned_edges == 1);
  REQUIRE(sim.graph().num_edges() == 2);
  const auto* w = static_cast<const float*>(sim.edge_state("weight").data);
  CHECK(w[0] == Approx(0.01));
  CHECK(w[1] == Approx(0.5));
  CHECK(sim.edge_state("eligibility").size == 2);
}

TEST_CASE("stimuli: input, add and set drive at their steps, and errors change nothing", "[events]") {
  Simulation sim(small_graph(3, {E{0, 1, 0.5, 2}}), config_of({{"sim.precision", "\"float64\""}}));
  Stimulus fire;
  fire.step = 3;
  fire.kind = Stimulus::Kind::input;
  fire.value = 2.0;
  fire.nodes = {0};
  sim.schedule_stimulus(fire);
  Stimulus drive;
  drive.step = 1;
  drive.kind = Stimulus::Kind::set_drive;
  drive.value = 0.5;
  drive.nodes = {2};
  sim.schedule_stimulus(drive);
  drive.kind = Stimulus::Kind::add_drive;
  drive.value = 0.25;
  sim.schedule_stimulus(drive);
  CHECK(sim.pending_stimuli() == 3);
  std::vector<EventBatch> batches;
  const int id = sim.subscribe([&](const EventBatch& b) { batches.push_back(b); });
  sim.run_steps(6);
  CHECK(sim.pending_stimuli() == 0);
  CHECK(sim.spikes().nodes == std::vector<spikegraph::index_t>{0});
  CHECK(sim.spikes().steps == std::vector<std::int64_t>{3});
  CHECK(state_of(sim, "drive")[2] == Approx(0.75));
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].stimuli.size() == 3);
  CHECK(batches[0].spike_nodes == std::vector<spikegraph::index_t>{0});
  sim.unsubscribe(id);
  CHECK_THROWS_AS(sim.unsubscribe(id), spikegraph::InputError);
  CHECK_THROWS_AS(sim.subscribe(spikegraph::EventCallback()), spikegraph::InputError);
  Stimulus past = fire;
  past.step = 2;
  CHECK_THROWS_WITH(sim.schedule_stimulus(past), Catch::Contains("in the past"));
  Stimulus bad = fire;
  bad.step = 10;
  bad.nodes = {5};
  CHECK_THROWS_WITH(sim.schedule_stimulus(bad), Catch::Contains("out of range"));
  bad.nodes = {0};
  bad.value = std::nan("");
  CHECK_THROWS_WITH(sim.schedule_stimulus(bad), Catch::Contains("finite"));
  CHECK(sim.pending_stimuli() == 0);
  sim.collect_spike_events(true);
  sim.run_steps(2);
  CHECK(sim.take_events().first_step == 6);
}

TEST_CASE("default network: layout, grating input, frames and the ledger's inflow", "[sensory][graph]") {
  auto cfg = spikegraph::config::Config::from_toml(spikegraph::config::default_run_toml());
  cfg.update({{"graph.sensory_side", spikegraph::config::Value::integer(8)},
              {"sim.threads", spikegraph::config::Value::integer(1)}});
  auto graph = spikegraph::make_network(cfg);
  const auto stats = graph->stats();
  CHECK(stats.nodes_by_type[0] == 64);
  CHECK(stats.nodes_by_type[1] == 256);
  graph->validate();
  CHECK_THROWS_AS(spikegraph::make_default_network([] {
                    spikegraph::config::Config c;
                    c.update({{"graph.dynamic_per_sensory", spikegraph::config::Value::integer(0)}});
                    return c;
                  }()),
                  spikegraph::GraphError);
  Simulation sim(graph, cfg);
  CHECK(sim.sensory_grid_height() == 8);
  sim.run_steps(11);
  CHECK(sim.frames_applied() == 3);  // steps 0, 5, 10
  const auto e = state_of(sim, "energy");
  CHECK(*std::max_element(e.begin(), e.begin() + 64) > 0.0);
  // A user frame replaces the grating and arrives at the next step.
  std::vector<std::uint8_t> frame(16 * 16 * 3, 255);
  spikegraph::sensory::FrameView view;
  view.data = frame.data();
  view.height = 16;
  view.width = 16;
  view.channels = 3;
  view.type = spikegraph::sensory::FrameView::Type::u8;
  view.row_stride_bytes = 16 * 3;
  sim.set_frame(view);
  sim.run_steps(1);
  const auto drive = state_of(sim, "drive");
  CHECK(drive[0] == Approx(cfg.real("sensory.gain")));
  // Set to the cap by the frame, then this step's metabolism and outflow took a little.
  CHECK(state_of(sim, "energy")[0] > 0.99 * cfg.real("energy.cap"));
  CHECK(sim.ledger().inflow != 0.0);
  CHECK(std::abs(sim.ledger().error()) <= 1e-4 * sim.ledger().total_after);
  view.channels = 2;
  CHECK_THROWS_AS(sim.set_frame(view), spikegraph::InputError);
  Simulation no_sensory(small_graph(2, {}), config_of({}));
  CHECK_THROWS_WITH(no_sensory.set_frame(view), Catch::Contains("no sensory nodes"));
}

TEST_CASE("set_weights validates, and delivery and flow use the new weights", "[learning][energy]") {
  Simulation sim(small_graph(2, {E{0, 1, 0.5}}), config_of({{"sim.precision", "\"float64\""},
                                                           {"energy.enabled", "true"}}));
  const std::vector<double> w{0.75};
  sim.set_weights(w.data(), w.size());
  CHECK(static_cast<const float*>(sim.edge_state("weight").data)[0] == 0.75f);
  const std::vector<double> nan{std::nan("")};
  CHECK_THROWS_WITH(sim.set_weights(nan.data(), 1), Catch::Contains("weights[0]"));
  CHECK_THROWS_WITH(sim.set_weights(w.data(), 2), Catch::Contains("expected 1 weights"));
  CHECK(sim.edge_state_names() == std::vector<std::string>{"weight"});
  CHECK_THROWS_AS(sim.edge_state("eligibility"), spikegraph::InputError);
  CHECK_THROWS_AS(sim.set_neuromodulator(std::nan("")), spikegraph::InputError);
  sim.set_neuromodulator(1.5);
  CHECK(sim.neuromodulator() == 1.5);
  set(sim, "v", {2.0, 0.0});
  sim.run_steps(2);
  CHECK(state_of(sim, "v")[1] == Approx(0.75));
}
