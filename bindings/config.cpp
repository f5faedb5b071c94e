// Config and schema: Python dicts <-> the C++ schema (validation happens in C++).
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>

#include "common.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/core/types.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph::bindings {

using config::Config;
using config::Value;

Value to_value(nb::handle obj, const std::string& key) {
  if (nb::isinstance<nb::bool_>(obj)) return Value::boolean(nb::cast<bool>(obj));
  if (nb::isinstance<nb::int_>(obj)) {
    try {
      return Value::integer(nb::cast<std::int64_t>(obj));
    } catch (const nb::cast_error&) {
      throw ConfigError("configure: " + key + " = " + nb::cast<std::string>(nb::str(obj)) +
                        " does not fit a 64-bit integer");
    }
  }
  if (nb::isinstance<nb::float_>(obj)) return Value::real(nb::cast<double>(obj));
  if (nb::isinstance<nb::str>(obj)) return Value::string(nb::cast<std::string>(obj));
  if (nb::isinstance<nb::list>(obj) || nb::isinstance<nb::tuple>(obj)) {
    std::vector<Value> items;
    size_t i = 0;
    for (nb::handle item : obj) items.push_back(to_value(item, key + "[" + std::to_string(i++) + "]"));
    return Value::array(std::move(items));
  }
  throw ConfigError("configure: " + key + ": unsupported Python type '" +
                    nb::cast<std::string>(nb::str(obj.type().attr("__name__"))) +
                    "' (use bool, int, float, str or a list of them)");
}

nb::object from_value(const Value& v) {
  switch (v.type) {
    case Value::Type::Bool: return nb::bool_(v.b);
    case Value::Type::Int: return nb::int_(v.i);
    case Value::Type::Float: return nb::float_(v.f);
    case Value::Type::String: return nb::str(v.s.c_str());
    case Value::Type::Array: {
      nb::list l;
      for (const auto& x : v.items) l.append(from_value(x));
      return std::move(l);
    }
  }
  return nb::none();
}

config::FlatTable to_table(const nb::dict& flat) {
  config::FlatTable t;
  for (auto [k, v] : flat) {
    if (!nb::isinstance<nb::str>(k)) throw ConfigError("configure: keys must be strings");
    std::string key = nb::cast<std::string>(k);
    t[key] = to_value(v, key);
  }
  return t;
}

void register_config(nb::module_& m) {
  nb::class_<Config>(m, "Config", "A complete, validated configuration (every key has a value).")
      .def(nb::init<>(), "All defaults (docs/model.md).")
      .def("__copy__", [](const Config& c) { return Config(c); })
      .def("update", [](Config& c, const nb::dict& flat, const std::string& source) {
             c.update(to_table(flat), source);
           }, nb::arg("changes"), nb::arg("source") = "config",
           "Validate a flat {dotted.key: value} dict and apply all of it or nothing.")
      .def_static("from_toml", &Config::from_toml, nb::arg("text"), nb::arg("source_name") = "<string>")
      .def_static("from_toml_file", &Config::from_toml_file, nb::arg("path"))
      .def("get", [](const Config& c, const std::string& key) { return from_value(c.value(key)); },
           nb::arg("key"))
      .def("to_dict", [](const Config& c) {
        nb::dict d;
        for (const auto& [k, v] : c.values()) d[k.c_str()] = from_value(v);
        return d;
      }, "Flat {dotted.key: value} dict of every key.")
      .def("to_toml", &Config::to_toml)
      .def("steps", &Config::steps, nb::arg("key"), nb::arg("min_steps") = 0);

  m.def("live_keys", &config::live_keys, "The keys a running simulation may change (Simulation.update_config).");
  m.def("schema", []() {
    nb::list out;
    for (const auto& p : config::schema()) {
      nb::dict d;
      d["key"] = p.key;
      Value typed;
      typed.type = p.type;
      d["type"] = typed.type_name();
      d["default"] = from_value(p.default_value);
      d["unit"] = p.unit;
      d["doc"] = p.doc;
      d["live"] = p.live;
      if (!p.choices.empty()) d["choices"] = p.choices;
      if (p.type == Value::Type::Int || p.type == Value::Type::Float) {
        d["min"] = p.min;
        d["max"] = p.max;
        d["min_exclusive"] = p.min_exclusive;
      }
      out.append(d);
    }
    return out;
  }, "Every configuration key: key, type, default, unit, doc, range or choices.");
  m.def("node_state_info", []() {
    static const char* const kTypes[] = {"real", "uint8", "uint16", "int32"};
    static const char* const kNewborn[] = {"kept", "0", "-1", "v_rest", "threshold", "its type's poisson_rate"};
    static_assert(sizeof(kNewborn) / sizeof(kNewborn[0]) == static_cast<int>(NewbornValue::type_poisson_rate) + 1,
                  "a name per NewbornValue");
    nb::list out;
    for (const auto& row : kNodeVars) {
      nb::dict d;
      d["name"] = row.name;
      d["type"] = kTypes[static_cast<int>(row.type)];
      d["unit"] = row.unit;
      d["meaning"] = row.meaning;
      d["written_by"] = row.written_by;
      d["newborn"] = kNewborn[static_cast<int>(row.newborn)];
      d["monitorable"] = row.monitorable;
      static const char* const kAllocated[] = {"always", "with a lif_exp node type", "with an izhikevich node type"};
      d["allocated"] = kAllocated[static_cast<int>(row.feature)];
      out.append(d);
    }
    return out;
  }, "The node state table: name, type (real = the simulation's precision), unit, meaning, "
     "the phase that writes it, a newborn node's value, whether the monitor may sample it, "
     "when it is allocated.");
  m.def("node_types", []() {
    nb::list out;
    for (const auto& t : kNodeTypes) {
      nb::dict d;
      d["name"] = t.name;
      d["role"] = t.role;
      d["leaky"] = t.leaky;
      d["ignores_input"] = t.ignores_input;
      d["oscillates"] = t.oscillates;
      d["scales_outgoing"] = t.scales_outgoing;
      d["flow_factor"] = static_cast<int>(t.flow_factor);
      d["adapts_threshold"] = t.adapts_threshold;
      d["mortal"] = t.mortal;
      out.append(d);
    }
    return out;
  }, "The node types' traits, in type order (the index stored per node).");
  m.def("edge_kinds", []() {
    std::vector<std::string> out;
    for (int k = 0; k < kEdgeKindCount; ++k) out.emplace_back(edge_kind_name(static_cast<EdgeKind>(k)));
    return out;
  }, "The edge kinds' names, in kind order (the index stored per edge).");
  m.def("schema_markdown", &config::schema_markdown);
  m.def("default_run_toml", []() { return std::string(config::default_run_toml()); });
  m.def("parse_toml", [](const std::string& text, const std::string& name) {
    nb::dict d;
    for (const auto& [k, v] : config::parse_toml(text, name)) d[k.c_str()] = from_value(v);
    return d;
  }, nb::arg("text"), nb::arg("source_name") = "<string>", "Parse TOML into a flat dict.");
}

}  // namespace spikegraph::bindings
