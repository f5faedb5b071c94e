// Services: the coordinator calls each service once per step per phase, in the
// fixed phase order of docs/model.md; services can be added and replaced.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/services/service.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using spikegraph::Phase;
using spikegraph::Service;
using spikegraph::Simulation;
using spikegraph::StepContext;
using sgtest::sim_config;

namespace {

constexpr int kPhaseCount = static_cast<int>(Phase::count);

struct Call {
  std::int64_t step;
  Phase phase;
  std::string who;
};

// Logs every call; declares its phases in reverse order to show that the
// coordinator orders by phase, not by declaration.
class Logger final : public Service {
 public:
  Logger(std::string name, std::vector<Call>* log, int* inits) : name_(std::move(name)), log_(log), inits_(inits) {}
  std::string name() const override { return name_; }
  std::vector<Phase> phases() const override {
    std::vector<Phase> p;
    for (int i = kPhaseCount - 1; i >= 0; --i) p.push_back(static_cast<Phase>(i));
    return p;
  }
  void initialize(StepContext&) override { ++*inits_; }
  void run(Phase phase, StepContext& ctx) override { log_->push_back(Call{ctx.step, phase, name_}); }

 private:
  std::string name_;
  std::vector<Call>* log_;
  int* inits_;
};

// A replacement "recording" service that keeps its own copy of the spikes.
class MyRecorder final : public Service {
 public:
  explicit MyRecorder(spikegraph::SpikeRecord* out) : out_(out) {}
  std::string name() const override { return "recording"; }
  std::vector<Phase> phases() const override { return {Phase::recording}; }
  void run(Phase, StepContext& ctx) override {
    for (auto n : ctx.backend.spikes()) {
      out_->steps.push_back(ctx.step);
      out_->nodes.push_back(n);
    }
  }

 private:
  spikegraph::SpikeRecord* out_;
};

class FailingInit final : public Service {
 public:
  std::string name() const override { return "recording"; }
  std::vector<Phase> phases() const override { return {Phase::recording}; }
  void initialize(StepContext&) override { throw spikegraph::InputError("FailingInit: no"); }
  void run(Phase, StepContext&) override {}
};

class ThrowAt final : public Service {
 public:
  explicit ThrowAt(std::int64_t step) : step_(step) {}
  std::string name() const override { return "throw_at"; }
  std::vector<Phase> phases() const override { return {Phase::energy}; }
  void run(Phase, StepContext& ctx) override {
    if (ctx.step == step_) throw spikegraph::InputError("ThrowAt: step " + std::to_string(step_));
  }

 private:
  std::int64_t step_;
};

const char* const kActive = "[node.dynamic]\npoisson_rate = 400.0\npoisson_weight = 0.35\n";

std::shared_ptr<const spikegraph::Graph> graph() {
  spikegraph::BrunelParams p;
  p.n = 100;
  p.k_in = 5;
  p.j = 0.05;
  p.delay_steps = 2;
  return spikegraph::make_brunel(p);
}

}  // namespace

TEST_CASE("phase names", "[sim][services]") {
  const std::vector<std::string> expect{"sensory", "delivery", "neuron_update", "energy",
                                        "learning", "homeostasis", "structure", "recording"};
  REQUIRE(kPhaseCount == 8);
  for (int i = 0; i < kPhaseCount; ++i) CHECK(spikegraph::phase_name(static_cast<Phase>(i)) == expect[i]);
  CHECK(std::string(spikegraph::phase_name(Phase::count)) == "unknown");
}

