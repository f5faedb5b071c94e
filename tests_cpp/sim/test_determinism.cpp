// Bit-identical results for any thread count, in both precisions; the seed matters.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "spikegraph/graph/generators.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using spikegraph::Simulation;

namespace {

std::string brunel_toml(const std::string& precision, int threads, int seed, const std::string& extra = "") {
  return "[sim]\ndt = 0.1\nthreads = " + std::to_string(threads) + "\nseed = " + std::to_string(seed) +
         "\nprecision = \"" + precision + R"("
backend = "cpu"
[network]
n = 2000
k_in = 50
j = 0.1
g = 5.0
delay = 1.5
[node.dynamic]
tau_m = 20.0
threshold = 20.0
v_reset = 10.0
t_ref = 2.0
energy_coupling = 0.0
poisson_rate = 10000.0
poisson_weight = 0.1
[init]
)" + (extra.empty() ? std::string("v_min = 0.0\nv_max = 20.0\n") : extra);
}

struct Result {
  spikegraph::SpikeRecord spikes;
  std::vector<unsigned char> v_bytes;
  int threads;
};

Result run(const std::string& toml, std::int64_t steps) {
  const auto cfg = sgtest::config_from(toml);
  Simulation sim(spikegraph::make_network(cfg), cfg);
  sim.run_steps(steps);
  Result r;
  r.spikes = sim.spikes();
  const spikegraph::ArrayRef v = sim.state("v");
  r.v_bytes.resize(v.size * spikegraph::dtype_size(v.dtype));
  std::memcpy(r.v_bytes.data(), v.data, r.v_bytes.size());
  r.threads = sim.backend().threads();
  return r;
}

}  // namespace

TEST_CASE("Brunel network: same spikes for 1 and 2 threads, float32 and float64", "[sim][determinism]") {
  const std::string precision = GENERATE(as<std::string>{}, "float32", "float64");
  INFO(precision);
  const Result one = run(brunel_toml(precision, 1, 1), 500);
  const Result two = run(brunel_toml(precision, 2, 1), 500);
  CHECK(one.threads == 1);
  CHECK(two.threads == 2);
  // The network is active (otherwise the comparison means nothing): 2000 nodes,
  // 50 ms, about 9 Hz.
  CHECK(one.spikes.size() > 500);
  CHECK(one.spikes.steps == two.spikes.steps);
  CHECK(one.spikes.nodes == two.spikes.nodes);
  CHECK(one.v_bytes == two.v_bytes);
  // Emission order: ascending step, ascending node within a step.
  bool ordered = true;
  for (std::size_t i = 1; i < one.spikes.size(); ++i) {
    const auto s0 = one.spikes.steps[i - 1], s1 = one.spikes.steps[i];
    if (s1 < s0 || (s1 == s0 && one.spikes.nodes[i] <= one.spikes.nodes[i - 1])) ordered = false;
  }
  CHECK(ordered);
  // Another seed: another network, other Poisson input, other initial state.
  const Result other = run(brunel_toml(precision, 1, 2), 500);
  CHECK(other.spikes.size() > 500);
  CHECK(other.spikes.nodes != one.spikes.nodes);
}

TEST_CASE("synchronous burst: parallel delivery is bit-identical to serial", "[sim][determinism]") {
  // Every node starts above threshold, so all 2000 spike at step 0 and 100000 synaptic
  // events are delivered at step 1: enough for the delivery to run split over threads.
  const std::string burst = "v_min = 25.0\nv_max = 30.0\n";
  const std::string precision = GENERATE(as<std::string>{}, "float32", "float64");
  INFO(precision);
  const Result one = run(brunel_toml(precision, 1, 5, burst), 40);
  const Result two = run(brunel_toml(precision, 2, 5, burst), 40);
  std::size_t at0 = 0;
  for (auto s : one.spikes.steps) at0 += s == 0;
  CHECK(at0 == 2000);
  CHECK(one.spikes.steps == two.spikes.steps);
  CHECK(one.spikes.nodes == two.spikes.nodes);
  CHECK(one.v_bytes == two.v_bytes);
}

TEST_CASE("running in chunks gives the same result as one run", "[sim][determinism]") {
  const auto cfg = sgtest::config_from(brunel_toml("float32", 1, 3));
  auto g = spikegraph::make_network(cfg);
  Simulation a(g, cfg), b(g, cfg);
  a.run_steps(300);
  for (int i = 0; i < 10; ++i) b.run_steps(30);
  b.run_steps(0);
  CHECK(a.current_step() == 300);
  CHECK(b.current_step() == 300);
  CHECK(a.spikes().steps == b.spikes().steps);
  CHECK(a.spikes().nodes == b.spikes().nodes);
  CHECK(sgtest::state_of(a, "v") == sgtest::state_of(b, "v"));
}
