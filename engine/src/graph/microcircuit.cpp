#include "spikegraph/graph/microcircuit.hpp"

#include <cmath>

#include "spikegraph/core/error.hpp"

namespace spikegraph {

namespace {

constexpr int P = kMicrocircuitPopulations;
const char* const kNames[P] = {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"};
constexpr double kSizes[P] = {20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948};
// Connection probability from population j (column) to population i (row).
constexpr double kProbability[P][P] = {
    {0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0},
    {0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0},
    {0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0},
    {0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0},
    {0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0},
    {0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0},
    {0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252},
    {0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443},
};
constexpr double kExternalInDegree[P] = {1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100};
// Published full-scale rates (Hz), used only to compensate scaled-down in-degrees.
constexpr double kFullScaleRates[P] = {0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829};
constexpr double kBackgroundHz = 8.0;
constexpr double kPspMv = 0.15, kInhibitoryFactor = -4.0;
constexpr double kDelayExc = 1.5, kDelayInh = 0.75;

// Round half to even, as numpy does (the Python side's earlier numbers, and NEST's example).
double round_even(double x) { return std::nearbyint(x); }

// Total synapses j -> i at full scale: the count whose expected distinct pairs (drawn
// with replacement) give the connection probability, as an in-degree K = count / N_i.
double full_in_degree(int i, int j) {
  const double pairs = kSizes[i] * kSizes[j];
  const double total = std::log(1.0 - kProbability[i][j]) / std::log((pairs - 1.0) / pairs);
  return total / kSizes[i];
}

}  // namespace

double psc_per_psp(double c_m, double tau_m, double tau_syn) {
  const double t_peak = tau_m * tau_syn / (tau_m - tau_syn) * std::log(tau_m / tau_syn);
  const double shape = std::exp(-t_peak / tau_m) - std::exp(-t_peak / tau_syn);
  const double peak = tau_m * tau_syn / (tau_m - tau_syn) / c_m * shape;
  return 1.0 / peak;
}

MicrocircuitDesign microcircuit_design(double scale, double k_scale, bool poisson_background) {
  if (!(scale > 0.0 && scale <= 1.0 && k_scale > 0.0 && k_scale <= 1.0)) {
    throw ConfigError("microcircuit: scale and k_scale must be in (0, 1], got " + std::to_string(scale) + ", " +
                      std::to_string(k_scale));
  }
  MicrocircuitDesign d;
  d.poisson = poisson_background;
  const double to_psc = psc_per_psp(d.c_m, d.tau_m, d.tau_syn);
  const double sqrt_k = std::sqrt(k_scale);
  const double tau_s = d.tau_syn * 1e-3;
  for (int i = 0; i < P; ++i) {
    d.populations[i] = kNames[i];
    d.sizes[i] = std::max<std::int64_t>(1, static_cast<std::int64_t>(round_even(kSizes[i] * scale)));
    d.delays[i] = i % 2 == 0 ? kDelayExc : kDelayInh;
    double missing = 0.0;  // mean input of the recurrent synapses k_scale leaves out
    for (int j = 0; j < P; ++j) {
      double psp = kPspMv * (j % 2 == 1 ? kInhibitoryFactor : 1.0);
      if (i == 0 && j == 2) psp *= 2.0;  // L4E -> L2/3E
      const double k_full = full_in_degree(i, j);
      d.counts[i][j] = static_cast<std::int64_t>(round_even(k_full * k_scale * round_even(kSizes[i] * scale)));
      d.psc[i][j] = psp * to_psc / sqrt_k;
      missing += psp * to_psc * round_even(k_full * kSizes[i]) / kSizes[i] * kFullScaleRates[j];
    }
    missing *= (1.0 - sqrt_k) * tau_s;
    const double external = kBackgroundHz * kExternalInDegree[i] * kPspMv * to_psc * tau_s;
    d.drive[i] = missing + (poisson_background ? (1.0 - sqrt_k) * external : external);
    d.poisson_rate[i] = poisson_background ? kBackgroundHz * kExternalInDegree[i] * k_scale : 0.0;
  }
  d.poisson_weight = kPspMv * to_psc / sqrt_k;
  return d;
}

NetworkBuilder microcircuit_builder(const MicrocircuitDesign& d, std::uint64_t seed, double dt_ms) {
  NetworkBuilder b(seed, dt_ms);
  Distribution v0;
  v0.kind = Distribution::Kind::normal;
  v0.a = d.v0_mean;
  v0.b = d.v0_sd;
  for (int i = 0; i < P; ++i) {
    b.add_population(d.populations[i], NodeType::dynamic, d.sizes[i]);
    b.set_initial(d.populations[i], "v", v0);
    b.set_initial(d.populations[i], "drive", Distribution::constant_value(d.drive[i]));
    b.set_initial(d.populations[i], "poisson_rate", Distribution::constant_value(d.poisson_rate[i]));
  }
  for (int i = 0; i < P; ++i) {
    for (int j = 0; j < P; ++j) {
      if (d.counts[i][j] == 0) continue;
      ConnectionRule rule;
      rule.kind = ConnectionRule::Kind::fixed_total_number;
      rule.n = d.counts[i][j];
      rule.autapses = false;
      const double w = std::abs(d.psc[i][j]);
      Distribution weight{Distribution::Kind::normal, w, d.psc_rel_sd * w, 0.0, 1e300};
      Distribution delay{Distribution::Kind::normal, d.delays[j], d.delay_rel_sd * d.delays[j], dt_ms, 1e300};
      b.connect(d.populations[j], d.populations[i], rule, weight, delay,
                j % 2 == 0 ? EdgeKind::excitatory : EdgeKind::inhibitory);
    }
  }
  return b;
}

config::FlatTable microcircuit_config(const MicrocircuitDesign& d, double scale, double k_scale) {
  using config::Value;
  const std::string n = "node.dynamic.";
  return {
      {n + "model", Value::string("lif_exp")},
      {n + "v_rest", Value::real(d.e_l)},
      {n + "v_reset", Value::real(d.v_reset)},
      {n + "threshold", Value::real(d.v_th)},
      {n + "tau_m", Value::real(d.tau_m)},
      {n + "t_ref", Value::real(d.t_ref)},
      {n + "resistance", Value::real(d.tau_m / d.c_m)},
      {n + "tau_syn_ex", Value::real(d.tau_syn)},
      {n + "tau_syn_in", Value::real(d.tau_syn)},
      {n + "drive", Value::real(0.0)},
      {n + "poisson_rate", Value::real(0.0)},
      {n + "poisson_weight", Value::real(d.poisson_weight)},
      {"init.v_min", Value::real(d.e_l)},
      {"init.v_max", Value::real(d.e_l)},
      {"network.kind", Value::string("microcircuit")},
      {"network.scale", Value::real(scale)},
      {"network.k_scale", Value::real(k_scale)},
      {"network.background", Value::string(d.poisson ? "poisson" : "dc")},
  };
}

}  // namespace spikegraph
