#include "spikegraph/sim/branching.hpp"

#include <cmath>
#include <limits>

namespace spikegraph {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Least-squares slope of y = x[t + k] on x[t] over t = 0..n-k-1 (NaN when x[t] is
// constant over that range).
double lag_slope(const double* x, std::size_t n, std::size_t k) {
  const std::size_t pairs = n - k;
  double mean_a = 0.0, mean_b = 0.0;
  for (std::size_t t = 0; t < pairs; ++t) {
    mean_a += x[t];
    mean_b += x[t + k];
  }
  mean_a /= static_cast<double>(pairs);
  mean_b /= static_cast<double>(pairs);
  double cov = 0.0, var = 0.0;
  for (std::size_t t = 0; t < pairs; ++t) {
    const double da = x[t] - mean_a;
    cov += da * (x[t + k] - mean_b);
    var += da * da;
  }
  return var > 0.0 ? cov / var : kNaN;
}

// For a given m, the residual sum of squares of r_k = b m^k with the best b, and that b.
double residual(const std::vector<double>& r, double m, double& b) {
  double rm = 0.0, mm = 0.0, rr = 0.0, power = 1.0;
  for (double rk : r) {
    power *= m;
    rm += rk * power;
    mm += power * power;
    rr += rk * rk;
  }
  b = mm > 0.0 ? rm / mm : 0.0;
  return rr - b * rm;  // sum (r_k - b m^k)^2 at the optimal b
}

}  // namespace

BranchingEstimate estimate_branching(const double* activity, std::size_t count, int max_lag) {
  BranchingEstimate e{kNaN, kNaN, kNaN, {}, count};
  if (max_lag < 1 || count < static_cast<std::size_t>(max_lag) + 3) return e;
  e.slopes.resize(static_cast<std::size_t>(max_lag));
  for (int k = 1; k <= max_lag; ++k) {
    e.slopes[static_cast<std::size_t>(k - 1)] = lag_slope(activity, count, static_cast<std::size_t>(k));
  }
  for (double r : e.slopes) {
    if (std::isnan(r)) return e;
  }
  // m by a coarse scan of (0, 2), then golden-section search around the best point
  // (the residual is smooth in m; a fixed number of steps keeps the result exact).
  constexpr int kScan = 400;
  constexpr double kHi = 2.0;
  double best_m = 0.0, best = std::numeric_limits<double>::infinity(), b = 0.0;
  for (int i = 1; i < kScan; ++i) {
    const double m = kHi * i / kScan;
    const double s = residual(e.slopes, m, b);
    if (s < best) {
      best = s;
      best_m = m;
    }
  }
  double lo = best_m - kHi / kScan, hi = best_m + kHi / kScan;
  const double g = 0.5 * (std::sqrt(5.0) - 1.0);
  double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
  double f1 = residual(e.slopes, x1, b), f2 = residual(e.slopes, x2, b);
  for (int it = 0; it < 60; ++it) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = residual(e.slopes, x1, b);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = residual(e.slopes, x2, b);
    }
  }
  e.m = 0.5 * (lo + hi);
  const double ssr = residual(e.slopes, e.m, e.amplitude);
  double mean = 0.0;
  for (double r : e.slopes) mean += r;
  mean /= static_cast<double>(e.slopes.size());
  double sst = 0.0;
  for (double r : e.slopes) sst += (r - mean) * (r - mean);
  e.quality = sst > 0.0 ? 1.0 - ssr / sst : (ssr <= 0.0 ? 1.0 : 0.0);
  return e;
}

std::vector<double> binned_activity(const std::int64_t* steps, const std::uint32_t* nodes, std::size_t count,
                                    std::int64_t first_step, std::int64_t end_step, std::int64_t bin_steps,
                                    const std::vector<std::uint8_t>& counted) {
  if (bin_steps < 1 || end_step <= first_step) return {};
  const auto bins = static_cast<std::size_t>((end_step - first_step) / bin_steps);
  std::vector<double> a(bins, 0.0);
  for (std::size_t k = 0; k < count; ++k) {
    if (steps[k] < first_step) continue;
    const auto bin = static_cast<std::size_t>((steps[k] - first_step) / bin_steps);
    if (bin >= bins) continue;
    if (!counted.empty() && (nodes[k] >= counted.size() || !counted[nodes[k]])) continue;
    a[bin] += 1.0;
  }
  return a;
}

}  // namespace spikegraph
