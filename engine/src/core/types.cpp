#include "spikegraph/core/types.hpp"

#include <cstring>

namespace spikegraph {

namespace {
constexpr bool traits_in_enum_order() {
  for (int t = 0; t < kNodeTypeCount; ++t) {
    if (static_cast<int>(kNodeTypes[t].id) != t) return false;
  }
  return true;
}
static_assert(traits_in_enum_order(), "kNodeTypes must list the types in NodeType order");
const char* const kEdgeKindNames[kEdgeKindCount] = {"excitatory", "inhibitory", "modulatory",
                                                    "gated"};
}  // namespace

const char* node_type_name(NodeType t) {
  auto i = static_cast<unsigned>(t);
  return i < kNodeTypeCount ? kNodeTypes[i].name : "unknown";
}

const char* edge_kind_name(EdgeKind k) {
  auto i = static_cast<unsigned>(k);
  return i < kEdgeKindCount ? kEdgeKindNames[i] : "unknown";
}

bool parse_node_type(const char* name, NodeType& out) {
  for (int i = 0; i < kNodeTypeCount; ++i) {
    if (std::strcmp(name, kNodeTypes[i].name) == 0) {
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