TEST_CASE("an added service runs once per step per phase, in phase order", "[sim][services]") {
  Simulation sim(graph(), sim_config(kActive));
  CHECK(sim.service_names() == std::vector<std::string>{"neural", "events", "recording", "graph", "performance", "configuration"});
  std::vector<Call> log;
  int inits = 0;
  sim.run_steps(2);  // before adding: nothing logged
  sim.replace_service(std::make_unique<Logger>("logger", &log, &inits));
  CHECK(inits == 1);  // initialised at once
  CHECK(sim.service_names() == std::vector<std::string>{"neural", "events", "recording", "graph", "performance", "configuration", "logger"});
  CHECK(log.empty());
  sim.run_steps(3);
  REQUIRE(log.size() == 3 * kPhaseCount);
  for (int s = 0; s < 3; ++s) {
    for (int p = 0; p < kPhaseCount; ++p) {
      const Call& c = log[static_cast<std::size_t>(s * kPhaseCount + p)];
      INFO("call " << s * kPhaseCount + p);
      CHECK(c.step == 2 + s);
      CHECK(c.phase == static_cast<Phase>(p));
    }
  }
  CHECK(inits == 1);
  // Every phase now has a service, so every phase is timed.
  CHECK(sim.perf().phase_names.size() == static_cast<std::size_t>(kPhaseCount));
  // Two services in the same phases run in registration order.
  std::vector<Call> log2;
  int inits2 = 0;
  sim.replace_service(std::make_unique<Logger>("second", &log2, &inits2));
  log.clear();
  std::vector<Call> merged;
  // Use one shared log to see the interleaving.
  sim.replace_service(std::make_unique<Logger>("logger", &merged, &inits));
  sim.replace_service(std::make_unique<Logger>("second", &merged, &inits2));
  CHECK(sim.service_names() == std::vector<std::string>{"neural", "events", "recording", "graph", "performance", "configuration", "logger", "second"});
  sim.run_steps(1);
  REQUIRE(merged.size() == 2 * kPhaseCount);
  for (int p = 0; p < kPhaseCount; ++p) {
    CHECK(merged[static_cast<std::size_t>(2 * p)].who == "logger");
    CHECK(merged[static_cast<std::size_t>(2 * p + 1)].who == "second");
    CHECK(merged[static_cast<std::size_t>(2 * p)].phase == static_cast<Phase>(p));
  }
  CHECK(log.empty());   // the replaced logger is gone
  CHECK(log2.empty());  // so is the first "second"
}

TEST_CASE("replacing the recording service", "[sim][services]") {
  auto g = graph();
  Simulation reference(g, sim_config(kActive));
  Simulation sim(g, sim_config(kActive));
  spikegraph::SpikeRecord mine;
  sim.replace_service(std::make_unique<MyRecorder>(&mine));
  CHECK(sim.service_names() == std::vector<std::string>{"neural", "events", "recording", "graph", "performance", "configuration"});
  reference.run_steps(80);
  sim.run_steps(80);
  REQUIRE(reference.spikes().size() > 20);
  CHECK(sim.spikes().size() == 0);  // the default recorder is gone
  CHECK(mine.steps == reference.spikes().steps);
  CHECK(mine.nodes == reference.spikes().nodes);
  CHECK(sim.perf().spikes == reference.spikes().size());  // the coordinator still counts
}

TEST_CASE("a replacement whose initialize throws changes nothing", "[sim][services]") {
  Simulation sim(graph(), sim_config(kActive));
  CHECK_THROWS_AS(sim.replace_service(std::make_unique<FailingInit>()), spikegraph::InputError);
  CHECK(sim.service_names() == std::vector<std::string>{"neural", "events", "recording", "graph", "performance", "configuration"});
  sim.run_steps(80);
  CHECK(sim.spikes().size() > 0);  // the default recorder still works
  CHECK_THROWS_AS(sim.replace_service(nullptr), spikegraph::InputError);
}

TEST_CASE("an exception in a service ends the run after its step completes", "[sim][services]") {
  Simulation sim(graph(), sim_config(kActive));
  Simulation same(graph(), sim_config(kActive));
  sim.replace_service(std::make_unique<ThrowAt>(3));
  CHECK_THROWS_WITH(sim.run_steps(10), Catch::Contains("ThrowAt: step 3"));
  // Step 3 completed without the service that threw: the simulation is between steps.
  CHECK(sim.current_step() == 4);
  same.run_steps(4);
  CHECK(sim.spikes().nodes == same.spikes().nodes);
  CHECK(sgtest::state_of(sim, "v") == sgtest::state_of(same, "v"));
  // And it continues like a simulation that never failed.
  sim.run_steps(20);
  same.run_steps(20);
  CHECK(sim.spikes().nodes == same.spikes().nodes);
  CHECK(sim.spikes().steps == same.spikes().steps);
  CHECK(sim.service_phases("neural") == std::vector<spikegraph::Phase>{spikegraph::Phase::delivery, spikegraph::Phase::neuron_update});
  CHECK_THROWS_AS(sim.service_phases("nonexistent"), spikegraph::InputError);
}

