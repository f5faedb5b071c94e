// spikegraph/kernels/neuron.hpp
// Per-node neuron updates of docs/model.md step 3, one per NeuronModel: the leaky
// integrate-and-fire node with delta synapses (exact integration, threshold, reset,
// refractory period with discarded input), the same node with exponentially decaying
// excitatory and inhibitory synaptic currents (exact integration, NEST's
// iaf_psc_exp), and the Izhikevich node (forward Euler, NEST's izhikevich). Pure
// functions of scalars, called by every backend's loops and kernels.
#pragma once

#include <cstddef>
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

/// After integration: the spike (v >= threshold with the energy to spike, not while
/// refractory), the reset to v_reset (also held while refractory) and the refractory
/// countdown. Shared by the leaky integrate-and-fire models.
template <class Real>
SG_HD inline bool fire_and_reset(Real& v, std::uint16_t& refractory, Real integrated, Real threshold, Real energy,
                                 const NeuronParams<Real>& p) {
  // Written without branches (selects only) so CPU loops vectorise and GPU warps
  // do not diverge; the integrated value is discarded while refractory.
  const bool refractory_now = refractory > 0;
  const bool fire = !refractory_now & (integrated >= threshold) & (energy >= p.spike_energy_min);
  v = (refractory_now | fire) ? p.v_reset : integrated;
  const std::uint16_t counted_down = static_cast<std::uint16_t>(refractory_now ? refractory - 1 : 0);
  refractory = fire ? static_cast<std::uint16_t>(p.refractory_steps) : counted_down;
  return fire;
}

/// One step of one node. `input` is I_syn: everything that arrived this step
/// (delayed spikes and Poisson input). Returns true when the node spikes.
/// While refractory the input is discarded, v stays at v_reset and the counter
/// counts down; the node integrates again the step after it reaches 0.
template <class Real>
SG_HD inline bool neuron_step(Real& v, std::uint16_t& refractory, Real threshold, Real drive,
                              Real input, Real energy, Decay<Real> decay,
                              const NeuronParams<Real>& p) {
  const Real integrated = p.v_rest + (v - p.v_rest) * decay.a + drive * decay.drive_gain + input;
  return fire_and_reset(v, refractory, integrated, threshold, energy, p);
}

