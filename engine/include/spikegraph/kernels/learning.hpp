// spikegraph/kernels/learning.hpp
// Trace-based pair STDP of docs/model.md step 5 and the homeostasis rules of step 6,
// as pure functions of scalars.
#pragma once

#include "spikegraph/kernels/hd.hpp"

namespace spikegraph::kernels {

template <class Real>
struct LearningParams {
  Real decay_plus;         ///< exp(-dt / tau_plus): presynaptic trace
  Real decay_minus;        ///< exp(-dt / tau_minus): postsynaptic trace
  Real a_plus;             ///< potentiation amplitude
  Real a_minus;            ///< depression amplitude
  Real cap;                ///< energy.cap (for the modulation)
  Real w_min;
  Real w_max;
  Real decay_eligibility;  ///< exp(-dt / tau_eligibility)
  Real rate;               ///< eligibility -> weight conversion rate
  int energy_modulation;   ///< 1: m = 0.3 + 1.2 min((E_i + E_j) / (2 cap), 1); 0: m = 1
};

/// The energy modulation m of a weight change between nodes with energies e_i, e_j.
template <class Real>
SG_HD inline Real energy_modulation(const LearningParams<Real>& p, Real e_i, Real e_j) {
  if (!p.energy_modulation) return Real(1);
  Real x = (e_i + e_j) / (Real(2) * p.cap);
  x = x < Real(1) ? x : Real(1);
  return Real(0.3) + Real(1.2) * x;
}

/// Depression on a presynaptic spike: -A_minus * trace_post_j * m.
template <class Real>
SG_HD inline Real depression(const LearningParams<Real>& p, Real trace_post, Real m) {
  return -p.a_minus * trace_post * m;
}

/// Potentiation on a postsynaptic spike: +A_plus * trace_pre_i * m.
template <class Real>
SG_HD inline Real potentiation(const LearningParams<Real>& p, Real trace_pre, Real m) {
  return p.a_plus * trace_pre * m;
}

template <class Real>
SG_HD inline Real clamp_weight(const LearningParams<Real>& p, Real w) {
  w = w < p.w_min ? p.w_min : w;
  return w > p.w_max ? p.w_max : w;
}

template <class Real>
struct HomeostasisParams {
  Real rate_decay;        ///< exp(-dt / tau_rate)
  Real spike_rate;        ///< 1000 / dt: the rate (Hz) of one spike per step
  Real eta;
  Real target_branching;
  Real gain_step;
};

/// Running rate estimate (Hz) after one step.
template <class Real>
SG_HD inline Real update_rate(const HomeostasisParams<Real>& p, Real rate, bool spiked) {
  return rate * p.rate_decay + (spiked ? p.spike_rate : Real(0)) * (Real(1) - p.rate_decay);
}

/// Intrinsic plasticity: threshold moved by eta * (rate - target) / target (target:
/// the type's rate in Hz), kept within [lo, hi] (0.1 and 10 times the type's threshold).
template <class Real>
SG_HD inline Real adapt_threshold(const HomeostasisParams<Real>& p, Real threshold, Real rate, Real target, Real lo,
                                  Real hi) {
  Real t = threshold + p.eta * (rate - target) / target;
  t = t < lo ? lo : t;
  return t > hi ? hi : t;
}

}  // namespace spikegraph::kernels
