#include "spikegraph/state/node_state.hpp"

namespace spikegraph {

namespace {
constexpr bool rows_in_enum_order() {
  for (int k = 0; k < kNodeVarCount; ++k) {
    if (static_cast<int>(kNodeVars[static_cast<std::size_t>(k)].id) != k) return false;
  }
  return true;
}
static_assert(rows_in_enum_order(), "kNodeVars must list the variables in NodeVar order");
}  // namespace

const NodeVarInfo* find_node_var(const std::string& name) {
  for (const auto& row : kNodeVars) {
    if (name == row.name) return &row;
  }
  return nullptr;
}

std::vector<std::string> node_var_names() {
  std::vector<std::string> names;
  for (const auto& row : kNodeVars) names.emplace_back(row.name);
  return names;
}

std::vector<std::string> node_var_names(const NodeFeatures& features) {
  std::vector<std::string> names;
  for (const auto& row : kNodeVars) {
    if (features.has(row.feature)) names.emplace_back(row.name);
  }
  return names;
}

std::string unallocated_node_var_message(const NodeVarInfo& row) {
  const char* model = row.feature == VarFeature::exp_synapses ? "lif_exp" : "izhikevich";
  return std::string("state: variable '") + row.name + "' is not allocated: no node type uses node.<type>.model = \"" +
         model + "\"";
}

DType node_var_dtype(const NodeVarInfo& info, bool double_precision) {
  switch (info.type) {
    case VarType::real: return double_precision ? DType::f64 : DType::f32;
    case VarType::u8: return DType::u8;
    case VarType::u16: return DType::u16;
    case VarType::i32: return DType::i32;
  }
  return DType::f32;
}

std::string unknown_node_var_message(const std::string& name) {
  std::string all;
  for (const auto& row : kNodeVars) all += (all.empty() ? "" : ", ") + std::string(row.name);
  return "state: unknown variable '" + name + "' (known: " + all + ")";
}

std::vector<std::string> edge_var_names(bool with_eligibility) {
  std::vector<std::string> names{"weight"};
  if (with_eligibility) names.emplace_back("eligibility");
  return names;
}

std::string unknown_edge_var_message(const std::string& name) {
  return "edge state: unknown or unallocated variable '" + name +
         "' (known: weight; eligibility with learning.rule = \"eligibility\" and plastic edges)";
}

}  // namespace spikegraph
