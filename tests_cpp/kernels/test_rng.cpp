// kernels/rng.hpp: counter-based draws, uniformity, Poisson by table inversion.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/kernels/params.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/sim/model_params.hpp"

namespace k = spikegraph::kernels;

namespace {

k::RngKey key(std::uint64_t seed, k::RngStream s = k::RngStream::poisson_input) {
  return k::make_key(seed, static_cast<std::uint64_t>(s));
}

// Chi-square statistic of `counts` against a uniform expectation.
double chi_square(const std::vector<double>& counts, double total) {
  const double expect = total / static_cast<double>(counts.size());
  double chi = 0.0;
  for (double c : counts) chi += (c - expect) * (c - expect) / expect;
  return chi;
}

// For 63 degrees of freedom: mean 63, sd 11.2. P(chi2 > 120) ~ 1e-5, P(chi2 < 25) ~ 1e-6
// (too good to be random is also a failure).
constexpr double kChiHi = 120.0;
constexpr double kChiLo = 25.0;

}  // namespace

TEST_CASE("draw64 is a pure function of (key, index, step)", "[kernels][rng]") {
  const auto a = key(42);
  const auto b = key(42);
  CHECK(a.k0 == b.k0);
  CHECK(a.k1 == b.k1);
  for (std::uint32_t i = 0; i < 100; ++i) {
    for (std::uint64_t t = 0; t < 10; ++t) CHECK(k::draw64(a, i, t) == k::draw64(b, i, t));
  }
  // Order of evaluation does not matter: draw backwards and compare.
  std::vector<std::uint64_t> fwd, bwd(1000);
  for (std::uint32_t i = 0; i < 1000; ++i) fwd.push_back(k::draw64(a, i, 7));
  for (int i = 999; i >= 0; --i) bwd[static_cast<std::size_t>(i)] = k::draw64(a, static_cast<std::uint32_t>(i), 7);
  CHECK(fwd == bwd);
  // draw_u32 is the high half; draw_uniform uses the top 53 bits.
  const std::uint64_t x = k::draw64(a, 5, 9);
  CHECK(k::draw_u32(a, 5, 9) == static_cast<std::uint32_t>(x >> 32));
  CHECK(k::draw_uniform(a, 5, 9) == static_cast<double>(x >> 11) / 9007199254740992.0);
}

TEST_CASE("draw64 golden values (CPU/GPU parity and reproducibility across versions)", "[kernels][rng]") {
  // If the generator is changed on purpose, every recorded simulation changes:
  // update these values together with a note in the changelog.
  const auto a = k::make_key(1, 1);
  CHECK(k::mix64(0) == 0);
  CHECK(k::mix64(1) == 0x5692161d100b05e5ull);  // splitmix64 finaliser of 1
  CHECK(k::draw64(a, 0, 0) == k::draw64(k::make_key(1, 1), 0, 0));
  CHECK(k::draw64(a, 0, 0) == 0x92d069da87a49182ull);
  CHECK(k::draw64(a, 1, 0) == 0xe49b3641c7e2c609ull);
  CHECK(k::draw64(a, 0, 1) == 0x4d47d7fc784fbb36ull);
  CHECK(k::draw64(k::make_key(12345, 2), 777, 4000000000ull) == 0xe23a8699dbf2ac55ull);
}

