// Helpers shared by the C++ tests (not a test file itself: no test_ prefix).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/graph/graph.hpp"

namespace sgtest {

// Sanitizer and coverage builds run the tests several times slower: there the heaviest
// tests draw fewer cases (fewer damaged bytes, shorter runs, smaller graphs); the
// release build runs them whole.
#ifdef SPIKEGRAPH_TEST_SLOW_BUILD
inline constexpr bool kSlowBuild = true;
#else
inline constexpr bool kSlowBuild = false;
#endif

/// A fresh, empty directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("spikegraph_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// A config from TOML text on top of the defaults (throws like Config::from_toml).
inline spikegraph::config::Config config_from(const std::string& toml) {
  return spikegraph::config::Config::from_toml(toml, "<test>");
}

/// One edge for small hand-made graphs.
struct E {
  std::int64_t s, t;
  double w;
  std::int64_t d = 1;
  std::int64_t kind = 0;
};

/// A graph from a list of edges; node_types may be empty (all dynamic), plastic may be
/// empty (no plastic edge) or hold one flag per edge.
inline std::shared_ptr<const spikegraph::Graph> small_graph(std::size_t n, const std::vector<E>& edges,
                                                             const std::vector<std::int64_t>& node_types = {},
                                                             const std::vector<std::uint8_t>& plastic = {}) {
  std::vector<std::int64_t> s, t, d, k;
  std::vector<double> w;
  for (const E& e : edges) {
    s.push_back(e.s);
    t.push_back(e.t);
    w.push_back(e.w);
    d.push_back(e.d);
    k.push_back(e.kind);
  }
  spikegraph::EdgeArrays a;
  a.num_edges = edges.size();
  a.sources = s.data();
  a.targets = t.data();
  a.weights = w.data();
  a.delays = d.data();
  a.kinds = k.data();
  a.plastic = plastic.empty() ? nullptr : plastic.data();
  return spikegraph::GraphBuilder::from_arrays(n, node_types.empty() ? nullptr : node_types.data(), a);
}

/// Distance in units in the last place between two floats / doubles of the same sign
/// (or both zero); huge when the signs differ.
inline std::int64_t ulp_distance(double a, double b) {
  if (a == b) return 0;
  std::int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  if ((ia < 0) != (ib < 0)) return INT64_MAX;
  return ia > ib ? ia - ib : ib - ia;
}
inline std::int64_t ulp_distance(float a, float b) {
  if (a == b) return 0;
  std::int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return INT64_MAX;
  return ia > ib ? std::int64_t(ia) - ib : std::int64_t(ib) - ia;
}

}  // namespace sgtest

#include "spikegraph/config/toml.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace sgtest {

/// A config for simulation tests: the TOML text on top of the defaults, with the
/// CPU backend and one thread unless the text says otherwise.
inline spikegraph::config::Config sim_config(const std::string& toml = "") {
  auto table = spikegraph::config::parse_toml(toml, "<test>");
  table.emplace("sim.backend", spikegraph::config::Value::string("cpu"));
  table.emplace("sim.threads", spikegraph::config::Value::integer(1));
  spikegraph::config::Config c;
  c.update(table, "<test>");
  return c;
}

/// Configuration keys as TOML literals, e.g. {"energy.enabled", "true"}.
using Keys = std::map<std::string, std::string>;

/// sim_config from dotted keys, with `overrides` replacing or adding keys.
inline spikegraph::config::Config config_of(Keys keys, const Keys& overrides = {}) {
  for (const auto& [k, v] : overrides) keys[k] = v;
  std::string toml;
  for (const auto& [k, v] : keys) toml += k + " = " + v + "\n";
  return sim_config(toml);
}

/// Copies a state array into doubles.
inline std::vector<double> state_of(spikegraph::Simulation& sim, const std::string& name) {
  const spikegraph::ArrayRef a = sim.state(name);
  std::vector<double> out(a.size);
  for (std::size_t i = 0; i < a.size; ++i) {
    switch (a.dtype) {
      case spikegraph::DType::f32: out[i] = static_cast<const float*>(a.data)[i]; break;
      case spikegraph::DType::f64: out[i] = static_cast<const double*>(a.data)[i]; break;
      case spikegraph::DType::u8: out[i] = static_cast<const std::uint8_t*>(a.data)[i]; break;
      case spikegraph::DType::u16: out[i] = static_cast<const std::uint16_t*>(a.data)[i]; break;
      case spikegraph::DType::i32: out[i] = static_cast<const std::int32_t*>(a.data)[i]; break;
      case spikegraph::DType::i64: out[i] = static_cast<double>(static_cast<const std::int64_t*>(a.data)[i]); break;
      case spikegraph::DType::u32: out[i] = static_cast<const std::uint32_t*>(a.data)[i]; break;
      default: throw std::runtime_error("state_of: unhandled dtype of '" + name + "'");
    }
  }
  return out;
}

/// Sets a state array from a list of doubles.
inline void set(spikegraph::Simulation& sim, const std::string& name, const std::vector<double>& values) {
  sim.set_state(name, values.data(), values.size());
}

}  // namespace sgtest
