// spikegraph/graph/generators.hpp
// Deterministic network generators. The same parameters and seed give the same
// graph on every machine and thread count (counter-based random numbers).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/graph/builder.hpp"
#include "spikegraph/graph/graph.hpp"

namespace spikegraph {

/// A Brunel-style balanced network: n nodes (all of type dynamic), the first
/// round(exc_fraction * n) excitatory. Every node receives exactly k_in edges:
/// round(exc_fraction * k_in) from excitatory sources (excitatory edges, weight j)
/// and the rest from inhibitory sources (inhibitory edges, weight g * j), sources
/// drawn uniformly with replacement (autapses and multapses allowed), all with
/// delay `delay_steps`. With plastic_exc_exc, edges between excitatory nodes are plastic.
struct BrunelParams {
  std::int64_t n = 10000;
  double exc_fraction = 0.8;
  std::int64_t k_in = 100;
  double j = 0.1;   ///< excitatory weight (potential jump)
  double g = 5.0;   ///< inhibitory weight is g * j
  std::int64_t delay_steps = 15;
  std::uint64_t seed = 1;
  bool plastic_exc_exc = false;  ///< mark excitatory-to-excitatory edges plastic (benchmark B2)
};

/// Throws GraphError for invalid parameters (n < 1, k_in < 0, fraction outside
/// [0, 1], a population with no nodes but some edges, non-finite or negative weights,
/// delay outside 1..65535, more than 2^32 - 1 edges).
std::shared_ptr<const Graph> make_brunel(const BrunelParams& p);
/// One rank's part of make_brunel(p) without building the whole graph (memory: the
/// part plus three counters per node): every node, the edges into [begin, end) and,
/// with `source_rows`, the edges out of it, as GraphBuilder::part would cut them from
/// the whole; `row_base` gets, per node, the whole graph's index of the first edge of
/// the part's row (as GraphBuilder::part).
std::shared_ptr<const Graph> make_brunel_part(const BrunelParams& p, index_t begin, index_t end, bool source_rows,
                                              std::vector<std::uint64_t>& row_base);
/// Edges of make_brunel(p): n * k_in.
std::uint64_t brunel_edges(const BrunelParams& p);

}  // namespace spikegraph

namespace spikegraph {
namespace config {
class Config;
}
/// A network and the initial values of its nodes' state (NetworkBuilder::initial_state;
/// Simulation::set_initial_state applies them).
struct BuiltNetwork {
  std::shared_ptr<const Graph> graph;
  std::map<std::string, std::vector<double>> initial_state;
};

/// The network the configuration's [network] section describes: network.kind
/// "brunel" uses network.n, exc_fraction, k_in, j, g, delay, plastic and sim.seed;
/// "default" is make_default_network(cfg); "microcircuit" (graph/microcircuit.hpp) uses
/// network.scale, k_scale, background, sim.seed, sim.dt and sim.threads, and needs the
/// node.dynamic keys of microcircuit_config (ConfigError naming those that differ).
/// Only the microcircuit has initial values.
BuiltNetwork build_network(const config::Config& cfg);
/// The NetworkBuilder of network.kind "microcircuit" for `cfg` (its checks as
/// build_network's): for building one rank's part (NetworkBuilder::build_part).
NetworkBuilder microcircuit_builder_of(const config::Config& cfg);
/// build_network(cfg).graph.
std::shared_ptr<const Graph> make_network(const config::Config& cfg);
/// The Brunel parameters of a configuration (network.n ... plastic, delay in steps of
/// sim.dt, sim.seed), as build_network uses them.
BrunelParams brunel_params(const config::Config& cfg);

/// docs/model.md's default network, from the [graph] keys: a side x side sensory grid
/// (nodes 0 .. side^2 - 1, row-major), then dynamic_per_sensory x side^2 dynamic
/// nodes, a workspace grid, oscillators, relays and highways, in that order.
/// Out-degrees are Poisson(graph.out_degree); sensory nodes project only to dynamic
/// nodes, workspace nodes have no out-edges, other nodes project to any non-sensory
/// node but themselves; kinds in graph.kind_fractions, weights U(0.1, 1) x
/// graph.weight_scale, delays U{1 .. graph.max_delay} ms; excitatory edges are plastic.
std::shared_ptr<const Graph> make_default_network(const config::Config& cfg);
}  // namespace spikegraph
