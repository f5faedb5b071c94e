// Private: a minimal fork-join helper with static, contiguous partitions (so
// partition p always covers the same index range for a given thread count) and
// exception hand-off to the calling thread.
#pragma once

#include <cstddef>

#include "thread_pool.hpp"

namespace spikegraph::cpu {

/// Range [begin, end) of part `p` of `parts` equal parts of n.
inline void part_range(std::size_t n, int parts, int p, std::size_t& begin, std::size_t& end) {
  const std::size_t base = n / static_cast<std::size_t>(parts);
  const std::size_t rem = n % static_cast<std::size_t>(parts);
  const auto up = static_cast<std::size_t>(p);
  begin = up * base + (up < rem ? up : rem);
  end = begin + base + (up < rem ? 1 : 0);
}

/// How many of `threads` to use for `work` items when each part should get at least
/// `min_per_part` of them: waking a team costs microseconds (and much more when the
/// cores are shared), so small loops run on fewer threads. Results never depend on it.
inline int parts_for(int threads, std::size_t work, std::size_t min_per_part) {
  const std::size_t parts = work / (min_per_part ? min_per_part : 1);
  return parts >= static_cast<std::size_t>(threads) ? threads : (parts < 1 ? 1 : static_cast<int>(parts));
}

/// Runs fn(part, begin, end) for each of `threads` parts of [0, n), in parallel
/// (thread_pool.hpp: parts are claimed by whichever threads are running, so which
/// thread runs a part varies, what the part covers does not). The first exception
/// thrown by any part is rethrown on the calling thread.
template <class Fn>
void parallel_parts(int threads, std::size_t n, Fn&& fn) {
  if (threads <= 1) {
    fn(0, std::size_t{0}, n);
    return;
  }
  run_parts(threads, [&](int p) {
    std::size_t b, e;
    part_range(n, threads, p, b, e);
    fn(p, b, e);
  });
}

/// Hardware threads available to this process.
int hardware_threads();

}  // namespace spikegraph::cpu
