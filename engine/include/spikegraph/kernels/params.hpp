// spikegraph/kernels/params.hpp
// Plain-old-data parameter blocks handed to kernels. Built on the host from the
// validated configuration (durations already converted to steps, decay factors
// already computed), copied by value to the device. No pointers inside.
#pragma once

#include <cstdint>

namespace spikegraph::kernels {

/// Largest Poisson CDF table (entries); enough for a mean of about 600 per step.
constexpr int kMaxPoissonTable = 1024;

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
  std::int32_t poisson_table_size;  ///< 0 = no Poisson input; else entries in the CDF table
  std::int32_t leaky;    ///< 0 for integrators (decay = 1), else 1
};

}  // namespace spikegraph::kernels
