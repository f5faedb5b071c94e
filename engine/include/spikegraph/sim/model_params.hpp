// spikegraph/sim/model_params.hpp
// Turns the validated configuration into the POD parameter blocks the kernels
// use (durations in steps, decay factors precomputed in double on the host), so
// every backend computes from the same numbers.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/types.hpp"
#include "spikegraph/kernels/energy.hpp"
#include "spikegraph/kernels/learning.hpp"
#include "spikegraph/kernels/params.hpp"
#include "spikegraph/kernels/synapse.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph {

/// Everything the neuron and delivery kernels need, for every node type.
template <class Real>
struct ModelParams {
  std::array<kernels::NeuronParams<Real>, kNodeTypeCount> neuron;
  /// Constants of the neuron models other than lif, per node type.
  std::array<kernels::ModelConstants<Real>, kNodeTypeCount> model_constants;
  /// Each type's configured Poisson input rate (Hz): every node's initial poisson_rate.
  std::array<double, kNodeTypeCount> poisson_rate;
  double dt_ms;  ///< sim.dt
  /// Oscillator period in steps, per type (0 for non-oscillators).
  std::array<std::int32_t, kNodeTypeCount> oscillator_period;
  /// 1 when the type ignores synaptic and Poisson input (sensory, oscillator).
  std::array<std::uint8_t, kNodeTypeCount> ignores_input;
  /// Factor on outgoing effective weights (relay gain, else 1).
  std::array<Real, kNodeTypeCount> out_gain;
  /// c_s of the energy flow per type (NodeTypeTraits::flow_factor).
  std::array<Real, kNodeTypeCount> flow_factor;
  /// 1 where homeostasis adapts the type's thresholds (NodeTypeTraits::adapts_threshold).
  std::array<std::uint8_t, kNodeTypeCount> adapts_threshold;
  /// Homeostasis' target rate of each adapting type, Hz (node.<type>.target_rate).
  std::array<Real, kNodeTypeCount> target_rate;
  /// Bounds homeostasis keeps a type's threshold in: [0.1, 10] x its configured value.
  std::array<Real, kNodeTypeCount> threshold_lo, threshold_hi;
  kernels::SynapseParams<Real> synapse;
  kernels::EnergyParams<Real> energy;
  kernels::LearningParams<Real> learning;
  kernels::HomeostasisParams<Real> homeostasis;
  bool eligibility_rule;  ///< learning.rule == "eligibility"
  Real initial_energy;
  Real init_v_min;
  Real init_v_max;
  std::uint64_t seed;
};

/// The optional state the node types' neuron models need.
template <class Real>
NodeFeatures node_features(const ModelParams<Real>& m) {
  NodeFeatures f;
  for (const auto& p : m.neuron) {
    f.exp_synapses = f.exp_synapses || p.model == kernels::NeuronModel::lif_exp;
    f.recovery = f.recovery || p.model == kernels::NeuronModel::izhikevich;
  }
  return f;
}

/// Thresholds t_k = round(P(X <= k) * 2^32) of a Poisson distribution with the
/// given mean, for k = 0.. until t_k reaches 2^32. Throws ConfigError when the
/// mean needs more than kernels::kMaxPoissonTable entries.
std::vector<std::uint32_t> poisson_cdf_table(double mean);

/// Distinct nonzero per-node Poisson rates a simulation may have (nodes index their
/// table with 16 bits; table 0 is "no input").
constexpr std::size_t kMaxPoissonRates = 65535;

template <class Real>
ModelParams<Real> make_model_params(const config::Config& cfg);

extern template ModelParams<float> make_model_params<float>(const config::Config&);
extern template ModelParams<double> make_model_params<double>(const config::Config&);

}  // namespace spikegraph
