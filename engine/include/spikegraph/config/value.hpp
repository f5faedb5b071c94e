// spikegraph/config/value.hpp
// A configuration value as it arrives from TOML, Python or the command line, before
// the schema checks it. Plain data; owns its contents.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spikegraph::config {

struct Value {
  enum class Type { Bool, Int, Float, String, Array };
  Type type = Type::Int;
  bool b = false;
  std::int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<Value> items;  ///< elements when type == Array

  static Value boolean(bool v) { Value x; x.type = Type::Bool; x.b = v; return x; }
  static Value integer(std::int64_t v) { Value x; x.type = Type::Int; x.i = v; return x; }
  static Value real(double v) { Value x; x.type = Type::Float; x.f = v; return x; }
  static Value string(std::string v) { Value x; x.type = Type::String; x.s = std::move(v); return x; }
  static Value array(std::vector<Value> v) { Value x; x.type = Type::Array; x.items = std::move(v); return x; }

  /// Name of the type for error messages: "boolean", "integer", "float", "string", "array".
  const char* type_name() const;
  /// Human-readable rendering used in error messages and summaries (TOML syntax).
  std::string to_string() const;
};

/// Flat map from dotted key ("node.dynamic.tau_m") to value. Ordered so that
/// iteration, error reporting and printing are deterministic.
using FlatTable = std::map<std::string, Value>;

}  // namespace spikegraph::config
