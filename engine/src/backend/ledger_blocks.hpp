// Private (backends): how every backend takes the energy ledger's sums, so that the
// ledger is the same for any backend and thread count. Each column is summed per
// block of kLedgerBlock nodes in node order, then over blocks in block order.
#pragma once

#include <cstddef>

#include "spikegraph/sim/records.hpp"

namespace spikegraph::ledger_blocks {

/// Nodes per block of the ledger's sums.
constexpr std::size_t kLedgerBlock = 1024;
/// The columns summed per block.
enum Column : int { kBefore, kCost, kMetabolism, kFlowOut, kFlowIn, kOverflow, kAfter, kColumns };

/// The ledger's energy columns from the totals over blocks.
inline void set_ledger(EnergyLedger& ledger, const double (&total)[kColumns]) {
  ledger.total_before = total[kBefore];
  ledger.spike_cost = total[kCost];
  ledger.metabolism = total[kMetabolism];
  ledger.flow_out = total[kFlowOut];
  ledger.flow_in = total[kFlowIn];
  ledger.overflow = total[kOverflow];
  ledger.total_after = total[kAfter];
}

}  // namespace spikegraph::ledger_blocks
