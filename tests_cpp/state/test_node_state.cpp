// The node state table (spikegraph/state/node_state.hpp) drives what every backend
// holds and exposes: names, dtypes, checkpoint sections, the monitor's choices, a
// newborn's reset and memory accounting.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/kernels/energy.hpp"
#include "spikegraph/sim/model_params.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/state/node_state.hpp"
#include "support/test_util.hpp"

using namespace spikegraph;
using sgtest::E;
using sgtest::sim_config;
using sgtest::small_graph;

namespace {
// Configuration under which every optional row is allocated (types absent from the
// test graphs run the models that need them).
const std::string kAllRows = "[node.relay]\nmodel = \"lif_exp\"\n[node.workspace]\nmodel = \"izhikevich\"\n";
}  // namespace

TEST_CASE("node state table: every backend array is a row, with the row's dtype", "[state]") {
  const std::string precision = GENERATE(as<std::string>{}, "float32", "float64");
  // Two types the graph does not use run the models that need the optional rows.
  Simulation sim(small_graph(4, {E{0, 1, 0.5}}),
                 sim_config("[sim]\nprecision = \"" + precision + "\"\n" + kAllRows));
  const auto names = sim.state_names();
  REQUIRE(names.size() == static_cast<std::size_t>(kNodeVarCount));
  std::size_t expected_bytes = 0;
  for (int k = 0; k < kNodeVarCount; ++k) {
    const NodeVarInfo& row = kNodeVars[static_cast<std::size_t>(k)];
    INFO(row.name);
    CHECK(names[static_cast<std::size_t>(k)] == row.name);
    CHECK(find_node_var(row.name) == &row);
    const ArrayRef a = sim.state(row.name);
    CHECK(a.size == 4);
    CHECK(a.dtype == node_var_dtype(row, precision == "float64"));
    CHECK(std::string(row.meaning).size() > 5);
    expected_bytes += a.size * dtype_size(a.dtype);
  }
  CHECK(sim.backend().memory_bytes() >= expected_bytes);
  CHECK(find_node_var("voltage") == nullptr);
  CHECK_THROWS_WITH(sim.state("voltage"), Catch::Matchers::Contains("unknown variable 'voltage'") &&
                                              Catch::Matchers::Contains("known: v, threshold"));
}

TEST_CASE("node state table: rows of unused neuron models are not allocated", "[state]") {
  Simulation sim(small_graph(4, {E{0, 1, 0.5}}), sim_config());
  const auto names = sim.state_names();
  CHECK(std::find(names.begin(), names.end(), "u") == names.end());
  CHECK(std::find(names.begin(), names.end(), "i_syn_ex") == names.end());
  CHECK(names.size() == node_var_names(NodeFeatures{}).size());
  CHECK_THROWS_WITH(sim.state("u"), Catch::Matchers::Contains("'u' is not allocated") &&
                                        Catch::Matchers::Contains("izhikevich"));
  CHECK_THROWS_WITH(sim.state("i_syn_in"), Catch::Matchers::Contains("lif_exp"));
  Simulation exp(small_graph(4, {E{0, 1, 0.5}}), sim_config("[node.dynamic]\nmodel = \"lif_exp\"\n"));
  const auto exp_names = exp.state_names();
  CHECK(std::find(exp_names.begin(), exp_names.end(), "i_syn_ex") != exp_names.end());
  CHECK(std::find(exp_names.begin(), exp_names.end(), "u") == exp_names.end());
}

TEST_CASE("node state table: checkpoints hold one backend/<name> section per row", "[state][checkpoint]") {
  Simulation sim(small_graph(3, {E{0, 1, 0.5}}), sim_config(kAllRows));
  sim.run_steps(5);
  io::SnapshotWriter out;
  sim.save_to(out);
  const auto in = io::SnapshotReader::from_bytes(out.bytes(), "<test>");
  for (const auto& row : kNodeVars) {
    INFO(row.name);
    const std::string section = std::string("backend/") + row.name;
    REQUIRE(in.has(section));
    const ArrayRef a = sim.state(row.name);
    std::vector<unsigned char> bytes(a.size * dtype_size(a.dtype));
    in.read_into(section, a.dtype, bytes.data(), a.size);
    CHECK(std::memcmp(bytes.data(), a.data, bytes.size()) == 0);
  }
}

TEST_CASE("node state table: the monitor may sample exactly the monitorable rows", "[state][config]") {
  const config::ParamSpec* spec = nullptr;
  for (const auto& p : config::schema()) {
    if (p.key == "monitor.variables") spec = &p;
  }
  REQUIRE(spec != nullptr);
  std::vector<std::string> monitorable;
  for (const auto& row : kNodeVars) {
    if (row.monitorable) monitorable.emplace_back(row.name);
  }
  CHECK(spec->choices == monitorable);
  CHECK(std::find(monitorable.begin(), monitorable.end(), "alive") == monitorable.end());
  CHECK(unknown_node_var_message("x").find("known: v, threshold, drive") != std::string::npos);
}

TEST_CASE("node type traits: the model's parameters and schema follow the table", "[state][config]") {
  const config::Config c;
  const ModelParams<double> m = make_model_params<double>(c);
  std::vector<std::string> keys;
  for (const auto& p : config::schema()) keys.push_back(p.key);
  auto has_key = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
  for (int t = 0; t < kNodeTypeCount; ++t) {
    const NodeTypeTraits& traits = kNodeTypes[t];
    INFO(traits.name);
    CHECK(std::string(node_type_name(static_cast<NodeType>(t))) == traits.name);
    CHECK((m.neuron[t].leaky != 0) == traits.leaky);
    CHECK((m.ignores_input[t] != 0) == traits.ignores_input);
    CHECK((m.oscillator_period[t] > 0) == traits.oscillates);
    CHECK(m.flow_factor[t] == traits.flow_factor);
    CHECK((m.adapts_threshold[t] != 0) == traits.adapts_threshold);
    CHECK(m.threshold_lo[t] <= m.threshold_hi[t]);
    const std::string pre = std::string("node.") + traits.name + ".";
    CHECK(has_key(pre + "gain") == traits.scales_outgoing);
    CHECK(has_key(pre + "period") == traits.oscillates);
    CHECK(m.out_gain[t] == (traits.scales_outgoing ? c.real(pre + "gain") : 1.0));
  }
  // A highway passes energy on twice as strongly as any other node with the same weights.
  kernels::EnergyParams<double> ep{};
  ep.conductance = 0.2;
  CHECK(kernels::flow_scale(ep, 4.0, m.flow_factor[static_cast<int>(NodeType::highway)]) ==
        2 * kernels::flow_scale(ep, 4.0, m.flow_factor[static_cast<int>(NodeType::dynamic)]));
}
