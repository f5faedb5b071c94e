// config/schema.hpp: defaults, validation, all-or-nothing updates, steps(),
// TOML round trip, default run and the Markdown table.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/core/types.hpp"
#include "support/test_util.hpp"

using spikegraph::ConfigError;
using spikegraph::config::Config;
using spikegraph::config::FlatTable;
using spikegraph::config::Value;
using Catch::Matchers::Contains;

namespace {

const char* const kTypes[] = {"sensory", "dynamic", "oscillator", "integrator", "relay", "highway", "workspace"};

// The ConfigError message of applying `changes` to a default config ("(no error)" if none).
std::string update_error(const FlatTable& changes, Config* cfg = nullptr) {
  Config local;
  Config& c = cfg ? *cfg : local;
  try {
    c.update(changes, "test");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string update_error(const std::string& key, const Value& v) { return update_error(FlatTable{{key, v}}); }

bool same_value(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case Value::Type::Bool: return a.b == b.b;
    case Value::Type::Int: return a.i == b.i;
    case Value::Type::Float: return a.f == b.f || (std::isnan(a.f) && std::isnan(b.f));
    case Value::Type::String: return a.s == b.s;
    case Value::Type::Array:
      if (a.items.size() != b.items.size()) return false;
      for (std::size_t i = 0; i < a.items.size(); ++i) {
        if (!same_value(a.items[i], b.items[i])) return false;
      }
      return true;
  }
  return false;
}

bool same_values(const FlatTable& a, const FlatTable& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || !same_value(v, it->second)) {
      UNSCOPED_INFO("differs: " << k);
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("schema defaults are the values of docs/model.md", "[config][schema]") {
  const Config c;
  CHECK(c.real("sim.dt") == 1.0);
  CHECK(c.integer("sim.seed") == 1);
  CHECK(c.integer("sim.threads") == 0);
  CHECK(c.string("sim.backend") == "auto");
  CHECK(c.string("sim.precision") == "float32");
  CHECK(c.boolean("record.spikes") == true);
  CHECK(c.strings("monitor.variables").empty());
  CHECK(c.integers("monitor.nodes").empty());
  CHECK(c.real("energy.cap") == 5.0);
  CHECK(c.real("energy.initial") == 2.5);
  CHECK(c.real("energy.spike_cost_min") == 0.01);
  CHECK(c.real("edge.modulatory_gain") == 0.5);
  CHECK(c.real("edge.gate_energy") == 0.5);
  for (const char* t : kTypes) {
    const std::string pre = std::string("node.") + t + ".";
    INFO(pre);
    CHECK(c.real(pre + "v_rest") == 0.0);
    CHECK(c.real(pre + "v_reset") == 0.0);
    CHECK(c.real(pre + "threshold") == 1.0);
    CHECK(c.real(pre + "tau_m") == 10.0);
    CHECK(c.real(pre + "t_ref") == 2.0);
    CHECK(c.real(pre + "resistance") == 1.0);
    CHECK(c.real(pre + "energy_coupling") == 0.5);
  }
  CHECK(c.real("node.relay.gain") == 1.5);
  CHECK(c.real("node.oscillator.period") == 100.0);
  CHECK_THROWS_AS(c.real("node.dynamic.gain"), ConfigError);  // only relays have a gain
  CHECK(c.string("network.kind") == "brunel");
  // Every schema key has a value of the declared type and equal to its default.
  CHECK(c.values().size() == spikegraph::config::schema().size());
  for (const auto& p : spikegraph::config::schema()) {
    INFO(p.key);
    REQUIRE(c.values().count(p.key) == 1);
    CHECK(c.value(p.key).type == p.type);
    CHECK(same_value(c.value(p.key), p.default_value));
    CHECK(spikegraph::config::find_param(p.key) == &p);
    CHECK_FALSE(p.doc.empty());
  }
  CHECK(spikegraph::config::find_param("sim.nope") == nullptr);
}

TEST_CASE("typed getters reject the wrong type and unknown keys", "[config][schema]") {
  const Config c;
  CHECK_THROWS_AS(c.integer("sim.dt"), ConfigError);
  CHECK_THROWS_AS(c.real("sim.seed"), ConfigError);
  CHECK_THROWS_AS(c.boolean("sim.backend"), ConfigError);
  CHECK_THROWS_AS(c.string("record.spikes"), ConfigError);
  CHECK_THROWS_AS(c.integers("sim.dt"), ConfigError);
  CHECK_THROWS_WITH(c.value("sim.dtt"), Contains("sim.dt"));
}

TEST_CASE("unknown keys are rejected with a suggestion", "[config][schema]") {
  const std::string msg = update_error("sim.dtt", Value::real(0.1));
  CHECK_THAT(msg, Contains("unknown key 'sim.dtt'"));
  CHECK_THAT(msg, Contains("did you mean 'sim.dt'"));
  CHECK_THAT(update_error("node.dynamic.tau", Value::real(1)), Contains("did you mean 'node.dynamic.tau_m'"));
  CHECK_THAT(update_error("energy.capp", Value::real(1)), Contains("did you mean 'energy.cap'"));
  // A key far from every schema key gets no suggestion.
  const std::string far = update_error("completely.unrelated.key", Value::integer(1));
  CHECK_THAT(far, Contains("unknown key 'completely.unrelated.key'"));
  CHECK_THAT(far, !Contains("did you mean"));
  // From TOML too: the section and key form the dotted key.
  CHECK_THROWS_WITH(Config::from_toml("[node.dynamic]\ntau_n = 3.0\n"),
                    Contains("unknown key 'node.dynamic.tau_n'") && Contains("did you mean 'node.dynamic.tau_m'"));
}

TEST_CASE("wrong value types are rejected", "[config][schema]") {
  CHECK_THAT(update_error("sim.dt", Value::string("fast")), Contains("sim.dt: expected float, got string"));
  CHECK_THAT(update_error("sim.dt", Value::boolean(true)), Contains("sim.dt: expected float, got boolean"));
  CHECK_THAT(update_error("sim.seed", Value::string("1")), Contains("sim.seed: expected integer, got string"));
  CHECK_THAT(update_error("record.spikes", Value::integer(1)), Contains("record.spikes: expected boolean, got integer"));
  CHECK_THAT(update_error("sim.backend", Value::integer(3)), Contains("sim.backend: expected string"));
  CHECK_THAT(update_error("sim.dt", Value::array({Value::real(1)})), Contains("sim.dt: expected float, got array"));
  CHECK_THAT(update_error("monitor.nodes", Value::integer(3)), Contains("monitor.nodes: expected array of integer"));
  CHECK_THAT(update_error("monitor.variables", Value::string("v")),
             Contains("monitor.variables: expected array of string"));
}

TEST_CASE("integers are accepted for floats, floats are rejected for integers", "[config][schema]") {
  Config c;
  c.update({{"sim.dt", Value::integer(2)}, {"node.dynamic.tau_m", Value::integer(20)}});
  CHECK(c.value("sim.dt").type == Value::Type::Float);  // normalised to float
  CHECK(c.real("sim.dt") == 2.0);
  CHECK(c.real("node.dynamic.tau_m") == 20.0);
  CHECK_THAT(update_error("sim.seed", Value::real(1.5)), Contains("sim.seed: expected integer, got float"));
  CHECK_THAT(update_error("sim.seed", Value::real(2.0)), Contains("sim.seed: expected integer, got float"));
  CHECK_THAT(update_error("network.n", Value::real(100.0)), Contains("network.n: expected integer"));
  // Through TOML as well.
  CHECK(Config::from_toml("[sim]\ndt = 1\n").real("sim.dt") == 1.0);
  CHECK_THROWS_WITH(Config::from_toml("[sim]\nthreads = 2.0\n"), Contains("sim.threads: expected integer"));
}

TEST_CASE("values out of range are rejected", "[config][schema]") {
  CHECK_THAT(update_error("sim.dt", Value::real(0.0)), Contains("sim.dt = 0 is out of range (0, 1000]"));
  CHECK_THAT(update_error("sim.dt", Value::real(-0.1)), Contains("sim.dt = -0.1 is out of range"));
  CHECK_THAT(update_error("sim.dt", Value::real(1000.5)), Contains("out of range"));
  CHECK(update_error("sim.dt", Value::real(1000.0)) == "(no error)");  // inclusive upper bound
  CHECK_THAT(update_error("sim.threads", Value::integer(-1)), Contains("sim.threads = -1 is out of range [0, 4096]"));
  CHECK_THAT(update_error("sim.threads", Value::integer(5000)), Contains("sim.threads"));
  CHECK_THAT(update_error("node.dynamic.energy_coupling", Value::real(1.5)),
             Contains("node.dynamic.energy_coupling = 1.5 is out of range [0, 1]"));
  CHECK_THAT(update_error("node.dynamic.tau_m", Value::real(0.0)), Contains("node.dynamic.tau_m"));
  CHECK_THAT(update_error("energy.cap", Value::real(-1.0)), Contains("energy.cap"));
  CHECK_THAT(update_error("network.exc_fraction", Value::real(1.01)), Contains("network.exc_fraction"));
  CHECK_THAT(update_error("node.dynamic.poisson_rate", Value::real(-5.0)), Contains("poisson_rate"));
  CHECK_THAT(update_error("sim.dt", Value::real(std::nan(""))), Contains("sim.dt is NaN"));
  CHECK_THAT(update_error("sim.dt", Value::real(std::numeric_limits<double>::infinity())),
             Contains("sim.dt is infinite"));
  CHECK_THAT(update_error("node.dynamic.v_rest", Value::real(-std::numeric_limits<double>::infinity())),
             Contains("infinite"));
  // Negative values are fine where the range allows them.
  CHECK(update_error("node.dynamic.v_rest", Value::real(-70.0)) == "(no error)");
}

TEST_CASE("string choices", "[config][schema]") {
  const std::string msg = update_error("sim.backend", Value::string("opencl"));
  CHECK_THAT(msg, Contains("sim.backend = 'opencl' is not one of 'auto', 'cpu', 'cuda'"));
  CHECK_THAT(update_error("sim.precision", Value::string("float16")), Contains("sim.precision"));
  CHECK_THAT(update_error("network.kind", Value::string("erdos")), Contains("network.kind"));
  Config c;
  c.update({{"sim.backend", Value::string("cpu")}, {"sim.precision", Value::string("float64")}});
  CHECK(c.string("sim.backend") == "cpu");
  CHECK(c.string("sim.precision") == "float64");
  // run.spikes_file is a free string
  c.update({{"run.spikes_file", Value::string("any/path with spaces.bin")}});
  CHECK(c.string("run.spikes_file") == "any/path with spaces.bin");
}

TEST_CASE("arrays and their elements", "[config][schema]") {
  Config c;
  c.update({{"monitor.variables", Value::array({Value::string("v"), Value::string("energy")})},
            {"monitor.nodes", Value::array({Value::integer(0), Value::integer(7)})}});
  CHECK(c.strings("monitor.variables") == std::vector<std::string>{"v", "energy"});
  CHECK(c.integers("monitor.nodes") == std::vector<std::int64_t>{0, 7});
  CHECK_THAT(update_error("monitor.variables", Value::array({Value::string("v"), Value::string("bogus")})),
             Contains("monitor.variables[1] = 'bogus' is not one of"));
  CHECK_THAT(update_error("monitor.nodes", Value::array({Value::integer(0), Value::integer(-1)})),
             Contains("monitor.nodes[1] = -1 is out of range"));
  CHECK_THAT(update_error("monitor.nodes", Value::array({Value::integer(0), Value::real(1.5)})),
             Contains("monitor.nodes[1]: expected integer, got float"));
  CHECK_THAT(update_error("monitor.variables", Value::array({Value::integer(3)})),
             Contains("monitor.variables[0]: expected string"));
  // Empty arrays are fine, and from TOML
  c.update({{"monitor.nodes", Value::array({})}});
  CHECK(c.integers("monitor.nodes").empty());
  const Config t = Config::from_toml("[monitor]\nvariables = [\"v\", \"refractory\"]\nnodes = [1, 2, 3]\n");
  CHECK(t.strings("monitor.variables") == std::vector<std::string>{"v", "refractory"});
  CHECK(t.integers("monitor.nodes") == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("cross-parameter checks", "[config][schema]") {
  CHECK_THAT(update_error("node.dynamic.v_reset", Value::real(1.0)),
             Contains("node.dynamic.v_reset = 1 must be below node.dynamic.threshold = 1"));
  CHECK_THAT(update_error("node.relay.threshold", Value::real(-1.0)), Contains("node.relay.v_reset"));
  CHECK_THAT(update_error("energy.initial", Value::real(6.0)), Contains("energy.initial = 6 exceeds energy.cap = 5"));
  CHECK_THAT(update_error("energy.cap", Value::real(2.0)), Contains("energy.initial = 2.5 exceeds energy.cap = 2"));
  CHECK_THAT(update_error("init.v_min", Value::real(1.0)), Contains("init.v_min = 1 exceeds init.v_max = 0"));
  // Changing both sides of a rule in one update passes: rules apply to the result.
  Config c;
  c.update({{"energy.cap", Value::real(2.0)}, {"energy.initial", Value::real(1.5)}});
  CHECK(c.real("energy.cap") == 2.0);
  c.update({{"node.dynamic.threshold", Value::real(20.0)}, {"node.dynamic.v_reset", Value::real(10.0)}});
  CHECK(c.real("node.dynamic.v_reset") == 10.0);
  c.update({{"init.v_min", Value::real(3.0)}, {"init.v_max", Value::real(3.0)}});  // equal is fine
  // Durations that do not fit the uint16 step counters.
  CHECK_THAT(update_error(FlatTable{{"sim.dt", Value::real(0.001)}, {"node.dynamic.t_ref", Value::real(100.0)}}),
             Contains("node.dynamic.t_ref exceeds 65535 steps"));
  CHECK_THAT(update_error(FlatTable{{"sim.dt", Value::real(0.01)}, {"network.delay", Value::real(1000.0)}}),
             Contains("network.delay exceeds 65535 steps"));
}

TEST_CASE("updates are all-or-nothing", "[config][schema]") {
  Config c;
  c.update({{"sim.seed", Value::integer(5)}});
  const FlatTable before = c.values();
  SECTION("one good and one bad key") {
    const std::string msg =
        update_error(FlatTable{{"node.dynamic.tau_m", Value::real(20.0)}, {"sim.dt", Value::real(-1.0)}}, &c);
    CHECK_THAT(msg, Contains("sim.dt"));
    CHECK(same_values(c.values(), before));
    CHECK(c.real("node.dynamic.tau_m") == 10.0);
  }
  SECTION("good keys and an unknown key") {
    update_error(FlatTable{{"sim.seed", Value::integer(9)}, {"sim.bogus", Value::integer(1)}}, &c);
    CHECK(c.integer("sim.seed") == 5);
  }
  SECTION("each key is fine alone, the cross check fails") {
    update_error(FlatTable{{"energy.initial", Value::real(4.0)}, {"energy.cap", Value::real(3.0)}}, &c);
    CHECK(same_values(c.values(), before));
  }
  SECTION("from_toml leaves nothing half-applied either") {
    CHECK_THROWS_AS(Config::from_toml("[sim]\nseed = 3\ndt = 0\n"), ConfigError);
  }
}

TEST_CASE("an empty update changes nothing, and syntax errors name the source", "[config][schema]") {
  Config c;
  c.update({});
  CHECK(same_values(c.values(), Config().values()));
  CHECK_THAT(update_error("sim.seed", Value::integer(-1)), Contains("sim.seed = -1 is out of range"));
  CHECK_THROWS_AS(Config::from_toml("[sim\ndt = 1.0\n", "broken.toml"), ConfigError);
  CHECK_THROWS_WITH(Config::from_toml("[sim\ndt = 1.0\n", "broken.toml"), Contains("broken.toml:1:"));
}

TEST_CASE("several errors are reported in one message", "[config][schema]") {
  const std::string msg = update_error(FlatTable{{"sim.dt", Value::real(-1.0)},
                                                 {"sim.seed", Value::string("x")},
                                                 {"sim.backendd", Value::string("cpu")},
                                                 {"node.dynamic.energy_coupling", Value::real(2.0)}});
  CHECK_THAT(msg, Contains("configure (test)"));
  CHECK_THAT(msg, Contains("sim.dt"));
  CHECK_THAT(msg, Contains("sim.seed"));
  CHECK_THAT(msg, Contains("unknown key 'sim.backendd'"));
  CHECK_THAT(msg, Contains("node.dynamic.energy_coupling"));
  // Same through TOML, with the source name in the message.
  try {
    Config::from_toml("[sim]\ndt = -1.0\nthreads = -2\n", "my.toml");
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Contains("my.toml"));
    CHECK_THAT(m, Contains("sim.dt"));
    CHECK_THAT(m, Contains("sim.threads"));
  }
}

TEST_CASE("steps() converts ms to whole steps of sim.dt", "[config][schema]") {
  Config c;  // dt = 1 ms
  c.update({{"node.dynamic.t_ref", Value::real(2.4)}, {"node.relay.t_ref", Value::real(2.5)},
            {"node.integrator.t_ref", Value::real(2.6)}, {"node.sensory.t_ref", Value::real(0.4)},
            {"network.delay", Value::real(0.3)}});
  CHECK(c.steps("node.dynamic.t_ref") == 2);
  CHECK(c.steps("node.relay.t_ref") == 3);  // half rounds away from zero
  CHECK(c.steps("node.integrator.t_ref") == 3);
  CHECK(c.steps("node.sensory.t_ref") == 0);
  CHECK(c.steps("node.sensory.t_ref", 1) == 1);  // at least min_steps
  CHECK(c.steps("network.delay", 1) == 1);
  CHECK(c.steps("node.oscillator.period", 1) == 100);
  c.update({{"sim.dt", Value::real(0.1)}});
  CHECK(c.steps("node.oscillator.period") == 1000);
  CHECK(c.steps("node.dynamic.t_ref") == 24);
  CHECK(c.steps("network.delay") == 3);
  c.update({{"sim.dt", Value::real(0.25)}});
  CHECK(c.steps("node.dynamic.tau_m") == 40);
  CHECK_THROWS_AS(c.steps("sim.seed"), ConfigError);  // not a float key
}

TEST_CASE("to_toml round-trips through from_toml", "[config][schema]") {
  Config c;
  c.update({{"sim.dt", Value::real(0.1)},
            {"sim.seed", Value::integer(123456789012345)},
            {"sim.precision", Value::string("float64")},
            {"record.spikes", Value::boolean(false)},
            {"monitor.variables", Value::array({Value::string("v"), Value::string("last_spike")})},
            {"monitor.nodes", Value::array({Value::integer(3), Value::integer(0)})},
            {"monitor.interval", Value::real(1.0 / 3.0)},
            {"node.dynamic.v_rest", Value::real(-65.123456789012345)},
            {"node.dynamic.threshold", Value::real(1e-7)},
            {"node.dynamic.v_reset", Value::real(-1e-300)},
            {"node.dynamic.poisson_rate", Value::real(12345.678)},
            {"node.relay.gain", Value::real(2.0)},
            {"init.v_max", Value::real(5e10)},
            {"run.spikes_file", Value::string("dir/\"quoted\" \\ back\tslash.bin")}});
  const std::string text = c.to_toml();
  INFO(text);
  CHECK_THAT(text, Contains("[sim]"));
  CHECK_THAT(text, Contains("[node.dynamic]"));
  const Config back = Config::from_toml(text, "<to_toml>");
  CHECK(same_values(back.values(), c.values()));
  CHECK(back.to_toml() == text);
  // Defaults round-trip too.
  const Config d;
  CHECK(same_values(Config::from_toml(d.to_toml()).values(), d.values()));
}

TEST_CASE("from_toml_file", "[config][schema]") {
  sgtest::TempDir dir;
  SECTION("missing file -> IoError") {
    CHECK_THROWS_AS(Config::from_toml_file(dir.file("missing.toml")), spikegraph::IoError);
    CHECK_THROWS_WITH(Config::from_toml_file(dir.file("missing.toml")), Contains("missing.toml"));
  }
  SECTION("a file is read and its path is named in errors") {
    const std::string path = dir.file("ok.toml");
    std::ofstream(path) << "[sim]\nseed = 42\n";
    CHECK(Config::from_toml_file(path).integer("sim.seed") == 42);
    const std::string bad = dir.file("bad.toml");
    std::ofstream(bad) << "[sim]\nseedd = 42\n";
    CHECK_THROWS_WITH(Config::from_toml_file(bad), Contains("bad.toml") && Contains("sim.seedd"));
  }
}

TEST_CASE("default_run_toml parses to the documented default run", "[config][schema]") {
  const Config c = Config::from_toml(spikegraph::config::default_run_toml(), "<default run>");
  CHECK(c.string("network.kind") == "default");
  CHECK(c.real("graph.weight_scale") == 0.3);
  CHECK(c.string("sensory.source") == "grating");
  CHECK(c.boolean("energy.enabled"));
  CHECK(c.boolean("learning.enabled"));
  CHECK(c.boolean("homeostasis.enabled"));
  CHECK_FALSE(c.boolean("structure.enabled"));
  CHECK(c.real("learning.a_plus") == 0.005);
  CHECK(c.real("learning.a_minus") == 0.006);
  CHECK(c.real("learning.w_max") == 1.0);
  CHECK(c.real("sim.dt") == 1.0);
  CHECK(c.real("run.duration") == 1000.0);
}

TEST_CASE("schema_markdown lists every key", "[config][schema]") {
  const std::string md = spikegraph::config::schema_markdown();
  CHECK_THAT(md, Contains("| key | type | default"));
  for (const auto& p : spikegraph::config::schema()) {
    INFO(p.key);
    CHECK_THAT(md, Contains("| `" + p.key + "` |"));
  }
  CHECK_THAT(md, Contains("| `sim.dt` | float | `1.0` | (0, 1000] | ms |"));
  CHECK_THAT(md, Contains("auto, cpu, cuda"));
  CHECK_THAT(md, Contains("array of string"));
  // one table row per key plus the two header lines
  std::size_t lines = 0;
  for (char ch : md) lines += ch == '\n';
  CHECK(lines == spikegraph::config::schema().size() + 2);
}