TEST_CASE("different seeds, streams, indices and steps give different draws", "[kernels][rng]") {
  // 10^4 draws along each axis: no two equal (a collision among 10^4 64-bit values
  // has probability ~ 3e-12).
  auto all_distinct = [](const std::vector<std::uint64_t>& v) {
    return std::set<std::uint64_t>(v.begin(), v.end()).size() == v.size();
  };
  std::vector<std::uint64_t> by_seed, by_stream, by_index, by_step, mixed;
  for (std::uint64_t s = 0; s < 10000; ++s) by_seed.push_back(k::draw64(key(s), 3, 4));
  for (std::uint64_t s = 0; s < 10000; ++s) by_stream.push_back(k::draw64(k::make_key(1, s), 3, 4));
  for (std::uint32_t i = 0; i < 10000; ++i) by_index.push_back(k::draw64(key(1), i, 4));
  for (std::uint64_t t = 0; t < 10000; ++t) by_step.push_back(k::draw64(key(1), 3, t));
  CHECK(all_distinct(by_seed));
  CHECK(all_distinct(by_stream));
  CHECK(all_distinct(by_index));
  CHECK(all_distinct(by_step));
  // index and step are not interchangeable: (i, t) and (t, i) differ.
  for (std::uint32_t i = 0; i < 100; ++i) {
    for (std::uint32_t t = 0; t < 100; ++t) {
      if (i != t) mixed.push_back(k::draw64(key(1), i, t));
    }
  }
  for (std::uint32_t i = 0; i < 100; ++i) mixed.push_back(k::draw64(key(1), i, i));
  CHECK(all_distinct(mixed));
  // The documented streams give unrelated keys.
  std::set<std::uint64_t> k0s;
  for (auto s : {k::RngStream::poisson_input, k::RngStream::graph_build, k::RngStream::initial_state,
                 k::RngStream::oscillator_phase, k::RngStream::structure, k::RngStream::analysis,
                 k::RngStream::user}) {
    k0s.insert(key(1, s).k0);
  }
  CHECK(k0s.size() == 7);
}

TEST_CASE("draw64 output is uniform (chi-square, 64 bins, 1e5 draws)", "[kernels][rng]") {
  const auto a = key(2024);
  const int n = 100000;
  SECTION("top 6 bits, draws along the index axis") {
    std::vector<double> c(64, 0.0);
    for (int i = 0; i < n; ++i) c[k::draw64(a, static_cast<std::uint32_t>(i), 17) >> 58] += 1;
    const double chi = chi_square(c, n);
    INFO("chi2 = " << chi);
    CHECK(chi < kChiHi);
    CHECK(chi > kChiLo);
  }
  SECTION("low 6 bits, draws along the step axis") {
    std::vector<double> c(64, 0.0);
    for (int t = 0; t < n; ++t) c[k::draw64(a, 17, static_cast<std::uint64_t>(t)) & 63] += 1;
    const double chi = chi_square(c, n);
    INFO("chi2 = " << chi);
    CHECK(chi < kChiHi);
    CHECK(chi > kChiLo);
  }
  SECTION("draw_u32 middle bits over a 2-D (index, step) block") {
    std::vector<double> c(64, 0.0);
    for (int i = 0; i < 1000; ++i) {
      for (int t = 0; t < 100; ++t) c[(k::draw_u32(a, static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(t)) >> 13) & 63] += 1;
    }
    const double chi = chi_square(c, n);
    INFO("chi2 = " << chi);
    CHECK(chi < kChiHi);
    CHECK(chi > kChiLo);
  }
  SECTION("seed axis (consecutive seeds, same counter)") {
    std::vector<double> c(64, 0.0);
    for (int s = 0; s < n; ++s) c[k::draw64(key(static_cast<std::uint64_t>(s)), 0, 0) >> 58] += 1;
    const double chi = chi_square(c, n);
    INFO("chi2 = " << chi);
    CHECK(chi < kChiHi);
    CHECK(chi > kChiLo);
  }
  SECTION("draw_uniform: 64 equal bins of [0, 1)") {
    std::vector<double> c(64, 0.0);
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      const double u = k::draw_uniform(a, static_cast<std::uint32_t>(i), 3);
      REQUIRE(u >= 0.0);
      REQUIRE(u < 1.0);
      sum += u;
      c[static_cast<std::size_t>(u * 64.0)] += 1;
    }
    const double chi = chi_square(c, n);
    INFO("chi2 = " << chi);
    CHECK(chi < kChiHi);
    CHECK(chi > kChiLo);
    // mean 1/2, sd of the mean sqrt(1/12 / n) = 9.1e-4
    CHECK(std::abs(sum / n - 0.5) < 4 * 9.2e-4);
  }
}

TEST_CASE("draw_uniform stays below 1 for the largest draw", "[kernels][rng]") {
  // The top 53 bits all set map to 1 - 2^-53, never to 1.
  const double top = static_cast<double>(~0ull >> 11) * (1.0 / 9007199254740992.0);
  CHECK(top < 1.0);
  // And a long stretch of real draws never leaves [0, 1).
  const auto a = key(9);
  for (std::uint32_t i = 0; i < 200000; ++i) {
    const double u = k::draw_uniform(a, i, 123456789);
    if (!(u >= 0.0 && u < 1.0)) FAIL("draw_uniform out of [0,1): " << u);
  }
}

