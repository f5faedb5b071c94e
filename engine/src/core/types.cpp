#include "spikegraph/core/types.hpp"

#include <cstring>

namespace spikegraph {

namespace {
const char* const kNodeTypeNames[kNodeTypeCount] = {"sensory", "dynamic", "oscillator", "integrator",
                                                    "relay", "highway", "workspace"};
const char* const kEdgeKindNames[kEdgeKindCount] = {"excitatory", "inhibitory", "modulatory",
                                                    "gated"};
}  // namespace

const char* node_type_name(NodeType t) {
  auto i = static_cast<unsigned>(t);
  return i < kNodeTypeCount ? kNodeTypeNames[i] : "unknown";
}

const char* edge_kind_name(EdgeKind k) {
  auto i = static_cast<unsigned>(k);
  return i < kEdgeKindCount ? kEdgeKindNames[i] : "unknown";
}

bool parse_node_type(const char* name, NodeType& out) {
  for (int i = 0; i < kNodeTypeCount; ++i) {
    if (std::strcmp(name, kNodeTypeNames[i]) == 0) {
      out = static_cast<NodeType>(i);
      return true;
    }
  }
  return false;
}

bool parse_edge_kind(const char* name, EdgeKind& out) {
  for (int i = 0; i < kEdgeKindCount; ++i) {
    if (std::strcmp(name, kEdgeKindNames[i]) == 0) {
      out = static_cast<EdgeKind>(i);
      return true;
    }
  }
  return false;
}

}  // namespace spikegraph
