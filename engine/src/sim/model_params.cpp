#include "spikegraph/sim/model_params.hpp"

#include <cmath>
#include <string>

#include "spikegraph/core/error.hpp"

namespace spikegraph {

std::vector<std::uint32_t> poisson_cdf_table(double mean) {
  std::vector<std::uint32_t> table;
  if (!(mean > 0.0)) return table;
  if (mean > 600.0) {
    throw ConfigError("Poisson input: mean " + std::to_string(mean) +
                      " spikes per step is too large (at most 600; lower the rate or sim.dt)");
  }
  // Recurrence in log space so large means do not underflow exp(-mean).
  double log_p = -mean;  // log P(X = 0)
  double cdf = 0.0;
  const double scale = 4294967296.0;
  for (int k = 0; k < kernels::kMaxPoissonTable; ++k) {
    cdf += std::exp(log_p);
    double t = std::nearbyint(cdf * scale);
    if (t >= scale) return table;
    table.push_back(static_cast<std::uint32_t>(t));
    log_p += std::log(mean) - std::log(static_cast<double>(k + 1));
  }
  if (1.0 - cdf > 1.0 / scale) {
    throw ConfigError("Poisson input: CDF table for mean " + std::to_string(mean) + " is too long");
  }
  return table;
}

namespace {

// exp(x) - 1 as NEST's builds without a C library expm1 compute it (the PyPI wheel of
// NEST 3.10 is one): the Taylor series summed until a term no longer changes the sum,
// for |x| <= ln 2, else exp(x) - 1. std::expm1 differs from it by up to 3 ulp, which
// moves potentials (not spike trains, in the validation networks) off NEST's bits.
double series_expm1(double x) {
  if (std::fabs(x) > 0.6931471805599453) return std::exp(x) - 1.0;
  double sum = x;
  double term = x * x / 2;
  double n = 2;
  while (std::fabs(term) > std::fabs(sum) * 2.220446049250313e-16) {
    sum += term;
    n += 1;
    term *= x / n;
  }
  return sum;
}

// NEST's propagator from a synaptic current with time constant tau_syn to the
// potential over one step h (membrane tau_m, capacitance c_m = tau_m / R), in the
// same arithmetic as NEST's IAFPropagatorExp; the singular limit h / c_m exp(-h / tau_m)
// where tau_syn is (nearly) tau_m.
double synaptic_propagator(double tau_syn, double tau_m, double c_m, double h) {
  const double gamma = tau_syn * tau_m / (tau_m - tau_syn) / c_m;
  const double p = gamma * std::exp(-h * (1 / tau_syn)) * series_expm1(h * ((tau_m - tau_syn) / (tau_syn * tau_m)));
  if (std::isnormal(p) && p > 0) return p;
  return h * (1 / c_m) * std::exp(-h * (1 / tau_m));
}

// The type's neuron model and the constants its update needs.
template <class Real>
void set_neuron_model(kernels::NeuronParams<Real>& p, kernels::ModelConstants<Real>& c, const config::Config& cfg,
                      const std::string& pre, double dt) {
  p.model = kernels::NeuronModel::lif;
  c = kernels::ModelConstants<Real>{};
  c.step_ms = static_cast<Real>(dt);
  if (cfg.values().count(pre + "model") == 0) return;  // oscillators and integrators: always lif
  const std::string model = cfg.string(pre + "model");
  if (model == "lif_exp") {
    p.model = kernels::NeuronModel::lif_exp;
    const double tau_m = cfg.real(pre + "tau_m");
    const double tau_ex = cfg.real(pre + "tau_syn_ex");
    const double tau_in = cfg.real(pre + "tau_syn_in");
    const double c_m = tau_m / cfg.real(pre + "resistance");
    // The membrane propagators as NEST writes them (exp(-h / tau), tau / C (1 - P22)),
    // so that spike trains match NEST's iaf_psc_exp bit for bit in float64.
    const double p22 = std::exp(-dt / tau_m);
    p.decay = static_cast<Real>(p22);
    p.drive_gain = static_cast<Real>(tau_m / c_m * (1.0 - p22));
    c.syn_decay_ex = static_cast<Real>(std::exp(-dt / tau_ex));
    c.syn_decay_in = static_cast<Real>(std::exp(-dt / tau_in));
    c.syn_gain_ex = static_cast<Real>(synaptic_propagator(tau_ex, tau_m, c_m, dt));
    c.syn_gain_in = static_cast<Real>(synaptic_propagator(tau_in, tau_m, c_m, dt));
    p.energy_coupling = Real(0);  // the propagators assume a fixed tau_m
  } else if (model == "izhikevich") {
    p.model = kernels::NeuronModel::izhikevich;
    c.izh_a = static_cast<Real>(cfg.real(pre + "izhikevich_a"));
    c.izh_b = static_cast<Real>(cfg.real(pre + "izhikevich_b"));
    c.izh_d = static_cast<Real>(cfg.real(pre + "izhikevich_d"));
    p.energy_coupling = Real(0);
  }
}

}  // namespace

template <class Real>
ModelParams<Real> make_model_params(const config::Config& cfg) {
  ModelParams<Real> m{};
  const double dt = cfg.real("sim.dt");
  const double cap = cfg.real("energy.cap");
  m.dt_ms = dt;
  for (int t = 0; t < kNodeTypeCount; ++t) {
    const NodeTypeTraits& traits = kNodeTypes[t];
    const std::string pre = std::string("node.") + traits.name + ".";
    auto& p = m.neuron[t];
    const double tau_steps = cfg.real(pre + "tau_m") / dt;
    const bool leaky = traits.leaky;
    const double decay = leaky ? std::exp(-1.0 / tau_steps) : 1.0;
    // Integrators (no leak) take R drive dt / tau_m per step: the a -> 1 limit of the
    // leaky update's R drive (1 - a).
    const double r = cfg.real(pre + "resistance");
    p.v_rest = static_cast<Real>(cfg.real(pre + "v_rest"));
    p.v_reset = static_cast<Real>(cfg.real(pre + "v_reset"));
    p.threshold = static_cast<Real>(cfg.real(pre + "threshold"));
    p.resistance = static_cast<Real>(r);
    p.tau_m_steps = static_cast<Real>(tau_steps);
    p.energy_coupling = static_cast<Real>(leaky ? cfg.real(pre + "energy_coupling") : 0.0);
    p.decay = static_cast<Real>(decay);
    p.drive_gain = static_cast<Real>(leaky ? r * -std::expm1(-1.0 / tau_steps) : r / tau_steps);
    p.spike_energy_min = static_cast<Real>(cfg.real("energy.spike_cost_min"));
    p.energy_cap = static_cast<Real>(cap);
    p.poisson_weight = static_cast<Real>(cfg.real(pre + "poisson_weight"));
    p.refractory_steps = static_cast<std::int32_t>(cfg.steps(pre + "t_ref"));
    p.leaky = leaky ? 1 : 0;
    set_neuron_model(p, m.model_constants[t], cfg, pre, dt);
    m.poisson_rate[t] = cfg.real(pre + "poisson_rate");
    poisson_cdf_table(m.poisson_rate[t] * dt * 1e-3);  // throws ConfigError for a mean too large
    m.oscillator_period[t] = traits.oscillates ? static_cast<std::int32_t>(cfg.steps(pre + "period", 1)) : 0;
    m.ignores_input[t] = traits.ignores_input ? 1 : 0;
    m.out_gain[t] = static_cast<Real>(traits.scales_outgoing ? cfg.real(pre + "gain") : 1.0);
    m.flow_factor[t] = static_cast<Real>(traits.flow_factor);
    m.adapts_threshold[t] = traits.adapts_threshold ? 1 : 0;
    m.target_rate[t] = static_cast<Real>(traits.adapts_threshold ? cfg.real(pre + "target_rate") : 0.0);
    m.threshold_lo[t] = std::min(Real(0.1) * p.threshold, Real(10) * p.threshold);
    m.threshold_hi[t] = std::max(Real(0.1) * p.threshold, Real(10) * p.threshold);
  }
  m.synapse.modulatory_gain = static_cast<Real>(cfg.real("edge.modulatory_gain"));
  m.synapse.gate_energy = static_cast<Real>(cfg.real("edge.gate_energy"));
  m.energy.cap = static_cast<Real>(cap);
  m.energy.cost_frac = static_cast<Real>(cfg.real("energy.spike_cost_frac"));
  m.energy.cost_max = static_cast<Real>(cfg.real("energy.spike_cost_max"));
  m.energy.metabolic_decay = static_cast<Real>(std::exp(-dt / cfg.real("energy.tau_decay")));
  m.energy.conductance = static_cast<Real>(cfg.real("energy.conductance"));
  m.learning.decay_plus = static_cast<Real>(std::exp(-dt / cfg.real("learning.tau_plus")));
  m.learning.decay_minus = static_cast<Real>(std::exp(-dt / cfg.real("learning.tau_minus")));
  m.learning.a_plus = static_cast<Real>(cfg.real("learning.a_plus"));
  m.learning.a_minus = static_cast<Real>(cfg.real("learning.a_minus"));
  m.learning.cap = static_cast<Real>(cap);
  m.learning.w_min = static_cast<Real>(cfg.real("learning.w_min"));
  m.learning.w_max = static_cast<Real>(cfg.real("learning.w_max"));
  m.learning.decay_eligibility = static_cast<Real>(std::exp(-dt / cfg.real("learning.tau_eligibility")));
  m.learning.rate = static_cast<Real>(cfg.real("learning.rate"));
  m.learning.energy_modulation = cfg.boolean("learning.energy_modulation") ? 1 : 0;
  m.eligibility_rule = cfg.string("learning.rule") == "eligibility";
  m.homeostasis.rate_decay = static_cast<Real>(std::exp(-dt / cfg.real("homeostasis.tau_rate")));
  m.homeostasis.spike_rate = static_cast<Real>(1000.0 / dt);
  m.homeostasis.eta = static_cast<Real>(cfg.real("homeostasis.eta"));
  m.homeostasis.target_branching = static_cast<Real>(cfg.real("homeostasis.target_branching"));
  m.homeostasis.gain_step = static_cast<Real>(cfg.real("homeostasis.gain_step"));
  m.initial_energy = static_cast<Real>(cfg.real("energy.initial"));
  m.init_v_min = static_cast<Real>(cfg.real("init.v_min"));
  m.init_v_max = static_cast<Real>(cfg.real("init.v_max"));
  m.seed = static_cast<std::uint64_t>(cfg.integer("sim.seed"));
  return m;
}

template ModelParams<float> make_model_params<float>(const config::Config&);
template ModelParams<double> make_model_params<double>(const config::Config&);

}  // namespace spikegraph
