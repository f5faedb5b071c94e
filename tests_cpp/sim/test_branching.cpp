// sim/branching.hpp: the multistep-regression estimate of the branching ratio on
// branching processes with a known m, its slopes on a hand-checkable series, the
// cases it cannot tell, and binned activity from a spike record.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "spikegraph/sim/branching.hpp"

using spikegraph::binned_activity;
using spikegraph::estimate_branching;

namespace {

// splitmix64, and Poisson draws by inversion (means here stay below 100).
struct Rng {
  std::uint64_t s;
  double uniform() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
  std::int64_t poisson(double mean) {
    // Sum of unit-mean draws keeps exp(-mean) away from underflow.
    std::int64_t k = 0;
    while (mean > 0.0) {
      const double part = std::min(mean, 20.0);
      mean -= part;
      const double limit = std::exp(-part);
      double p = uniform();
      while (p > limit) {
        ++k;
        p *= uniform();
      }
    }
    return k;
  }
};

// A_{t+1} ~ Poisson(m A_t + rate).
std::vector<double> branching_process(double m, double rate, std::size_t bins, std::uint64_t seed) {
  Rng rng{seed};
  double x = rate / (1.0 - m);
  for (int t = 0; t < 1000; ++t) x = static_cast<double>(rng.poisson(m * x + rate));
  std::vector<double> a(bins);
  for (auto& v : a) v = x = static_cast<double>(rng.poisson(m * x + rate));
  return a;
}

}  // namespace

TEST_CASE("branching: multistep regression recovers m of driven branching processes", "[branching]") {
  for (double m : {0.5, 0.9}) {
    INFO("m = " << m);
    const std::vector<double> a = branching_process(m, 10.0, 100000, 17);
    const auto e = estimate_branching(a.data(), a.size(), 8);
    CHECK(std::abs(e.m - m) <= 0.02);
    CHECK(e.amplitude == Approx(1.0).margin(0.1));
    CHECK(e.quality > 0.95);
    REQUIRE(e.slopes.size() == 8);
    CHECK(e.slopes[0] == Approx(m).margin(0.02));
    CHECK(e.bins == a.size());
    // The same input gives the same bits.
    const auto again = estimate_branching(a.data(), a.size(), 8);
    CHECK(again.m == e.m);
  }
}

TEST_CASE("branching: slopes of an exactly geometric series, and what cannot be told", "[branching]") {
  // x_t = 0.8^t * 1000: every lag-k slope is exactly 0.8^k, so m = 0.8 and b = 1.
  std::vector<double> x(40);
  for (std::size_t t = 0; t < x.size(); ++t) x[t] = 1000.0 * std::pow(0.8, static_cast<double>(t));
  const auto e = estimate_branching(x.data(), x.size(), 5);
  for (int k = 1; k <= 5; ++k) CHECK(e.slopes[static_cast<std::size_t>(k - 1)] == Approx(std::pow(0.8, k)));
  CHECK(e.m == Approx(0.8).epsilon(1e-6));
  CHECK(e.amplitude == Approx(1.0).epsilon(1e-6));
  CHECK(e.quality == Approx(1.0).epsilon(1e-9));
  const std::vector<double> constant(100, 3.0);
  CHECK(std::isnan(estimate_branching(constant.data(), constant.size(), 5).m));
  CHECK(std::isnan(estimate_branching(x.data(), 7, 5).m));  // too short for 5 lags
  CHECK(std::isnan(estimate_branching(x.data(), x.size(), 0).m));
}

TEST_CASE("branching: activity per bin from a spike record", "[branching]") {
  const std::vector<std::int64_t> steps{0, 1, 1, 3, 4, 7, 8, 9, 12};
  const std::vector<std::uint32_t> nodes{0, 1, 2, 0, 2, 1, 0, 0, 1};
  // Bins of 4 steps over [0, 12): {0,1,1,3}, {4,7}, {8,9}; step 12 is past the end.
  CHECK(binned_activity(steps.data(), nodes.data(), steps.size(), 0, 12, 4, {}) == std::vector<double>{4, 2, 2});
  // Only nodes 0 and 2 counted; the record from step 1, bins of 5: [1, 6) has steps 1
  // (node 2), 3 and 4; [6, 11) has 8 and 9.
  CHECK(binned_activity(steps.data(), nodes.data(), steps.size(), 1, 12, 5, {1, 0, 1}) ==
        std::vector<double>{3, 2});
  CHECK(binned_activity(steps.data(), nodes.data(), steps.size(), 5, 5, 4, {}).empty());
}
