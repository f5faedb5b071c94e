// Private (CUDA backend): the host-side plan of one step's spike delivery.
//
// The CPU backend adds, for every (ring slot, target), the contributions of the
// previous step's spikes in ascending source order, then row order: since CSR rows
// are contiguous and ascending by source, that is ascending edge id. The CUDA
// backend keeps exactly that order in one of two ways:
//  - sparse (event-driven): the spiking rows are expanded into one event per edge,
//    event q of spike k at row_start[k] + (edge - row begin), so events are in
//    ascending edge id; a stable radix sort by key = slot * n + target groups them
//    per (slot, target) without reordering a group; one thread per group then adds
//    the group's contributions to the ring in order;
//  - dense: one thread per target walks its in-list (ascending edge id) and adds the
//    edges whose source spiked.
// Both give the CPU's sums bit for bit; the choice only changes the cost (sparse is
// O(events log) work, dense O(edges)). Plain C++, unit-tested on the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph::gpu {

/// How delivery is done: chosen per step (automatic), or forced (tests compare both).
enum class DeliveryPolicy { automatic, sparse, dense };

/// Automatic delivery goes dense when a step's events exceed edges / kDenseFraction:
/// the sort then moves more bytes than one pass over the in-lists.
constexpr std::size_t kDenseFraction = 8;

/// Fills row_start[k] with the first event index of spikes[k]'s row (an exclusive
/// scan of the out-degrees) and returns the number of events (sum of out-degrees).
inline std::size_t plan_rows(const std::vector<index_t>& spikes, const offset_t* out_offsets,
                             std::vector<std::uint32_t>& row_start) {
  row_start.resize(spikes.size());
  std::size_t events = 0;
  for (std::size_t k = 0; k < spikes.size(); ++k) {
    row_start[k] = static_cast<std::uint32_t>(events);
    const index_t s = spikes[k];
    events += static_cast<std::size_t>(out_offsets[s + 1] - out_offsets[s]);
  }
  return events;
}

/// Whether a step with `events` synaptic events on a graph of `edges` edges is
/// delivered by the dense path.
inline bool use_dense(DeliveryPolicy policy, std::size_t events, std::size_t edges) {
  if (policy == DeliveryPolicy::dense) return true;
  if (policy == DeliveryPolicy::sparse) return false;
  return events > edges / kDenseFraction;
}

/// Bits the sort keys slot * nodes + target (< slots * nodes) need: at least 1.
inline int key_bits(std::size_t slots, std::size_t nodes) {
  const std::uint64_t largest = static_cast<std::uint64_t>(slots) * nodes - 1;
  int bits = 1;
  while (bits < 64 && (largest >> bits) != 0) ++bits;
  return bits;
}

}  // namespace spikegraph::gpu
