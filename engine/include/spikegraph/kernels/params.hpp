// spikegraph/kernels/params.hpp
// Plain-old-data parameter blocks handed to kernels. Built on the host from the
// validated configuration (durations already converted to steps, decay factors
// already computed), copied by value to the device. No pointers inside.
#pragma once

#include <cstdint>

namespace spikegraph::kernels {

/// Largest Poisson CDF table (entries); enough for a mean of about 600 per step.
constexpr int kMaxPoissonTable = 1024;

/// The neuron model of a node type (node.<type>.model; docs/model.md step 3).
enum class NeuronModel : std::int32_t {
  lif = 0,         ///< leaky integrate-and-fire, delta synapses (NEST iaf_psc_delta)
  lif_exp = 1,     ///< leaky integrate-and-fire, exponential synaptic currents (NEST iaf_psc_exp)
  izhikevich = 2,  ///< Izhikevich (2003), forward Euler as NEST's izhikevich
};
constexpr int kNeuronModelCount = 3;

/// Per-node-type neuron parameters (docs/model.md step 3), in model units.
template <class Real>
struct NeuronParams {
  Real v_rest;           ///< resting potential
  Real v_reset;          ///< potential after a spike and while refractory
  Real threshold;        ///< initial spike threshold of the type
  Real resistance;       ///< R: drive -> potential
  Real tau_m_steps;      ///< membrane time constant in steps (for energy coupling)
  Real energy_coupling;  ///< 0: tau_eff = tau_m; 1: tau_eff = tau_m * energy / cap
  Real decay;            ///< exp(-dt / tau_m) (1 for integrators), used when coupling == 0
  Real drive_gain;       ///< R * (1 - decay), used when coupling == 0
  Real spike_energy_min; ///< energy a node needs to spike (energy.spike_cost_min)
  Real energy_cap;       ///< energy.cap
  Real poisson_weight;   ///< weight of each external Poisson spike
  std::int32_t refractory_steps;  ///< t_ref in steps
  std::int32_t leaky;    ///< 0 for integrators (decay = 1), else 1
  NeuronModel model;     ///< which update the type's nodes run (constants: ModelConstants)
};

/// The constants of the neuron models other than lif, per node type. Apart from
/// NeuronParams so that the lif loop, which copies its parameters into registers,
/// does not copy these.
template <class Real>
struct ModelConstants {
  // lif_exp: exact propagators of the synaptic currents over one step.
  Real syn_decay_ex;  ///< exp(-dt / tau_syn_ex)
  Real syn_decay_in;  ///< exp(-dt / tau_syn_in)
  Real syn_gain_ex;   ///< potential change per step per unit of excitatory current (NEST's P21ex)
  Real syn_gain_in;   ///< the same for the inhibitory current
  // izhikevich: dv/dt = 0.04 v^2 + 5 v + 140 - u + drive, du/dt = a (b v - u), per ms.
  Real step_ms;       ///< dt in ms (the Euler step)
  Real izh_a;         ///< a, 1/ms
  Real izh_b;         ///< b
  Real izh_d;         ///< d: added to u at a spike (c is v_reset)
};

}  // namespace spikegraph::kernels
