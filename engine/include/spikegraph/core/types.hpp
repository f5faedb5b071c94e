// spikegraph/core/types.hpp
// Fundamental scalar types shared by the engine, the kernels and the bindings.
#pragma once

#include <cstdint>

namespace spikegraph {

/// Node and edge index: 32 bits, so graphs hold up to 2^32 - 1 nodes and edges.
using index_t = std::uint32_t;
/// Offset into the edge arrays (CSR row pointers); 64 bits so offsets never overflow.
using offset_t = std::uint64_t;
/// Simulation step counter (model time = step * dt).
using step_t = std::int64_t;
/// Default floating-point type of state and weights.
using real_t = float;

/// Edge kinds (MODEL.md, "Edges"). Stored as uint8 per edge.
enum class EdgeKind : std::uint8_t { excitatory = 0, inhibitory = 1, modulatory = 2, gated = 3 };
constexpr int kEdgeKindCount = 4;

/// Node types (MODEL.md, "Nodes"). Stored as uint8 per node.
enum class NodeType : std::uint8_t {
  sensory = 0,
  dynamic = 1,
  oscillator = 2,
  integrator = 3,
  relay = 4,
  highway = 5,
  workspace = 6,
};
constexpr int kNodeTypeCount = 7;

/// Lower-case names of node types and edge kinds, as used in configuration and Python.
const char* node_type_name(NodeType t);
const char* edge_kind_name(EdgeKind k);
/// Parse a name; returns false when the name is unknown.
bool parse_node_type(const char* name, NodeType& out);
bool parse_edge_kind(const char* name, EdgeKind& out);

}  // namespace spikegraph
