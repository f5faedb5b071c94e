// spikegraph/kernels/energy.hpp
// Per-node and per-edge energy math of docs/model.md step 4: spike cost, metabolism,
// the conservative flow along non-inhibitory edges, and the clamp to [0, cap].
#pragma once

#include <cstdint>

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

/// Per-source flow scale: conductance * c_s / W_s (c_s: the source type's flow
/// factor, NodeTypeTraits::flow_factor), 0 when the source has no non-inhibitory weight.
template <class Real>
SG_HD inline Real flow_scale(const EnergyParams<Real>& p, Real outgoing_weight, Real flow_factor) {
  if (!(outgoing_weight > Real(0))) return Real(0);
  return p.conductance * flow_factor / outgoing_weight;
}

/// Flow along one edge s -> j: scale_s * w * max(E_s - E_j, 0). Both the
/// outflow and the inflow pass call this with the same arguments, so each
/// edge moves the same amount out of s as into j.
template <class Real>
SG_HD inline Real edge_flow(Real scale, Real weight, Real source_energy, Real target_energy) {
  const Real diff = source_energy - target_energy;
  return (scale * weight) * (diff > Real(0) ? diff : Real(0));
}

/// The flow's sums over an edge row (a source's out-edges, a target's in-edges)
/// are taken in one fixed order, whatever the machine's SIMD width or the thread
/// count: term k of a row goes to lane k % kFlowLanes, each lane adds its terms in
/// row order starting from +0, and the lanes are combined as a halving tree
/// (lane l += lane l + w for w = 8, 4, 2, 1). The CPU backend's vector loops and
/// any device kernel reproduce exactly the order of the functions below.
constexpr unsigned kFlowLanes = 16;

/// Combines the lanes of a row sum in the fixed halving-tree order.
template <class Real>
SG_HD inline Real combine_flow_lanes(Real (&lanes)[kFlowLanes]) {
  for (unsigned w = kFlowLanes / 2; w > 0; w /= 2) {
    for (unsigned l = 0; l < w; ++l) lanes[l] += lanes[l + w];
  }
  return lanes[0];
}

/// What the inflow pass reads of each source: its energy (after spike cost and
/// metabolism) and its flow scale (0 for dead nodes and nodes without weight).
template <class Real>
struct FlowSource {
  Real energy;
  Real scale;
};

/// Outflow pass over one source row (`count` edges). `carries[k]` is nonzero
/// for edges that carry energy (not inhibitory, not into a dead node); `energy` is
/// indexed by node. Returns the row's total flow weight W_s in `weight_sum` and
/// sum_k w_k * max(E_s - E_t(k), 0) over carrying edges in `drop_sum`; the source
/// sends flow_scale(W_s) * drop_sum in total.
template <class Real>
SG_HD inline void flow_out_row(const std::uint32_t* targets, const float* weights, const std::uint8_t* carries,
                               std::uint32_t count, const Real* energy, Real source_energy, Real& weight_sum,
                               Real& drop_sum) {
  Real w_lanes[kFlowLanes], d_lanes[kFlowLanes];
  for (unsigned l = 0; l < kFlowLanes; ++l) w_lanes[l] = d_lanes[l] = Real(0);
  for (std::uint32_t k = 0; k < count; ++k) {
    const Real w = carries[k] ? static_cast<Real>(weights[k]) : Real(0);
    const Real diff = source_energy - energy[targets[k]];
    w_lanes[k % kFlowLanes] += w;
    d_lanes[k % kFlowLanes] += w * (diff > Real(0) ? diff : Real(0));
  }
  weight_sum = combine_flow_lanes(w_lanes);
  drop_sum = combine_flow_lanes(d_lanes);
}

/// Lane `lane` of flow_out_row on its own: the terms k = lane, lane + kFlowLanes, ...
/// in row order, from +0. flow_out_row equals these 16 lanes joined by
/// combine_flow_lanes, bit for bit (a GPU gives each lane its own thread).
template <class Real>
SG_HD inline void flow_out_lane(const std::uint32_t* targets, const float* weights, const std::uint8_t* carries,
                                std::uint32_t count, unsigned lane, const Real* energy, Real source_energy,
                                Real& weight_lane, Real& drop_lane) {
  Real w_sum = Real(0), d_sum = Real(0);
  auto add = [&](Real w, Real target_energy) {
    const Real diff = source_energy - target_energy;
    w_sum += w;
    d_sum += w * (diff > Real(0) ? diff : Real(0));
  };
  std::uint32_t k = lane;
  // Four terms' loads first, then their sums in order: more loads in flight per thread.
  for (; k + 3 * kFlowLanes < count; k += 4 * kFlowLanes) {
    Real w[4], e[4];
    for (unsigned u = 0; u < 4; ++u) {
      const std::uint32_t x = k + u * kFlowLanes;
      w[u] = carries[x] ? static_cast<Real>(weights[x]) : Real(0);
      e[u] = energy[targets[x]];
    }
    for (unsigned u = 0; u < 4; ++u) add(w[u], e[u]);
  }
  for (; k < count; k += kFlowLanes) add(carries[k] ? static_cast<Real>(weights[k]) : Real(0), energy[targets[k]]);
  weight_lane = w_sum;
  drop_lane = d_sum;
}

/// Lane `lane` of flow_in_row on its own (as flow_out_lane).
template <class Real>
SG_HD inline Real flow_in_lane(const std::uint32_t* sources, const float* flow_weights, std::uint32_t count,
                               unsigned lane, const FlowSource<Real>* source_state, Real target_energy) {
  Real sum = Real(0);
  std::uint32_t k = lane;
  for (; k + 3 * kFlowLanes < count; k += 4 * kFlowLanes) {  // loads first, as in flow_out_lane
    FlowSource<Real> s[4];
    Real w[4];
    for (unsigned u = 0; u < 4; ++u) {
      const std::uint32_t x = k + u * kFlowLanes;
      s[u] = source_state[sources[x]];
      w[u] = static_cast<Real>(flow_weights[x]);
    }
    for (unsigned u = 0; u < 4; ++u) sum += edge_flow(s[u].scale, w[u], s[u].energy, target_energy);
  }
  for (; k < count; k += kFlowLanes) {
    const FlowSource<Real> s = source_state[sources[k]];
    sum += edge_flow(s.scale, static_cast<Real>(flow_weights[k]), s.energy, target_energy);
  }
  return sum;
}

/// Inflow pass over one target row (`count` in-edges, by source): the sum of
/// edge_flow(scale_s, w, E_s, E_j) in lane order.
template <class Real>
SG_HD inline Real flow_in_row(const std::uint32_t* sources, const float* flow_weights, std::uint32_t count,
                              const FlowSource<Real>* source_state, Real target_energy) {
  Real lanes[kFlowLanes];
  for (unsigned l = 0; l < kFlowLanes; ++l) lanes[l] = Real(0);
  for (std::uint32_t k = 0; k < count; ++k) {
    const FlowSource<Real> s = source_state[sources[k]];
    lanes[k % kFlowLanes] += edge_flow(s.scale, static_cast<Real>(flow_weights[k]), s.energy, target_energy);
  }
  return combine_flow_lanes(lanes);
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
