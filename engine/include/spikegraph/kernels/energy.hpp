// spikegraph/kernels/energy.hpp
// Per-node and per-edge energy math of MODEL.md step 4: spike cost, metabolism,
// the conservative flow along non-inhibitory edges, and the clamp to [0, cap].
#pragma once

#include "spikegraph/kernels/hd.hpp"

namespace spikegraph::kernels {

/// Parameters of the energy phase (built on the host from the configuration).
template <class Real>
struct EnergyParams {
  Real cap;              ///< energy.cap
  Real cost_frac;        ///< energy.spike_cost_frac
  Real cost_max;         ///< energy.spike_cost_max
  Real metabolic_decay;  ///< exp(-dt / energy.tau_decay)
  Real conductance;      ///< energy.conductance, in [0, 0.5]
};

/// Energy of one node after its spike cost and metabolism. Returns the new energy
/// and adds what was paid to `cost` and what metabolism took to `metabolism`.
template <class Real>
SG_HD inline Real spend_energy(const EnergyParams<Real>& p, Real energy, bool spiked, Real& cost,
                               Real& metabolism) {
  Real c = p.cost_frac * energy;
  c = c < p.cost_max ? c : p.cost_max;
  c = spiked ? c : Real(0);
  const Real after_cost = energy - c;
  const Real after_metabolism = after_cost * p.metabolic_decay;
  cost += c;
  metabolism += after_cost - after_metabolism;
  return after_metabolism;
}

/// Per-source flow scale: conductance * c_s / W_s (c_s = 2 for highway nodes),
/// 0 when the source has no non-inhibitory weight.
template <class Real>
SG_HD inline Real flow_scale(const EnergyParams<Real>& p, Real outgoing_weight, bool highway) {
  if (!(outgoing_weight > Real(0))) return Real(0);
  return p.conductance * (highway ? Real(2) : Real(1)) / outgoing_weight;
}

/// Flow along one edge s -> j: scale_s * w * max(E_s - E_j, 0). Both the
/// outflow and the inflow pass call this with the same arguments, so each
/// edge moves the same amount out of s as into j.
template <class Real>
SG_HD inline Real edge_flow(Real scale, Real weight, Real source_energy, Real target_energy) {
  const Real diff = source_energy - target_energy;
  return (scale * weight) * (diff > Real(0) ? diff : Real(0));
}

/// Clamp to [0, cap]; what the clamp removes is added to `overflow`.
template <class Real>
SG_HD inline Real clamp_energy(const EnergyParams<Real>& p, Real energy, Real& overflow) {
  Real e = energy < Real(0) ? Real(0) : energy;
  e = e > p.cap ? p.cap : e;
  overflow += energy - e;
  return e;
}

}  // namespace spikegraph::kernels
