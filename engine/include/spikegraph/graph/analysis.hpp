// spikegraph/graph/analysis.hpp
// Graph management and analysis (docs/model.md "Graph management and analysis"), usable
// on any Graph (free functions) and through a Simulation (sim/metrics.hpp):
//   - validate_graph(): every index in range, CSR and by-target index consistent,
//     weights finite and >= 0, delays >= 1, no live edge touching a dead node; a
//     report instead of an exception;
//   - degree_stats(), weight_stats(), weak_components(), strong_components(),
//     clustering(), shortest_paths(), spectral_radius(), or all of them at once
//     with graph_metrics().
//
// What is analysed: the nodes flagged alive in a GraphView (all nodes when no flags
// are given) and the edges whose source and target are both alive ("live" edges).
// Dead nodes (and never-used spare slots of structural plasticity, which are not
// alive) are excluded from every count, average and component.
//
// Determinism: every result is a pure function of the inputs, the options' seed and
// samples; it does not depend on the thread count. Floating-point sums are taken in
// a fixed order (by node, by edge, or over fixed-size blocks combined in order);
// integer counts are exact. Sampled nodes are drawn with the counter-based generator
// (kernels/rng.hpp, stream RngStream::analysis).
//
// Ownership: a GraphView borrows the graph and the arrays it points to for the
// duration of a call; results own their arrays. Functions are thread-safe for
// concurrent calls on the same const Graph (the by-target index is built on first
// use under the graph's lock).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {

class Graph;
namespace config {
class Config;
}

