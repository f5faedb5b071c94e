// spikegraph/graph/microcircuit.hpp
// The cortical microcircuit of Potjans & Diesmann (2014, Cerebral Cortex 24:785): four
// layers (2/3, 4, 5, 6) of an excitatory and an inhibitory population each, 77,169
// current-based LIF neurons with exponential synaptic currents (lif_exp, NEST's
// iaf_psc_exp) and about 0.3 billion synapses at full scale, dt = 0.1 ms. Built from
// the paper's numbers with the NetworkBuilder; network.kind = "microcircuit" in a
// configuration (make_network / build_network) and spikegraph.networks.microcircuit.
//
// `scale` shrinks the populations and `k_scale` the in-degrees (external ones too);
// with k_scale < 1 weights grow by 1/sqrt(k_scale) and a constant current restores each
// population's mean input at the published full-scale rates (van Albada et al. 2015).
// The external input of each population (K_ext synapses at 8 Hz) is Poisson input of
// K_ext x k_scale x 8 Hz per neuron (the published model) or the equivalent constant
// current (the reference implementation's option without Poisson generators).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "spikegraph/config/value.hpp"
#include "spikegraph/graph/builder.hpp"

namespace spikegraph {

constexpr int kMicrocircuitPopulations = 8;

/// The circuit's numbers at one scale. Population order: L23E, L23I, L4E, L4I, L5E, L5I,
/// L6E, L6I; matrices are [post][pre].
struct MicrocircuitDesign {
  std::array<std::string, kMicrocircuitPopulations> populations;
  std::array<std::int64_t, kMicrocircuitPopulations> sizes{};
  /// Total synapses from pre to post (drawn with multapses, without autapses).
  std::array<std::array<std::int64_t, kMicrocircuitPopulations>, kMicrocircuitPopulations> counts{};
  /// Mean current amplitude per synapse, pA, signed (negative from inhibitory populations).
  std::array<std::array<double, kMicrocircuitPopulations>, kMicrocircuitPopulations> psc{};
  double psc_rel_sd = 0.1;   ///< relative SD of the weights (normal, clipped at 0)
  std::array<double, kMicrocircuitPopulations> delays{};  ///< mean delay by pre population, ms
  double delay_rel_sd = 0.5;  ///< relative SD of the delays (normal, at least one step)
  std::array<double, kMicrocircuitPopulations> drive{};         ///< constant input per population, pA
  std::array<double, kMicrocircuitPopulations> poisson_rate{};  ///< Poisson input per neuron, Hz
  double poisson_weight = 0.0;  ///< pA per external spike
  bool poisson = true;          ///< background as Poisson spikes (else constant current)
  // Neuron parameters (iaf_psc_exp): mV, pF, ms.
  double e_l = -65.0, v_th = -50.0, v_reset = -65.0, c_m = 250.0, tau_m = 10.0, tau_syn = 0.5, t_ref = 2.0;
  double v0_mean = -58.0, v0_sd = 10.0;  ///< initial membrane potentials, normal
};

/// The current amplitude (pA) of an exponential PSC whose PSP peaks at 1 mV.
double psc_per_psp(double c_m, double tau_m, double tau_syn);

/// The design at a scale: scale and k_scale in (0, 1]; ConfigError otherwise.
MicrocircuitDesign microcircuit_design(double scale, double k_scale, bool poisson_background);

/// A builder with the populations (initial v, drive and Poisson rate per neuron) and the
/// projections of `design`; build() draws the network.
NetworkBuilder microcircuit_builder(const MicrocircuitDesign& design, std::uint64_t seed, double dt_ms);

/// The configuration keys the circuit's neurons need (node.dynamic: lif_exp and its
/// parameters, the Poisson weight) and the network keys that describe it.
config::FlatTable microcircuit_config(const MicrocircuitDesign& design, double scale, double k_scale);

}  // namespace spikegraph