TEST_CASE("replacing the neural service stops the dynamics", "[sim][services]") {
  class Frozen final : public Service {
   public:
    std::string name() const override { return "neural"; }
    std::vector<Phase> phases() const override { return {}; }
    void run(Phase, StepContext&) override {}
  };
  Simulation sim(graph(), sim_config(kActive));
  const auto v0 = sgtest::state_of(sim, "v");
  sim.replace_service(std::make_unique<Frozen>());
  sim.run_steps(20);
  CHECK(sim.current_step() == 20);
  CHECK(sgtest::state_of(sim, "v") == v0);
  CHECK(sim.spikes().size() == 0);
  CHECK(sim.perf().phase_names == std::vector<std::string>{"delivery", "recording"});
}

// Spikes are counted and recorded only at steps where the neuron update ran.
TEST_CASE("no phantom spikes after the neural service is replaced", "[sim][services]") {
  class Frozen final : public Service {
   public:
    std::string name() const override { return "neural"; }
    std::vector<Phase> phases() const override { return {}; }
    void run(Phase, StepContext&) override {}
  };
  Simulation sim(graph(), sim_config(kActive));
  // Run until the last step had spikes.
  for (int i = 0; i < 200 && (sim.spikes().size() == 0 || sim.spikes().steps.back() != sim.current_step() - 1); ++i) {
    sim.run_steps(1);
  }
  REQUIRE(sim.spikes().size() > 0);
  REQUIRE(sim.spikes().steps.back() == sim.current_step() - 1);
  const std::size_t recorded = sim.spikes().size();
  const auto counted = sim.perf().spikes;
  const std::int64_t at = sim.current_step();
  sim.replace_service(std::make_unique<Frozen>());
  sim.run_steps(5);
  CHECK(sim.current_step() == at + 5);
  CHECK(sim.spikes().size() == recorded);
  CHECK(sim.perf().spikes == counted);
}

TEST_CASE("update_config: live keys change between runs, everything else is refused whole", "[sim][services][config]") {
  auto cfg = spikegraph::config::Config::from_toml(spikegraph::config::default_run_toml(), "<default run>");
  cfg.update({{"graph.sensory_side", spikegraph::config::Value::integer(6)},
              {"graph.workspace_side", spikegraph::config::Value::integer(3)}});
  const auto graph = spikegraph::make_network(cfg);
  Simulation sim(graph, cfg);
  sim.run_steps(50);
  const double gain_step = cfg.real("homeostasis.gain_step");
  // A fixed key (with a live one beside it): refused, nothing changes.
  const auto live = spikegraph::config::Value::real(0.05);
  CHECK_THROWS_WITH(sim.update_config({{"homeostasis.gain_step", live}, {"sim.dt", spikegraph::config::Value::real(0.5)}}),
                    Catch::Contains("sim.dt is fixed for a run"));
  CHECK(sim.config().real("homeostasis.gain_step") == gain_step);
  // Unknown keys and bad values: the schema's errors, nothing changes.
  CHECK_THROWS_WITH(sim.update_config({{"learning.a_plsu", live}}), Catch::Contains("learning.a_plus"));
  CHECK_THROWS_AS(sim.update_config({{"learning.a_plus", spikegraph::config::Value::real(-1.0)}}),
                  spikegraph::ConfigError);
  // A fixed key set to its current value is no change.
  sim.update_config({{"sim.dt", spikegraph::config::Value::real(cfg.real("sim.dt"))}, {"homeostasis.gain_step", live}});
  CHECK(sim.config().real("homeostasis.gain_step") == 0.05);

  // A live change reaches the backend from the next step: a run whose dynamic nodes
  // get a shorter membrane time constant departs from one that keeps it, not before.
  Simulation a(graph, cfg), b(graph, cfg);
  a.run_steps(100);
  b.run_steps(100);
  REQUIRE(a.spikes().nodes == b.spikes().nodes);
  a.update_config({{"node.dynamic.tau_m", spikegraph::config::Value::real(4.0)}});
  b.update_config({{"node.dynamic.tau_m", spikegraph::config::Value::real(cfg.real("node.dynamic.tau_m"))}});
  a.run_steps(200);
  b.run_steps(200);
  CHECK(a.config().real("node.dynamic.tau_m") == 4.0);
  CHECK(a.spikes().nodes != b.spikes().nodes);
  // ... and the services: the grating stops when sensory.source becomes "none".
  const auto frames = a.frames_applied();
  a.update_config({{"sensory.source", spikegraph::config::Value::string("none")}});
  a.run_steps(50);
  CHECK(a.frames_applied() == frames);
  a.update_config({{"sensory.source", spikegraph::config::Value::string("grating")}});
  a.run_steps(50);
  CHECK(a.frames_applied() > frames);
}