TEST_CASE("poisson_cdf_table shape", "[kernels][rng][poisson]") {
  CHECK(spikegraph::poisson_cdf_table(0.0).empty());
  CHECK(spikegraph::poisson_cdf_table(-1.0).empty());
  CHECK(spikegraph::poisson_cdf_table(std::nan("")).empty());
  for (double mean : {0.01, 1.0, 5.0, 50.0, 600.0}) {
    const auto t = spikegraph::poisson_cdf_table(mean);
    INFO("mean " << mean);
    REQUIRE(!t.empty());
    CHECK(t.size() <= static_cast<std::size_t>(spikegraph::kernels::kMaxPoissonTable));
    for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i - 1] <= t[i]);
    // t_0 = round(e^-mean * 2^32)
    CHECK(static_cast<double>(t[0]) == Approx(std::nearbyint(std::exp(-mean) * 4294967296.0)).margin(1.0));
    // The table covers the distribution: the tail beyond it is below 2^-32 after rounding.
    CHECK(t.back() >= 4294967296.0 - 2.0 - 4294967296.0 * 1e-9);
  }
  // The documented limit: mean > 600 spikes per step is a configuration error.
  CHECK_THROWS_AS(spikegraph::poisson_cdf_table(600.5), spikegraph::ConfigError);
  CHECK_THROWS_AS(spikegraph::poisson_cdf_table(1e6), spikegraph::ConfigError);
  CHECK_THROWS_WITH(spikegraph::poisson_cdf_table(1000.0), Catch::Contains("600"));
}

TEST_CASE("poisson_from_table counts the thresholds <= u", "[kernels][rng][poisson]") {
  const std::uint32_t t[] = {10, 20, 20, 30};
  CHECK(k::poisson_from_table(0, t, 4) == 0);
  CHECK(k::poisson_from_table(9, t, 4) == 0);
  CHECK(k::poisson_from_table(10, t, 4) == 1);
  CHECK(k::poisson_from_table(19, t, 4) == 1);
  CHECK(k::poisson_from_table(20, t, 4) == 3);
  CHECK(k::poisson_from_table(29, t, 4) == 3);
  CHECK(k::poisson_from_table(30, t, 4) == 4);
  CHECK(k::poisson_from_table(0xffffffffu, t, 4) == 4);
  CHECK(k::poisson_from_table(0xffffffffu, t, 0) == 0);
}

TEST_CASE("Poisson counts from the table have the right mean and variance", "[kernels][rng][poisson]") {
  // 2e5 draws; mean within 4 sd of the sample mean (sqrt(m / N)), variance within
  // 4 sd of the sample variance (sqrt((m + 2 m^2) / N)); P(X = 0) within 4 sd.
  const int n = 200000;
  const auto a = key(77);
  for (double mean : {0.01, 1.0, 5.0, 50.0}) {
    const auto table = spikegraph::poisson_cdf_table(mean);
    double sum = 0.0, sum2 = 0.0, zeros = 0.0;
    for (int i = 0; i < n; ++i) {
      const std::uint32_t u = k::draw_u32(a, static_cast<std::uint32_t>(i % 1000), static_cast<std::uint64_t>(i / 1000));
      const double c = k::poisson_from_table(u, table.data(), static_cast<int>(table.size()));
      sum += c;
      sum2 += c * c;
      if (c == 0) zeros += 1;
    }
    const double m = sum / n;
    const double var = (sum2 - n * m * m) / (n - 1);
    INFO("mean " << mean << ": sample mean " << m << ", sample variance " << var);
    CHECK(std::abs(m - mean) < 4.0 * std::sqrt(mean / n));
    CHECK(std::abs(var - mean) < 4.0 * std::sqrt((mean + 2.0 * mean * mean) / n));
    const double p0 = std::exp(-mean);
    CHECK(std::abs(zeros / n - p0) < 4.0 * std::sqrt(p0 * (1 - p0) / n) + 1e-9);
  }
}
