// spikegraph/kernels/neuron.hpp
// Per-node neuron update of docs/model.md step 3 (exact integration of a leaky
// integrate-and-fire node with delta synapses, threshold, reset, refractory
// period with discarded input). Pure functions of scalars.
#pragma once

#include <cstdint>

#include "spikegraph/kernels/hd.hpp"
#include "spikegraph/kernels/math.hpp"
#include "spikegraph/kernels/params.hpp"

namespace spikegraph::kernels {

/// Per-step decay a and drive gain R * (1 - a) of one node.
template <class Real>
struct Decay {
  Real a;
  Real drive_gain;
};

/// Decay factor a = exp(-1 / tau_eff) per step, with
/// tau_eff = tau_m * (1 - coupling + coupling * energy / cap) (docs/model.md step 3).
/// A node with no energy under full coupling has tau_eff = 0: a = 0.
template <class Real>
SG_HD inline Decay<Real> membrane_decay(const NeuronParams<Real>& p, Real energy) {
  if (p.leaky == 0 || p.energy_coupling == Real(0)) return Decay<Real>{p.decay, p.drive_gain};
  Real scale = Real(1) - p.energy_coupling + p.energy_coupling * (energy / p.energy_cap);
  Real tau = p.tau_m_steps * scale;
  Real a = (tau > Real(0)) ? exp_det(-Real(1) / tau) : Real(0);
  return Decay<Real>{a, p.resistance * (Real(1) - a)};
}

/// One step of one node. `input` is I_syn: everything that arrived this step
/// (delayed spikes and Poisson input). Returns true when the node spikes.
/// While refractory the input is discarded, v stays at v_reset and the counter
/// counts down; the node integrates again the step after it reaches 0.
template <class Real>
SG_HD inline bool neuron_step(Real& v, std::uint16_t& refractory, Real threshold, Real drive,
                              Real input, Real energy, Decay<Real> decay,
                              const NeuronParams<Real>& p) {
  // Written without branches (selects only) so CPU loops vectorise and GPU warps
  // do not diverge; the integrated value is discarded while refractory.
  const bool refractory_now = refractory > 0;
  const Real integrated = p.v_rest + (v - p.v_rest) * decay.a + drive * decay.drive_gain + input;
  const bool fire = !refractory_now & (integrated >= threshold) & (energy >= p.spike_energy_min);
  v = (refractory_now | fire) ? p.v_reset : integrated;
  const std::uint16_t counted_down = static_cast<std::uint16_t>(refractory_now ? refractory - 1 : 0);
  refractory = fire ? static_cast<std::uint16_t>(p.refractory_steps) : counted_down;
  return fire;
}

/// What a node integrates this step: its delayed synaptic input scaled by the
/// homeostatic gain (which leaves the external Poisson input alone) plus `poisson`
/// Poisson spikes of weight `poisson_weight`; `keep` is 0 for types that ignore input.
template <class Real>
SG_HD inline Real node_input(Real synaptic, Real gain, std::uint32_t poisson, Real poisson_weight, Real keep) {
  return (synaptic * gain + static_cast<Real>(poisson) * poisson_weight) * keep;
}

/// neuron_step for a node that may be dead (`live` false): a dead node keeps its
/// state and never fires. Selects only, so the CPU's loops vectorise. Returns whether
/// it fired.
template <class Real>
SG_HD inline bool live_neuron_step(Real& v, std::uint16_t& refractory, Real threshold, Real drive, Real input,
                                   Real energy, Decay<Real> decay, const NeuronParams<Real>& p, bool live) {
  Real v_new = v;
  std::uint16_t r_new = refractory;
  const bool fired = neuron_step(v_new, r_new, threshold, drive, input, energy, decay, p);
  v = select_bits(live, v_new, v);
  refractory = select_bits(live, r_new, refractory);
  return fired & live;
}

}  // namespace spikegraph::kernels
