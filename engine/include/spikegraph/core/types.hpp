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

/// Edge kinds (docs/model.md, "Edges"). Stored as uint8 per edge.
enum class EdgeKind : std::uint8_t { excitatory = 0, inhibitory = 1, modulatory = 2, gated = 3 };
constexpr int kEdgeKindCount = 4;

/// Node types (docs/model.md, "Nodes"). Stored as uint8 per node.
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

/// What distinguishes the node types, as data: the model's parameters and schema, the
/// backends, the energy flow, homeostasis and structural plasticity read these
/// columns, never a type's name. A new behaviour of a type is a column here.
struct NodeTypeTraits {
  NodeType id;
  const char* name;           ///< as in configuration keys (node.<name>.*) and Python
  const char* role;           ///< one line
  bool leaky;                 ///< false: integrates its drive without leak (and without energy coupling)
  bool ignores_input;         ///< synaptic and Poisson input are not integrated
  bool oscillates;            ///< spikes with an intrinsic period (node.<name>.period)
  bool scales_outgoing;       ///< its outgoing weights are multiplied by node.<name>.gain
  std::uint8_t flow_factor;   ///< c_s of the energy flow: how strongly it passes energy on
  bool adapts_threshold;      ///< homeostasis adapts its threshold toward the target rate
  bool mortal;                ///< structural plasticity: starves and dies, and gives birth
};

/// The node types' traits, indexed by NodeType.
inline constexpr NodeTypeTraits kNodeTypes[kNodeTypeCount] = {
    {NodeType::sensory, "sensory", "driven by the input frame or audio", true, true, false, false, 1, false, false},
    {NodeType::dynamic, "dynamic", "the recurrent population: learns, adapts, lives and dies", true, false, false,
     false, 1, true, true},
    {NodeType::oscillator, "oscillator", "spikes with an intrinsic period", true, true, true, false, 1, false,
     false},
    {NodeType::integrator, "integrator", "accumulates its input without leak", false, false, false, false, 1, true,
     false},
    {NodeType::relay, "relay", "passes activity on with amplified outgoing weights", true, false, false, true, 1,
     true, false},
    {NodeType::highway, "highway", "moves energy twice as strongly", true, false, false, false, 2, true, false},
    {NodeType::workspace, "workspace", "the readout grid", true, false, false, false, 1, true, false},
};

/// The traits of type `t` (which must be a valid type).
constexpr const NodeTypeTraits& node_type_traits(NodeType t) { return kNodeTypes[static_cast<int>(t)]; }
/// The traits of a stored type byte (graphs validate their type bytes).
constexpr const NodeTypeTraits& node_type_traits(std::uint8_t t) { return kNodeTypes[t]; }

/// Lower-case names of node types (kNodeTypes[t].name) and edge kinds, as used in
/// configuration and Python.
const char* node_type_name(NodeType t);
const char* edge_kind_name(EdgeKind k);
/// Parse a name; returns false when the name is unknown.
bool parse_node_type(const char* name, NodeType& out);
bool parse_edge_kind(const char* name, EdgeKind& out);

}  // namespace spikegraph
