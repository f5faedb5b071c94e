// kernels/math.hpp: exp_det (float and double) against the C library's exp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "spikegraph/kernels/math.hpp"
#include "support/test_util.hpp"

using spikegraph::kernels::exp_det;
using sgtest::ulp_distance;

namespace {

// Correctly rounded references: exp in long double (64-bit mantissa on x86) for
// double, exp in double for float.
double ref_exp(double x) { return static_cast<double>(std::exp(static_cast<long double>(x))); }
float ref_exp(float x) { return static_cast<float>(std::exp(static_cast<double>(x))); }

template <class Real>
struct Worst {
  std::int64_t ulps = 0;
  Real x = 0;
  std::size_t checked = 0;
  void check(Real x_) {
    const Real got = exp_det(x_);
    const Real want = ref_exp(x_);
    const std::int64_t d = ulp_distance(got, want);
    ++checked;
    if (d > ulps) {
      ulps = d;
      x = x_;
    }
  }
  std::string describe() const {
    std::ostringstream os;
    os.precision(std::numeric_limits<Real>::max_digits10);
    os << "worst " << ulps << " ulp at x = " << x << " (exp_det " << exp_det(x) << ", reference "
       << ref_exp(x) << "), " << checked << " points";
    return os.str();
  }
};

double from_bits(std::uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}
float from_bits32(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
std::uint64_t bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}
std::uint32_t bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

}  // namespace

TEST_CASE("exp_det(double) special values", "[kernels][math]") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(exp_det(0.0) == 1.0);
  CHECK(exp_det(-0.0) == 1.0);
  CHECK(exp_det(1e-300) == 1.0);
  CHECK(exp_det(-1e-300) == 1.0);
  CHECK(exp_det(std::numeric_limits<double>::denorm_min()) == 1.0);
  CHECK(exp_det(1.0) == Approx(2.718281828459045).epsilon(1e-15));
  // Overflow -> +inf, underflow -> +0, NaN propagates.
  CHECK(exp_det(710.0) == inf);
  CHECK(exp_det(1e10) == inf);
  CHECK(exp_det(inf) == inf);
  CHECK(exp_det(-746.0) == 0.0);
  CHECK(exp_det(-1e10) == 0.0);
  CHECK(exp_det(-inf) == 0.0);
  CHECK_FALSE(std::signbit(exp_det(-1000.0)));
  CHECK(std::isnan(exp_det(std::numeric_limits<double>::quiet_NaN())));
  CHECK(std::isnan(exp_det(-std::numeric_limits<double>::quiet_NaN())));
  // Largest finite result and the edge of the subnormal range.
  const double big = exp_det(709.78);
  CHECK(std::isfinite(big));
  CHECK(ulp_distance(big, ref_exp(709.78)) <= 2);
  CHECK(ulp_distance(exp_det(709.782712893384), ref_exp(709.782712893384)) <= 2);
  CHECK(ulp_distance(exp_det(700.0), ref_exp(700.0)) <= 2);
  CHECK(ulp_distance(exp_det(-700.0), ref_exp(-700.0)) <= 2);
  CHECK(ulp_distance(exp_det(-708.0), ref_exp(-708.0)) <= 2);  // near DBL_MIN
  CHECK(ulp_distance(exp_det(-740.0), ref_exp(-740.0)) <= 2);  // subnormal result
  CHECK(exp_det(-745.0) > 0.0);                                  // ~ 4.9e-324
}

TEST_CASE("exp_det(float) special values", "[kernels][math]") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(exp_det(0.0f) == 1.0f);
  CHECK(exp_det(-0.0f) == 1.0f);
  CHECK(exp_det(1e-30f) == 1.0f);
  CHECK(exp_det(-1e-30f) == 1.0f);
  CHECK(exp_det(std::numeric_limits<float>::denorm_min()) == 1.0f);
  CHECK(exp_det(89.0f) == inf);
  CHECK(exp_det(700.0f) == inf);
  CHECK(exp_det(inf) == inf);
  CHECK(exp_det(-104.0f) == 0.0f);
  CHECK(exp_det(-700.0f) == 0.0f);
  CHECK(exp_det(-inf) == 0.0f);
  CHECK(std::isnan(exp_det(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isfinite(exp_det(88.72f)));
  CHECK(ulp_distance(exp_det(88.72f), ref_exp(88.72f)) <= 2);
  CHECK(ulp_distance(exp_det(-87.0f), ref_exp(-87.0f)) <= 2);   // near FLT_MIN
  CHECK(ulp_distance(exp_det(-100.0f), ref_exp(-100.0f)) <= 2); // subnormal result
  CHECK(exp_det(-103.0f) > 0.0f);
}

TEST_CASE("exp_det(double) is within 2 ulp of exp over its whole range", "[kernels][math]") {
  Worst<double> w;
  // Every (2^64 / 1e6)-th bit pattern of positive and negative arguments, up to the
  // overflow / underflow limits: covers tiny, normal and large magnitudes evenly in log.
  const std::uint64_t pos_end = bits(709.782712893384);
  const std::uint64_t neg_end = bits(745.13);
  const std::uint64_t stride = pos_end / 400000;
  for (std::uint64_t b = 0; b <= pos_end; b += stride) w.check(from_bits(b));
  for (std::uint64_t b = 0; b <= neg_end; b += stride) w.check(-from_bits(b));
  // A uniform grid over the range and random points, plus the range-reduction
  // boundaries (k +- 1/2) * ln 2, where k switches.
  for (int i = 0; i <= 200000; ++i) w.check(-745.0 + 1454.78 * i / 200000.0);
  std::mt19937_64 gen(12345);
  std::uniform_real_distribution<double> uni(-745.0, 709.78);
  for (int i = 0; i < 100000; ++i) w.check(uni(gen));
  const double ln2 = 0.6931471805599453;
  for (int k = -1074; k <= 1023; ++k) {
    const double x = (k + 0.5) * ln2;
    if (x > 709.78 || x < -745.0) continue;
    w.check(x);
    w.check(std::nextafter(x, 1e9));
    w.check(std::nextafter(x, -1e9));
  }
  INFO(w.describe());
  CHECK(w.ulps <= 2);
}

TEST_CASE("exp_det(float) is within 2 ulp of exp over its whole range", "[kernels][math]") {
  Worst<float> w;
  const std::uint32_t pos_end = bits(88.7228f);
  const std::uint32_t neg_end = bits(103.97f);
  for (std::uint32_t b = 0; b <= pos_end; b += 1117) w.check(from_bits32(b));
  for (std::uint32_t b = 0; b <= neg_end; b += 1117) w.check(-from_bits32(b));
  std::mt19937 gen(777);
  std::uniform_real_distribution<float> uni(-103.9f, 88.72f);
  for (int i = 0; i < 100000; ++i) w.check(uni(gen));
  // Typical kernel arguments: -dt / tau for dt in (0, 1], tau in [1, 1000] steps.
  for (int i = 1; i <= 20000; ++i) w.check(-1.0f / (static_cast<float>(i) * 0.05f));
  INFO(w.describe());
  CHECK(w.ulps <= 2);
}
