// Simulation API contracts: set_state validation, run() arguments, backends.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using spikegraph::InputError;
using spikegraph::Simulation;
using sgtest::E;
using sgtest::set;
using sgtest::sim_config;
using sgtest::small_graph;
using sgtest::state_of;
using Catch::Matchers::Contains;

TEST_CASE("state arrays: names, dtypes and sizes", "[sim][api][state]") {
  Simulation sim(small_graph(3, {E{0, 1, 0.5}}), sim_config());
  const auto names = sim.state_names();
  for (const char* n : {"v", "threshold", "drive", "energy", "refractory", "last_spike"}) {
    INFO(n);
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
    CHECK(sim.state(n).size == 3);
  }
  CHECK(sim.state("v").dtype == spikegraph::DType::f32);
  CHECK(sim.state("refractory").dtype == spikegraph::DType::u16);
  CHECK(sim.state("last_spike").dtype == spikegraph::DType::i32);
  CHECK(state_of(sim, "last_spike") == std::vector<double>{-1, -1, -1});  // never spiked
  CHECK(state_of(sim, "threshold") == std::vector<double>{1, 1, 1});
  CHECK(state_of(sim, "energy") == std::vector<double>{2.5, 2.5, 2.5});
  Simulation s64(small_graph(3, {}), sim_config("[sim]\nprecision = \"float64\"\n"));
  CHECK(s64.state("v").dtype == spikegraph::DType::f64);
  CHECK(s64.backend().precision() == spikegraph::Precision::float64);
}

