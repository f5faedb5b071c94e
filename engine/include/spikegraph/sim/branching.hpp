// spikegraph/sim/branching.hpp
// The branching ratio m: how many spikes one spike causes, on average, in the next
// time bin. Estimated by multistep regression (Wilting & Priesemann 2018, Nat.
// Commun. 9:2325), which stays unbiased under external drive and when only some
// nodes are observed: for lags k = 1..K the least-squares slope r_k of the activity
// A_{t+k} on A_t, then the fit r_k = b m^k. (The ratio of the spike counts of two
// consecutive windows, which reads 1 for any stationary activity, is not an estimate
// of m.) Pure functions: the same input gives the same bits on any machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace spikegraph {

/// The multistep-regression estimate of one activity series.
struct BranchingEstimate {
  double m;          ///< the branching ratio per bin (NaN when the series cannot tell)
  double amplitude;  ///< b of r_k = b m^k (under subsampling, below 1)
  double quality;    ///< R^2 of that fit over the K slopes (1: the slopes are exactly exponential)
  std::vector<double> slopes;  ///< r_k, k = 1..K (NaN where A_t does not vary)
  std::size_t bins;            ///< length of the series
};

/// Estimates m from `count` consecutive activity values (spikes per bin) with lags
/// 1..max_lag. The series must be longer than max_lag + 2 and vary; otherwise m,
/// amplitude and quality are NaN. m is searched in (0, 2); a series whose slopes do
/// not decay (m at the bound) gives quality well below 1.
BranchingEstimate estimate_branching(const double* activity, std::size_t count, int max_lag);

/// Activity per bin from a spike record: spikes at steps [first_step, end_step) of
/// the nodes where `counted[node]` is non-zero (all nodes when `counted` is empty),
/// in bins of `bin_steps` steps (a last, incomplete bin is dropped).
std::vector<double> binned_activity(const std::int64_t* steps, const std::uint32_t* nodes, std::size_t count,
                                    std::int64_t first_step, std::int64_t end_step, std::int64_t bin_steps,
                                    const std::vector<std::uint8_t>& counted);

}  // namespace spikegraph
