// spikegraph/graph/graph.hpp
// The sparse graph: node attributes as structure of arrays; edges stored once,
// in compressed sparse rows by source (CSR), each row sorted by target (stable
// for multapses); a by-target index (row pointers + edge ids into the same edge
// arrays) built on first use. 32-bit node and edge indices, delays in steps.
//
// Ownership: a Graph owns all its arrays. It is immutable once built (the
// simulation takes it by shared_ptr<const Graph>); structural changes produce
// a new Graph at structure steps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {

/// Edges grouped by target: for target j, in_edges[in_offsets[j] .. in_offsets[j+1])
/// are ids of edges in the by-source arrays, ascending (so in source order).
struct TargetIndex {
  std::vector<offset_t> in_offsets;  ///< size num_nodes + 1
  std::vector<index_t> in_edges;     ///< size num_edges
  std::vector<index_t> in_sources;   ///< source node of each entry of in_edges
};

/// Summary statistics of a graph (for summaries and checks).
struct GraphStats {
  index_t num_nodes = 0;
  std::size_t num_edges = 0;
  std::size_t edges_by_kind[kEdgeKindCount] = {0, 0, 0, 0};
  index_t nodes_by_type[kNodeTypeCount] = {0, 0, 0, 0, 0, 0, 0};
  std::uint16_t max_delay = 0;        ///< steps
  std::size_t max_out_degree = 0;
  std::size_t max_in_degree = 0;
  double mean_weight = 0.0;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph& other);
  Graph& operator=(const Graph&) = delete;

  index_t num_nodes() const { return static_cast<index_t>(node_type_.size()); }
  std::size_t num_edges() const { return edge_target_.size(); }

  /// Node type of each node (NodeType as uint8).
  const std::vector<std::uint8_t>& node_type() const { return node_type_; }

  /// CSR row pointers: the out-edges of node s are [out_offsets[s], out_offsets[s+1]).
  const std::vector<offset_t>& out_offsets() const { return out_offsets_; }
  const std::vector<index_t>& edge_target() const { return edge_target_; }
  /// Stored (non-negative) weight; the sign and gain come from the edge kind.
  const std::vector<float>& edge_weight() const { return edge_weight_; }
  /// Delay in steps, >= 1.
  const std::vector<std::uint16_t>& edge_delay() const { return edge_delay_; }
  /// EdgeKind as uint8.
  const std::vector<std::uint8_t>& edge_kind() const { return edge_kind_; }
  /// 1 for plastic edges; empty when no edge is plastic.
  const std::vector<std::uint8_t>& edge_plastic() const { return edge_plastic_; }
  /// Source of each edge, derived from the row pointers (allocates; for export).
  std::vector<index_t> edge_sources() const;

  /// The by-target index, built on first call (thread-safe).
  const TargetIndex& by_target() const;
  bool has_target_index() const;

  /// Largest delay in steps (0 for a graph without edges).
  std::uint16_t max_delay() const { return max_delay_; }

  /// Bytes held by this graph's arrays (capacity, including the by-target index if built).
  std::size_t memory_bytes() const;

  GraphStats stats() const;

  /// Check every invariant (index ranges, row pointers, sorted rows, weights finite
  /// and >= 0, delays >= 1, kinds valid, by-target index consistent); throws GraphError.
  void validate() const;

 private:
  friend class GraphBuilder;
  std::vector<std::uint8_t> node_type_;
  std::vector<offset_t> out_offsets_{0};
  std::vector<index_t> edge_target_;
  std::vector<float> edge_weight_;
  std::vector<std::uint16_t> edge_delay_;
  std::vector<std::uint8_t> edge_kind_;
  std::vector<std::uint8_t> edge_plastic_;
  std::uint16_t max_delay_ = 0;
  mutable std::unique_ptr<TargetIndex> target_index_;
  mutable std::mutex target_index_mutex_;
};

/// Input arrays for building a graph. Pointers are borrowed for the duration of
/// the build call only. Optional arrays may be null (defaults in brackets).
struct EdgeArrays {
  std::size_t num_edges = 0;
  const std::int64_t* sources = nullptr;   ///< required
  const std::int64_t* targets = nullptr;   ///< required
  const double* weights = nullptr;         ///< required, finite, >= 0
  const std::int64_t* delays = nullptr;    ///< steps, 1..65535 [1]
  const std::int64_t* kinds = nullptr;     ///< EdgeKind values [excitatory]
  const std::uint8_t* plastic = nullptr;   ///< 0/1 [0]
};

class GraphBuilder {
 public:
  /// Build from arrays. `node_types` may be null (all dynamic). Every input is
  /// validated first; errors name the array and the offending position, e.g.
  /// "build graph: targets[12] = 70 is out of range [0, 64)". Edges are stored
  /// sorted by (source, target), stable for equal pairs.
  static std::shared_ptr<const Graph> from_arrays(std::size_t num_nodes,
                                                  const std::int64_t* node_types,
                                                  const EdgeArrays& edges);

  /// Build from already validated 32-bit arrays in any order (used by generators and
  /// structural plasticity). `plastic` may be empty (no plastic edge). When `order`
  /// is given it receives, for each stored edge, the index of the input edge it came from.
  static std::shared_ptr<const Graph> from_validated(std::vector<std::uint8_t> node_types,
                                                     const std::vector<index_t>& sources,
                                                     const std::vector<index_t>& targets,
                                                     const std::vector<float>& weights,
                                                     const std::vector<std::uint16_t>& delays,
                                                     const std::vector<std::uint8_t>& kinds,
                                                     const std::vector<std::uint8_t>& plastic,
                                                     std::vector<index_t>* order = nullptr);

  /// A graph from its CSR arrays as they are (rows sorted by target; the caller has
  /// validated them): out_offsets has one entry per node plus one; plastic is empty
  /// or one flag per edge; max_delay is the graph's (at least every edge's delay).
  static std::shared_ptr<const Graph> from_csr(std::vector<std::uint8_t> node_types, std::vector<offset_t> out_offsets,
                                               std::vector<index_t> targets, std::vector<float> weights,
                                               std::vector<std::uint16_t> delays, std::vector<std::uint8_t> kinds,
                                               std::vector<std::uint8_t> plastic, std::uint16_t max_delay);

  /// The nodes of `graph` with only the edges whose target is in [begin, end) and,
  /// when `source_rows`, those whose source is, in the same order; max_delay() stays
  /// the whole graph's (so delay rings have the same shape on every part).
  /// The kept edges of a row are consecutive in `graph`'s row: `row_base[s]` receives
  /// the index in `graph` of the first, so edge k of the part's row s is edge
  /// row_base[s] + (k - out_offsets()[s]) of `graph` (8 bytes per node, not per edge).
  static std::shared_ptr<const Graph> part(const Graph& graph, index_t begin, index_t end, bool source_rows,
                                           std::vector<std::uint64_t>& row_base);
};

/// A copy of `graph` with `spare` more nodes of type dynamic and no edges of their
/// own, appended after the existing nodes (ids unchanged): the preallocated slots
/// structural plasticity fills with births.
std::shared_ptr<const Graph> with_spare_nodes(const Graph& graph, std::size_t spare);

}  // namespace spikegraph