TEST_CASE("initial state follows the configuration", "[sim][api][state]") {
  const auto cfg = sim_config(R"(
energy.initial = 3.0
[init]
v_min = -1.0
v_max = 0.5
[node.dynamic]
threshold = 2.0
drive = 0.25
)");
  auto g = small_graph(500, {});
  Simulation sim(g, cfg);
  const auto v = state_of(sim, "v");
  double lo = 1e9, hi = -1e9;
  for (double x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  CHECK(lo >= -1.0);
  CHECK(hi <= 0.5);
  CHECK(hi - lo > 1.3);  // spread over the interval
  CHECK(state_of(sim, "energy") == std::vector<double>(500, 3.0));
  CHECK(state_of(sim, "threshold") == std::vector<double>(500, 2.0));
  CHECK(state_of(sim, "drive") == std::vector<double>(500, 0.25));
  Simulation again(g, cfg);
  CHECK(state_of(again, "v") == v);  // drawn from the seed
}

TEST_CASE("set_state validates before writing", "[sim][api][state]") {
  Simulation sim(small_graph(3, {}), sim_config());
  set(sim, "v", {0.1, 0.2, 0.3});
  const auto v_before = state_of(sim, "v");
  const auto r_before = state_of(sim, "refractory");
  SECTION("wrong length") {
    CHECK_THROWS_AS(set(sim, "v", {1.0, 2.0}), InputError);
    CHECK_THROWS_WITH(set(sim, "v", {1.0, 2.0, 3.0, 4.0}), Contains("expected 3 values, got 4"));
  }
  SECTION("NaN anywhere: nothing written") {
    CHECK_THROWS_AS(set(sim, "v", {0.5, 0.6, std::nan("")}), InputError);
    CHECK_THROWS_WITH(set(sim, "v", {0.5, std::nan(""), 0.7}), Contains("value[1]") && Contains("not finite"));
  }
  SECTION("infinity") {
    CHECK_THROWS_AS(set(sim, "energy", {1.0, std::numeric_limits<double>::infinity(), 1.0}), InputError);
  }
  SECTION("non-integer into an integer variable") {
    CHECK_THROWS_AS(set(sim, "refractory", {1.0, 1.5, 0.0}), InputError);
    CHECK_THROWS_WITH(set(sim, "refractory", {1.0, 2.0, 0.25}), Contains("value[2]") && Contains("uint16"));
  }
  SECTION("out of the integer range") {
    CHECK_THROWS_AS(set(sim, "refractory", {-1.0, 0.0, 0.0}), InputError);
    CHECK_THROWS_AS(set(sim, "refractory", {70000.0, 0.0, 0.0}), InputError);
    CHECK_THROWS_AS(set(sim, "alive", {1.0, 256.0, 1.0}), InputError);
  }
  SECTION("too large for float32") {
    CHECK_THROWS_AS(set(sim, "v", {1e39, 0.0, 0.0}), InputError);
  }
  SECTION("unknown variable lists the known ones") {
    CHECK_THROWS_AS(set(sim, "voltage", {0.0, 0.0, 0.0}), InputError);
    CHECK_THROWS_WITH(set(sim, "voltage", {0.0, 0.0, 0.0}),
                      Contains("voltage") && Contains("v, threshold") && Contains("refractory"));
    CHECK_THROWS_AS(sim.state("voltage"), InputError);
  }
  CHECK(state_of(sim, "v") == v_before);
  CHECK(state_of(sim, "refractory") == r_before);
  // Valid writes land.
  set(sim, "refractory", {3.0, 0.0, 65535.0});
  CHECK(state_of(sim, "refractory") == std::vector<double>{3, 0, 65535});
  set(sim, "last_spike", {-1.0, 7.0, 2147483647.0});
  CHECK(state_of(sim, "last_spike") == std::vector<double>{-1, 7, 2147483647.0});
}

TEST_CASE("run() and run_steps() reject bad arguments and keep the step counter", "[sim][api]") {
  Simulation sim(small_graph(2, {}), sim_config("[sim]\ndt = 0.5\n"));
  sim.run_steps(4);
  REQUIRE(sim.current_step() == 4);
  CHECK(sim.time_ms() == 2.0);
  CHECK(sim.dt() == 0.5);
  CHECK_THROWS_AS(sim.run(-1.0), InputError);
  CHECK_THROWS_AS(sim.run(std::nan("")), InputError);
  CHECK_THROWS_AS(sim.run(std::numeric_limits<double>::infinity()), InputError);
  CHECK_THROWS_AS(sim.run_steps(-1), InputError);
  CHECK_THROWS_WITH(sim.run(-1.0), Contains("run"));
  CHECK(sim.current_step() == 4);
  sim.run(0.0);
  CHECK(sim.current_step() == 4);
  sim.run(3.0);  // 6 steps
  CHECK(sim.current_step() == 10);
  sim.run(0.2);  // 0.4 steps -> 0
  CHECK(sim.current_step() == 10);
  sim.run(0.8);  // 1.6 steps -> 2
  CHECK(sim.current_step() == 12);
  CHECK(sim.perf().steps == 12);  // 4 + 6 + 0 + 2 since construction
}

TEST_CASE("backends: registry, cuda unavailability, auto", "[sim][api][backend]") {
  const auto infos = spikegraph::available_backends();
  const spikegraph::BackendInfo* cpu = nullptr;
  const spikegraph::BackendInfo* cuda = nullptr;
  for (const auto& b : infos) {
    if (b.name == "cpu") cpu = &b;
    if (b.name == "cuda") cuda = &b;
  }
  REQUIRE(cpu);
  REQUIRE(cuda);
  CHECK(cpu->compiled);
  CHECK(cpu->available);
  auto g = small_graph(2, {});
  if (!cuda->available) {
    // Asking for cuda where it is absent is an error naming the build option.
    CHECK_THROWS_AS(Simulation(g, sim_config("[sim]\nbackend = \"cuda\"\n")), spikegraph::BackendError);
    CHECK_THROWS_WITH(Simulation(g, sim_config("[sim]\nbackend = \"cuda\"\n")), Contains("SPIKEGRAPH_CUDA"));
    // auto falls back to the CPU (documented choice, not silent for an explicit request).
    Simulation a(g, sim_config("[sim]\nbackend = \"auto\"\n"));
    CHECK(a.backend().name() == "cpu");
  }
  // Unknown backends never reach the registry: the configuration rejects them.
  CHECK_THROWS_AS(sim_config("[sim]\nbackend = \"opencl\"\n"), spikegraph::ConfigError);
  // The registry itself also rejects unknown names.
  CHECK_THROWS_AS(spikegraph::make_backend("opencl", *g, sim_config()), spikegraph::BackendError);
  // Thread count: explicit, and 0 = all hardware threads.
  Simulation t3(g, sim_config("[sim]\nthreads = 3\n"));
  CHECK(t3.backend().threads() == 3);
  Simulation t0(g, sim_config("[sim]\nthreads = 0\n"));
  CHECK(t0.backend().threads() >= 1);
}

TEST_CASE("Simulation constructor checks", "[sim][api]") {
  CHECK_THROWS_AS(Simulation(nullptr, sim_config()), InputError);
  // A Poisson rate that would need more than 600 spikes per step.
  CHECK_THROWS_AS(Simulation(small_graph(2, {}), sim_config("[node.dynamic]\npoisson_rate = 1e6\n")),
                  spikegraph::ConfigError);
}
