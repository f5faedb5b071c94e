// spikegraph/dist/partition.hpp
// How a network is split across ranks: each rank owns a contiguous range of node
// ids, runs the neuron update of those nodes, and stores the edges whose target it
// owns (so synaptic input is added where it is used). Node ids stay global on every
// rank: the counter-based random numbers are keyed by them, so every draw is the
// same on any number of ranks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {
class Graph;
}

namespace spikegraph::dist {

/// Contiguous node ranges, one per rank, ascending: rank r owns [starts[r], starts[r+1]).
struct NodePartition {
  std::vector<index_t> starts{0, 0};  ///< ranks + 1 entries, from 0 to the number of nodes

  int ranks() const { return static_cast<int>(starts.size()) - 1; }
  index_t begin(int rank) const { return starts[static_cast<std::size_t>(rank)]; }
  index_t end(int rank) const { return starts[static_cast<std::size_t>(rank) + 1]; }
  /// The rank that owns `node` (< the number of nodes).
  int owner(index_t node) const;
};

/// Equal node counts (the first num_nodes % ranks ranks get one more). ranks >= 1.
NodePartition partition_by_nodes(index_t num_nodes, int ranks);
/// Ranges with about equal work: incoming edges plus one per node, from the in-degree
/// of each node (in_degree.size() = number of nodes).
NodePartition partition_by_in_edges(const std::vector<std::uint64_t>& in_degree, int ranks);
/// By the configuration's sim.partition ("nodes" or "edges") for `graph`.
NodePartition make_partition(const Graph& graph, int ranks, const std::string& mode);

/// The part of a graph one rank stores: every node (types kept), the edges whose
/// target lies in [begin, end) and, with `source_rows`, the edges whose source does
/// (the energy flow's outflow needs a source's whole row), in the graph's edge order.
struct GraphPart {
  std::shared_ptr<const Graph> graph;
  /// For each node s, the whole graph's index of the first edge of `graph`'s row s:
  /// the part's edges of a row are consecutive in the whole row, so edge k of row s is
  /// edge row_base[s] + (k - graph->out_offsets()[s]) of the whole graph.
  std::vector<std::uint64_t> row_base;
  /// Edge k's index in the whole graph, for k in row s (s: k's source).
  std::uint64_t edge_id(index_t s, offset_t k) const;
};
GraphPart graph_part(const Graph& graph, index_t begin, index_t end, bool source_rows);

}  // namespace spikegraph::dist