/// What a node integrates this step: its delayed synaptic input (already scaled by the
/// homeostatic gain at delivery, see synapse.hpp source_gain) plus `poisson` Poisson
/// spikes of weight `poisson_weight`; `keep` is 0 for types that ignore input.
template <class Real>
SG_HD inline Real node_input(Real synaptic, std::uint32_t poisson, Real poisson_weight, Real keep) {
  return (synaptic + static_cast<Real>(poisson) * poisson_weight) * keep;
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

/// One step of a lif_exp node (NEST iaf_psc_exp's order of operations): unless
/// refractory, v integrates the currents of the previous step and the drive; the
/// currents decay and take this step's input (`in_ex` >= 0, `in_in` <= 0), which
/// reaches v from the next step on; then threshold and reset as neuron_step.
template <class Real>
SG_HD inline bool exp_synapse_step(Real& v, Real& i_ex, Real& i_in, std::uint16_t& refractory, Real threshold,
                                   Real drive, Real in_ex, Real in_in, Real energy, const NeuronParams<Real>& p,
                                   const ModelConstants<Real>& c) {
  const Real integrated =
      p.v_rest + ((((v - p.v_rest) * p.decay + i_ex * c.syn_gain_ex) + i_in * c.syn_gain_in) + drive * p.drive_gain);
  i_ex = i_ex * c.syn_decay_ex + in_ex;
  i_in = i_in * c.syn_decay_in + in_in;
  return fire_and_reset(v, refractory, integrated, threshold, energy, p);
}

/// exp_synapse_step for a node that may be dead (it keeps its state and never fires).
template <class Real>
SG_HD inline bool live_exp_synapse_step(Real& v, Real& i_ex, Real& i_in, std::uint16_t& refractory, Real threshold,
                                        Real drive, Real in_ex, Real in_in, Real energy, const NeuronParams<Real>& p,
                                        const ModelConstants<Real>& c, bool live) {
  Real v_new = v, ex_new = i_ex, in_new = i_in;
  std::uint16_t r_new = refractory;
  const bool fired = exp_synapse_step(v_new, ex_new, in_new, r_new, threshold, drive, in_ex, in_in, energy, p, c);
  v = select_bits(live, v_new, v);
  i_ex = select_bits(live, ex_new, i_ex);
  i_in = select_bits(live, in_new, i_in);
  refractory = select_bits(live, r_new, refractory);
  return fired & live;
}

/// One forward-Euler step of an Izhikevich node (NEST izhikevich with
/// consistent_integration, same order of operations): both equations from the old
/// (v, u); `input` (delta synapses) is added to v. At v >= threshold the node spikes:
/// v = v_reset (c), u += d. A node above threshold without the energy to spike is
/// held at the threshold (its v would otherwise diverge). No refractory period.
template <class Real>
SG_HD inline bool izhikevich_step(Real& v, Real& u, Real threshold, Real drive, Real input, Real energy,
                                  const NeuronParams<Real>& p, const ModelConstants<Real>& c) {
  const Real v_old = v;
  const Real u_old = u;
  const Real dv = (((Real(0.04) * v_old * v_old + Real(5) * v_old) + Real(140)) - u_old) + drive;
  const Real v_new = v_old + (c.step_ms * dv + input);
  const Real u_new = u_old + c.step_ms * c.izh_a * (c.izh_b * v_old - u_old);
  const bool above = v_new >= threshold;
  const bool fire = above & (energy >= p.spike_energy_min);
  v = fire ? p.v_reset : (above ? threshold : v_new);
  u = fire ? u_new + c.izh_d : u_new;
  return fire;
}

/// izhikevich_step for a node that may be dead (it keeps its state and never fires).
template <class Real>
SG_HD inline bool live_izhikevich_step(Real& v, Real& u, Real threshold, Real drive, Real input, Real energy,
                                       const NeuronParams<Real>& p, const ModelConstants<Real>& c, bool live) {
  Real v_new = v, u_new = u;
  const bool fired = izhikevich_step(v_new, u_new, threshold, drive, input, energy, p, c);
  v = select_bits(live, v_new, v);
  u = select_bits(live, u_new, u);
  return fired & live;
}

/// The two inputs of a lif_exp node: the excitatory and inhibitory synaptic channels,
/// plus the Poisson input in the channel of its sign.
template <class Real>
struct ChannelInput {
  Real ex, in;
};
template <class Real>
SG_HD inline ChannelInput<Real> channel_input(Real synaptic_ex, Real synaptic_in, std::uint32_t poisson,
                                              Real poisson_weight, Real keep) {
  const bool excitatory = poisson_weight >= Real(0);
  return ChannelInput<Real>{node_input(synaptic_ex, excitatory ? poisson : 0u, poisson_weight, keep),
                            node_input(synaptic_in, excitatory ? 0u : poisson, poisson_weight, keep)};
}

/// One step of node `i` under its type's neuron model (`p`, and `c` for the models
/// other than lif): the single place that maps a NeuronModel to its update (a new
/// model adds its case here). `x` is a view of the
/// node state table's arrays (members v, refractory, threshold, drive, energy, alive,
/// and the model's own rows, e.g. i_syn_ex, i_syn_in, u); `syn_ex` is the ring's
/// (excitatory) channel, `syn_in` the inhibitory one when `split` (else unused);
/// `poisson` the node's Poisson count; `keep` 0 for types that ignore input. Returns
/// whether the node fired. The CPU's vectorised lif loop computes the same values.
template <class Real, class View>
SG_HD inline bool model_step(const NeuronParams<Real>& p, const ModelConstants<Real>& c, const View& x, std::size_t i,
                             Real syn_ex, Real syn_in, bool split, std::uint32_t poisson, Real keep) {
  const bool live = x.alive[i] != 0;
  if (p.model == NeuronModel::lif_exp) {
    const ChannelInput<Real> in = channel_input(syn_ex, syn_in, poisson, p.poisson_weight, keep);
    return live_exp_synapse_step(x.v[i], x.i_syn_ex[i], x.i_syn_in[i], x.refractory[i], x.threshold[i], x.drive[i],
                                 in.ex, in.in, x.energy[i], p, c, live);
  }
  const Real input = node_input(split ? syn_ex + syn_in : syn_ex, poisson, p.poisson_weight, keep);
  if (p.model == NeuronModel::izhikevich) {
    return live_izhikevich_step(x.v[i], x.u[i], x.threshold[i], x.drive[i], input, x.energy[i], p, c, live);
  }
  Decay<Real> d{p.decay, p.drive_gain};
  if (p.leaky != 0 && p.energy_coupling != Real(0)) d = membrane_decay(p, x.energy[i]);
  return live_neuron_step(x.v[i], x.refractory[i], x.threshold[i], x.drive[i], input, x.energy[i], d, p, live);
}

}  // namespace spikegraph::kernels
