// spikegraph/kernels/synapse.hpp
// Effective synaptic weights (docs/model.md "Edges"): the factor a spike of one
// source applies to the stored weight of each of its edges, by edge kind.
#pragma once

#include <cstdint>

#include "spikegraph/kernels/hd.hpp"

namespace spikegraph::kernels {

/// Parameters of the edge kinds.
template <class Real>
struct SynapseParams {
  Real modulatory_gain;  ///< edge.modulatory_gain
  Real gate_energy;      ///< edge.gate_energy
};

/// The factor on the outgoing weights of a spiking source: its type's out-gain (relay
/// gain, else 1) times the homeostatic synaptic gain g when the source is input-driven.
/// g scales the network's own activity only: sensory and oscillator nodes (the types
/// that ignore input) are its external drive and, like Poisson input, are not scaled
/// (docs/model.md step 6). Otherwise threshold homeostasis, which keeps every rate at
/// its target, would undo any change of g, and g could not change the branching ratio.
template <class Real>
SG_HD inline Real source_gain(Real out_gain, bool external, Real synaptic_gain) {
  return external ? out_gain : out_gain * synaptic_gain;
}

/// Factors for one spiking source, indexed by edge kind
/// (excitatory, inhibitory, modulatory, gated): weight_eff = factor[kind] * w.
/// `gain` is the source's outgoing gain (source_gain).
template <class Real>
SG_HD inline void spike_factors(const SynapseParams<Real>& p, Real source_energy, Real gain,
                                Real factor[4]) {
  factor[0] = gain;
  factor[1] = -gain;
  factor[2] = p.modulatory_gain * gain;
  factor[3] = (source_energy >= p.gate_energy) ? gain : Real(0);
}

}  // namespace spikegraph::kernels