/// What an analysis looks at: a graph, optionally the simulation's live state.
struct GraphView {
  const Graph* graph = nullptr;
  /// num_nodes flags, nonzero = alive; null: every node is alive.
  const std::uint8_t* alive = nullptr;
  /// num_edges current weights in the graph's edge order (a simulation's learned
  /// weights); null: the graph's stored weights.
  const float* weights = nullptr;
  /// Factor of modulatory edges in the effective weight (edge.modulatory_gain).
  double modulatory_gain = 0.5;
  /// Factor on the outgoing effective weights of each node type: node.<type>.gain for
  /// the types whose outgoing weights are scaled (NodeTypeTraits::scales_outgoing,
  /// the relays), else 1.
  std::array<double, kNodeTypeCount> out_gain{1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
  /// Sets out_gain of every type that scales its outgoing weights to `gain`.
  void set_outgoing_gain(double gain) {
    for (int t = 0; t < kNodeTypeCount; ++t) {
      if (kNodeTypes[t].scales_outgoing) out_gain[static_cast<std::size_t>(t)] = gain;
    }
  }

  GraphView() = default;
  explicit GraphView(const Graph& g) : graph(&g) {}
  /// A view of `g` with the gains of `cfg` (edge.modulatory_gain, node.relay.gain).
  static GraphView with_config(const Graph& g, const config::Config& cfg);
};

/// Options of the structure metrics.
struct AnalysisOptions {
  /// Clustering nodes and shortest-path sources drawn at random (without
  /// replacement) from the alive nodes; 0, or at least the number of alive nodes,
  /// means every alive node (exact).
  std::size_t samples = 0;
  /// Most power-iteration steps of spectral_radius() (>= 1). The estimates are
  /// checked every 10 steps from step 20 on, and the iteration stops when both moved
  /// by less than 1e-12 relative since the previous check (so after 30 at the earliest).
  int power_iterations = 100;
  /// Seed of the sampling and of the power iteration's start vector.
  std::uint64_t seed = 1;
  /// Worker threads; 0 = all hardware threads. Results never depend on it.
  int threads = 0;
};

// ------------------------------------------------------------------ validation

/// The outcome of a validation. Problems of one kind in one array are reported
/// once, naming the array and the first offending position, with how many there
/// are in all, e.g. "state 'v': 3 values are not finite, first v[17] = nan".
struct ValidationReport {
  bool ok = true;                     ///< no problem found
  std::vector<std::string> problems;  ///< one line per kind of problem, in check order
  std::size_t problem_count = 0;      ///< individual problems (positions) in all
};

/// Checks a graph (and the view's alive flags and weights) without throwing: row
/// pointers, target range and row order, stored and current weights finite and
/// >= 0, delays in [1, max_delay], valid kinds, node types and plastic flags, the
/// by-target index (built if needed) consistent with the rows, alive flags 0/1, and
/// no edge with a dead source or target (a killed node keeps its edges until the
/// next structure step compacts the graph; reported as a problem). Graph::validate
/// is the throwing equivalent for a bare graph.
ValidationReport validate_graph(const GraphView& view, int threads = 0);

// ------------------------------------------------------------------ structure

/// In- and out-degrees of the alive nodes over the live edges (multi-edges count
/// once each; a self-loop counts once in each direction).
struct DegreeStats {
  std::size_t nodes = 0;  ///< alive nodes
  std::size_t edges = 0;  ///< live edges
  /// in_histogram[d] = number of alive nodes with in-degree d (size max_in + 1).
  std::vector<std::uint64_t> in_histogram;
  std::vector<std::uint64_t> out_histogram;  ///< the same for out-degrees
  double mean_in = 0.0;   ///< edges / nodes (0 without nodes)
  double mean_out = 0.0;  ///< equal to mean_in
  std::size_t max_in = 0;
  std::size_t max_out = 0;
};
DegreeStats degree_stats(const GraphView& view, int threads = 0);

/// Statistics of the current weights (magnitudes, >= 0) of the live edges of one kind.
/// mean/std/min/max are NaN when count is 0; std is the population standard deviation.
struct WeightStats {
  std::size_t count = 0;
  double mean = 0.0;
  double std = 0.0;
  double min = 0.0;
  double max = 0.0;
};
/// Indexed by EdgeKind (excitatory, inhibitory, modulatory, gated).
std::array<WeightStats, kEdgeKindCount> weight_stats(const GraphView& view, int threads = 0);

/// Label of nodes that belong to no component (dead nodes).
constexpr index_t kNoComponent = 0xFFFFFFFFu;

/// A partition of the alive nodes into components.
struct Components {
  std::size_t count = 0;     ///< number of components (0 without alive nodes)
  std::size_t largest = 0;   ///< nodes in the largest component
  std::vector<index_t> sizes;   ///< size of every component, largest first
  /// Component of each node, numbered 0.. in the order of their smallest node id;
  /// kNoComponent for dead nodes. Size num_nodes.
  std::vector<index_t> labels;
};
/// Weakly connected components (edge directions ignored), by union-find.
Components weak_components(const GraphView& view, int threads = 0);
/// Strongly connected components, by an iterative Tarjan search (no recursion, so
/// any path length is fine).
Components strong_components(const GraphView& view);

/// Average clustering coefficient in the undirected simple-graph sense: edge
/// directions, multi-edges and self-loops are ignored; C(v) = 2 T(v) / (d (d - 1))
/// with T(v) the triangles through v and d its number of distinct neighbours,
/// C(v) = 0 when d < 2 (networkx average_clustering convention); the average is
/// over the nodes considered (every alive node, or `samples` of them).
struct ClusteringStats {
  double average = 0.0;   ///< 0 without alive nodes
  std::size_t nodes = 0;  ///< nodes averaged over
  bool exact = true;      ///< every alive node was considered
  std::uint64_t triangles = 0;  ///< triangles (exact), or sum of T(v) over the sample
};
ClusteringStats clustering(const GraphView& view, const AnalysisOptions& options = {});

/// Shortest directed paths by breadth-first search (unweighted, along live edges)
/// from every alive node or from `samples` sources drawn at random.
struct PathStats {
  double mean_length = 0.0;  ///< mean distance over the ordered pairs (s, t != s), t reachable from s; NaN without any
  /// Reachable ordered pairs over all ordered pairs (s, t != s) from the sources.
  double reachable_fraction = 0.0;
  std::size_t sources = 0;
  std::uint64_t reachable_pairs = 0;
  std::uint32_t max_length = 0;  ///< longest shortest path found (a lower bound of the diameter when sampled)
  bool exact = true;             ///< every alive node was a source
};
PathStats shortest_paths(const GraphView& view, const AnalysisOptions& options = {});

/// Spectral radius of the effective weight matrix W, W[j][s] = sum over live edges
/// s -> j of f(kind) * w * g(s) with f = +1 (excitatory, gated), -1 (inhibitory),
/// modulatory_gain (modulatory) and g(s) = out_gain of the source's type (the
/// gating by energy and the homeostatic synaptic gain are not part of W).
/// Power iteration: x <- W x / |W x| from a positive start vector drawn from the
/// seed; the growth rate is the least-squares slope of log |W^k x| against k over the
/// last half of the iterations (exp of it is the estimate). That also converges when
/// the dominant eigenvalues are a complex pair, of both signs or a cycle's roots of
/// unity (the norm then oscillates around the exponential; the error of the slope
/// falls as 1/L^2 with the window length L). perron_root is the same for |W|, the
/// entrywise magnitudes of W (multapses s -> j summed first): its Perron root, an
/// upper bound of spectral_radius. Effective
/// weights are rounded to float32, as the simulation applies them.
struct SpectralStats {
  double spectral_radius = 0.0;
  double perron_root = 0.0;
  int iterations = 0;  ///< steps taken (<= AnalysisOptions::power_iterations)
  /// (max - min) / mean of the per-iteration growth of W over the averaging window:
  /// near 0 when the iteration converged to one real dominant eigenvalue.
  double spread = 0.0;
};
SpectralStats spectral_radius(const GraphView& view, const AnalysisOptions& options = {});

/// Wall time of each part of graph_metrics(), in seconds.
struct AnalysisTimings {
  double degrees = 0.0;
  double weights = 0.0;
  double weak_components = 0.0;
  double strong_components = 0.0;
  double clustering = 0.0;
  double paths = 0.0;
  double spectral = 0.0;
};

/// Every structure metric.
struct GraphMetrics {
  DegreeStats degrees;
  std::array<WeightStats, kEdgeKindCount> weights;
  Components weak;    ///< labels filled
  Components strong;  ///< labels filled
  ClusteringStats clustering;
  PathStats paths;
  SpectralStats spectral;
  AnalysisTimings seconds;
};
GraphMetrics graph_metrics(const GraphView& view, const AnalysisOptions& options = {});

}  // namespace spikegraph
