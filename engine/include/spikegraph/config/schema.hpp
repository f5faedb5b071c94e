// spikegraph/config/schema.hpp
// The single configuration schema: every parameter's key, type, default, range,
// unit and documentation, defined once here. TOML files, the Python API and the
// executable all go through Config, so unknown keys and bad values give the same
// error everywhere. Durations are in ms and converted to steps with steps().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/config/value.hpp"

namespace spikegraph::config {

/// One parameter of the schema.
struct ParamSpec {
  std::string key;                   ///< dotted key, "section.name" or "node.<type>.name"
  Value::Type type;                  ///< Bool, Int, Float, String or Array
  Value default_value;               ///< the default (docs/model.md)
  double min = -1e300;               ///< numeric lower bound (Int/Float, and Int array elements)
  double max = 1e300;                ///< numeric upper bound
  bool min_exclusive = false;        ///< true: value must be > min
  std::vector<std::string> choices;  ///< allowed strings (String, and String array elements)
  Value::Type element_type = Value::Type::Int;  ///< element type of arrays
  std::string unit;                  ///< "ms", "Hz", "" (dimensionless) ...
  std::string doc;                   ///< one line of documentation
  /// True when a running simulation may change it (Simulation::update_config): a
  /// parameter the backend and the services re-read between steps. Keys that size or
  /// allocate state, set initial values or choose which services run are fixed.
  bool live = false;
};

/// Every parameter, in a fixed documented order.
const std::vector<ParamSpec>& schema();
/// The spec of a key, or nullptr when the key is unknown.
const ParamSpec* find_param(const std::string& key);

/// A complete, validated configuration: every key of the schema has a value.
/// Value semantics (copyable); not thread-safe for concurrent update().
class Config {
 public:
  /// All defaults.
  Config();

  /// Parse TOML text/file and apply it on top of the defaults. Throws ConfigError
  /// (IoError for an unreadable file).
  static Config from_toml(const std::string& text, const std::string& source_name = "<string>");
  static Config from_toml_file(const std::string& path);

  /// Validate `changes` against the schema and the cross-parameter rules into a copy,
  /// then commit all of them, or none: on error (ConfigError listing every problem)
  /// this object is unchanged. Integers are accepted where floats are expected.
  void update(const FlatTable& changes, const std::string& source_name = "config");

  const Value& value(const std::string& key) const;
  double real(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  bool boolean(const std::string& key) const;
  const std::string& string(const std::string& key) const;
  std::vector<std::int64_t> integers(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;

  /// A duration key in ms as a whole number of steps of sim.dt (rounded to nearest,
  /// at least `min_steps`).
  std::int64_t steps(const std::string& key, std::int64_t min_steps = 0) const;

  /// Every key and value.
  const FlatTable& values() const { return values_; }
  /// The configuration as TOML (round-trips through from_toml).
  std::string to_toml() const;

 private:
  FlatTable values_;
};

/// The keys a running simulation may change (ParamSpec::live), in schema order.
std::vector<std::string> live_keys();

/// The configuration of the built-in default run (`spikegraph run` and
/// `spikegraph-sim` without a file), as TOML text applied on top of the defaults.
const char* default_run_toml();

/// Markdown table of the whole schema (docs/configuration.md is generated from it).
std::string schema_markdown();

}  // namespace spikegraph::config
