// Private (backends): the per-node Poisson input. Each node's rate (the state variable
// poisson_rate, Hz) gives its Poisson count per step, drawn by inversion of one uniform
// draw against the CDF table of its mean (kernels::poisson_from_table). Nodes share
// tables, one per distinct mean: a network of populations holds a handful, and the CPU
// loop keeps its vectorised path over runs of nodes that share one. Backends rebuild
// the tables whenever rates change (set_state, the configuration, births, checkpoints).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/sim/model_params.hpp"

namespace spikegraph {

struct PoissonTables {
  std::vector<std::uint32_t> thresholds;  ///< every table's thresholds, concatenated
  std::vector<std::uint32_t> offset;      ///< per table: its first threshold
  std::vector<std::int32_t> size;         ///< per table: its length (0: no input)
  std::vector<std::uint16_t> node_table;  ///< per node: its table
  /// The first node of each run of nodes with one table, ascending (0 first), so a loop
  /// finds in O(log runs) whether a block of nodes shares one table.
  std::vector<std::size_t> run_starts;

  /// The table every node of [begin, end) uses, or -1 when they differ.
  int shared_table(std::size_t begin, std::size_t end) const {
    const auto run = std::upper_bound(run_starts.begin(), run_starts.end(), begin) - 1;
    const std::size_t run_end = run + 1 == run_starts.end() ? node_table.size() : *(run + 1);
    return end <= run_end ? node_table[begin] : -1;
  }
};

/// The mean Poisson count per step of a node of `type` whose rate is `rate` (Hz). A node
/// at its type's configured rate uses that rate in double, so the tables do not depend
/// on the precision the rates are stored in.
template <class Real>
double poisson_mean(Real rate, std::uint8_t type, const ModelParams<Real>& params) {
  const double configured = params.poisson_rate[type];
  const double hz = rate == static_cast<Real>(configured) ? configured : static_cast<double>(rate);
  return hz * params.dt_ms * 1e-3;
}

/// The tables of `n` nodes' rates. Table 0 is empty (rate 0). Throws InputError for
/// more than 65,535 distinct rates or a mean the tables cannot hold.
template <class Real>
PoissonTables make_poisson_tables(const Real* rate, const std::uint8_t* types, std::size_t n,
                                  const ModelParams<Real>& params) {
  PoissonTables t;
  t.offset.push_back(0);
  t.size.push_back(0);
  t.node_table.assign(n, 0);
  std::map<double, std::uint16_t> index;
  for (std::size_t i = 0; i < n; ++i) {
    const double mean = poisson_mean(rate[i], types[i], params);
    if (!(mean > 0.0)) continue;
    auto it = index.find(mean);
    if (it == index.end()) {
      if (t.offset.size() > kMaxPoissonRates) {
        throw InputError("poisson_rate: more than " + std::to_string(kMaxPoissonRates) + " distinct rates");
      }
      std::vector<std::uint32_t> table;
      try {
        table = poisson_cdf_table(mean);
      } catch (const ConfigError& e) {
        throw InputError(std::string("poisson_rate of node ") + std::to_string(i) + ": " + e.what());
      }
      it = index.emplace(mean, static_cast<std::uint16_t>(t.offset.size())).first;
      t.offset.push_back(static_cast<std::uint32_t>(t.thresholds.size()));
      t.size.push_back(static_cast<std::int32_t>(table.size()));
      t.thresholds.insert(t.thresholds.end(), table.begin(), table.end());
    }
    t.node_table[i] = it->second;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0 || t.node_table[i] != t.node_table[i - 1]) t.run_starts.push_back(i);
  }
  return t;
}

/// After a configuration change: every node of a type whose node.<type>.poisson_rate
/// changed takes the new rate (per-node rates of the other types stay). True when
/// any node changed.
template <class Real>
bool apply_type_poisson_rates(Real* rate, const std::uint8_t* types, std::size_t n, const ModelParams<Real>& before,
                              const ModelParams<Real>& after) {
  bool changed = false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t t = types[i];
    if (before.poisson_rate[t] != after.poisson_rate[t]) {
      rate[i] = static_cast<Real>(after.poisson_rate[t]);
      changed = true;
    }
  }
  return changed;
}

}  // namespace spikegraph
