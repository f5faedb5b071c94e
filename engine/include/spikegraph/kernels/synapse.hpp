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

/// Factors for one spiking source, indexed by edge kind
/// (excitatory, inhibitory, modulatory, gated): weight_eff = factor[kind] * w.
/// `gain` is the source's outgoing gain (relay gain, else 1).
template <class Real>
SG_HD inline void spike_factors(const SynapseParams<Real>& p, Real source_energy, Real gain,
                                Real factor[4]) {
  factor[0] = gain;
  factor[1] = -gain;
  factor[2] = p.modulatory_gain * gain;
  factor[3] = (source_energy >= p.gate_energy) ? gain : Real(0);
}

}  // namespace spikegraph::kernels
