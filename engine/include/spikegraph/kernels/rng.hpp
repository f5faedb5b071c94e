// spikegraph/kernels/rng.hpp
// Counter-based random numbers: every draw is a pure function of
// (seed, stream, index, step), so results do not depend on thread count,
// iteration order or backend. Not cryptographic; a keyed bijective 64-bit mix.
#pragma once

#include <cstdint>

#include "spikegraph/kernels/hd.hpp"

namespace spikegraph::kernels {

/// Streams: one per independent use of randomness, so uses never share draws.
enum class RngStream : std::uint64_t {
  poisson_input = 1,
  graph_build = 2,
  initial_state = 3,
  oscillator_phase = 4,
  structure = 5,
  analysis = 6,  ///< graph analysis: sampled nodes, power-iteration start vectors
  projection_pairs = 7,    ///< NetworkBuilder: which pairs a projection connects
  projection_weights = 8,  ///< NetworkBuilder: weights drawn from distributions
  projection_delays = 9,   ///< NetworkBuilder: delays drawn from distributions
  population_initial = 10,  ///< NetworkBuilder: initial values of populations' state
  user = 100,  ///< first id free for user code
};

/// A 128-bit key derived from (seed, stream) once on the host.
struct RngKey {
  std::uint64_t k0;
  std::uint64_t k1;
};

SG_HD inline std::uint64_t mix64(std::uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

SG_HD inline RngKey make_key(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t a = mix64(seed + 0x9e3779b97f4a7c15ull);
  std::uint64_t b = mix64(a ^ (stream * 0xd1b54a32d192ed03ull + 0x8cb92ba72f3d8dd7ull));
  return RngKey{b, mix64(b + 0x632be59bd9b4e019ull)};
}

/// The draw for (index, step) under a key. index and the low 32 bits of step form
/// the counter; the key enters before and between the two nonlinear rounds.
SG_HD inline std::uint64_t draw64(RngKey key, std::uint32_t index, std::uint64_t step) {
  std::uint64_t x = ((step & 0xffffffffull) << 32 | index) ^ key.k0;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= key.k1;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/// Uniform 32-bit integer (the high half of the 64-bit draw).
SG_HD inline std::uint32_t draw_u32(RngKey key, std::uint32_t index, std::uint64_t step) {
  return static_cast<std::uint32_t>(draw64(key, index, step) >> 32);
}

/// Uniform double in [0, 1) with 53 random bits.
SG_HD inline double draw_uniform(RngKey key, std::uint32_t index, std::uint64_t step) {
  return static_cast<double>(draw64(key, index, step) >> 11) * (1.0 / 9007199254740992.0);
}

/// Poisson count by inversion against an integer CDF table: thresholds[k] is
/// P(X <= k) scaled to 2^32 (entries equal to 2^32 are dropped by the builder).
/// Branch-free, so it vectorises; the count is the number of thresholds <= u.
SG_HD inline std::uint32_t poisson_from_table(std::uint32_t u, const std::uint32_t* thresholds,
                                              int count) {
  std::uint32_t n = 0;
  for (int k = 0; k < count; ++k) n += (u >= thresholds[k]) ? 1u : 0u;
  return n;
}

}  // namespace spikegraph::kernels
