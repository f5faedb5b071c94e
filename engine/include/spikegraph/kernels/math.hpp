// spikegraph/kernels/math.hpp
// Transcendentals used by kernels, written as one fixed sequence of float
// operations so host and device give bit-identical results (glibc's and CUDA's
// expf differ in the last bits; one differing bit can change a spike).
// Accuracy: within 2 ulp of the correctly rounded result over the normal range.
// Requires strict IEEE evaluation: -ffp-contract=off on the host, -fmad=false on
// the device (set by the build).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "spikegraph/kernels/hd.hpp"

namespace spikegraph::kernels {

namespace detail {
SG_HD inline double pow2i(int k) {  // 2^k for -1022 <= k <= 1023, built from bits
  std::uint64_t bits = static_cast<std::uint64_t>(k + 1023) << 52;
  double r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
SG_HD inline float pow2i(int k, float) {  // 2^k for -126 <= k <= 127
  std::uint32_t bits = static_cast<std::uint32_t>(k + 127) << 23;
  float r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
SG_HD inline double infinity() {
  std::uint64_t bits = 0x7ff0000000000000ull;
  double r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
}  // namespace detail

/// `keep ? fresh : old`, computed with bit masks instead of a branch or a
/// conditional store, so loops that keep some elements unchanged still vectorise.
/// Exact for any T of 2, 4 or 8 bytes (floats included, bit for bit).
template <class T>
SG_HD inline T select_bits(bool keep, T fresh, T old) {
  using U = std::conditional_t<sizeof(T) == 8, std::uint64_t,
                               std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint16_t>>;
  static_assert(sizeof(T) == sizeof(U), "select_bits needs a 2, 4 or 8 byte type");
  U a, b;
  std::memcpy(&a, &fresh, sizeof a);
  std::memcpy(&b, &old, sizeof b);
  const U mask = static_cast<U>(static_cast<U>(0) - static_cast<U>(keep));
  const U bits = static_cast<U>((a & mask) | (b & static_cast<U>(~mask)));
  T out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

/// e^x in double precision, deterministic across host and device.
SG_HD inline double exp_det(double x) {
  if (!(x == x)) return x;               // NaN
  if (x > 709.782712893384) return detail::infinity();
  if (x < -745.1332191019412) return 0.0;
  const double inv_ln2 = 1.4426950408889634;
  const double ln2_hi = 6.93147180369123816490e-01;  // high bits of ln 2, exact in k*ln2_hi
  const double ln2_lo = 1.90821492927058770002e-10;
  double kd = x * inv_ln2;
  int k = static_cast<int>(kd < 0 ? kd - 0.5 : kd + 0.5);
  double r = (x - k * ln2_hi) - k * ln2_lo;  // |r| <= 0.35
  // Taylor series to degree 13: truncation error < 1e-17 relative.
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // Scale in two halves so that results near the subnormal range stay exact.
  int k1 = k / 2;
  return p * detail::pow2i(k1) * detail::pow2i(k - k1);
}

/// e^x in single precision, deterministic across host and device.
SG_HD inline float exp_det(float x) {
  if (!(x == x)) return x;
  if (x > 88.7228391f) return static_cast<float>(detail::infinity());
  if (x < -103.972084f) return 0.0f;
  const float inv_ln2 = 1.44269504f;
  const float ln2_hi = 0.693145752f;  // 12 significant bits: k*ln2_hi is exact
  const float ln2_lo = 1.42860677e-06f;
  float kf = x * inv_ln2;
  int k = static_cast<int>(kf < 0 ? kf - 0.5f : kf + 0.5f);
  float r = (x - static_cast<float>(k) * ln2_hi) - static_cast<float>(k) * ln2_lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int k1 = k / 2;
  return p * detail::pow2i(k1, 0.0f) * detail::pow2i(k - k1, 0.0f);
}

}  // namespace spikegraph::kernels
