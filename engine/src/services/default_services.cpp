#include "spikegraph/services/default_services.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/sim/branching.hpp"
#include "spikegraph/sim/events.hpp"
#include "spikegraph/sim/records.hpp"

namespace spikegraph {

namespace {

class NeuralService final : public Service {
 public:
  std::string name() const override { return "neural"; }
  std::vector<Phase> phases() const override { return {Phase::delivery, Phase::neuron_update}; }
  void run(Phase phase, StepContext& ctx) override {
    if (phase == Phase::delivery) {
      ctx.backend.deliver(ctx.step);
    } else {
      ctx.backend.update_neurons(ctx.step);
    }
  }
};

class RecordingService final : public Service {
 public:
  std::string name() const override { return "recording"; }
  std::vector<Phase> phases() const override { return {Phase::recording}; }

  void initialize(StepContext& ctx) override {
    record_spikes_ = ctx.config.boolean("record.spikes");
    MonitorRecord& m = ctx.monitor_record;
    m.variables = ctx.config.strings("monitor.variables");
    m.nodes.clear();
    const index_t n = ctx.graph.num_nodes();
    for (std::int64_t id : ctx.config.integers("monitor.nodes")) {
      if (id < 0 || id >= static_cast<std::int64_t>(n)) {
        throw InputError("monitor: node " + std::to_string(id) + " is out of range [0, " +
                         std::to_string(n) + ")");
      }
      m.nodes.push_back(static_cast<index_t>(id));
    }
    m.every_steps = ctx.config.steps("monitor.interval", 1);
    m.values.assign(m.variables.size(), {});
    m.steps.clear();
  }

  void run(Phase, StepContext& ctx) override {
    const auto& spikes = ctx.backend.spikes();
    if (record_spikes_ && !spikes.empty()) {
      SpikeRecord& r = ctx.spike_record;
      r.steps.insert(r.steps.end(), spikes.size(), ctx.step);
      r.nodes.insert(r.nodes.end(), spikes.begin(), spikes.end());
    }
    MonitorRecord& m = ctx.monitor_record;
    if (!m.variables.empty() && !m.nodes.empty() && ctx.step % m.every_steps == 0) {
      m.steps.push_back(ctx.step);
      for (std::size_t v = 0; v < m.variables.size(); ++v) {
        const ArrayRef a = ctx.backend.state(m.variables[v]);
        for (index_t node : m.nodes) m.values[v].push_back(read_element(a, node));
      }
    }
  }

 private:
  bool record_spikes_ = true;
};

class EnergyService final : public Service {
 public:
  std::string name() const override { return "energy"; }
  std::vector<Phase> phases() const override { return {Phase::energy}; }
  void initialize(StepContext& ctx) override {
    flow_interval_ = ctx.config.integer("energy.flow_interval");
    record_ = ctx.config.boolean("energy.record_ledger");
  }
  void run(Phase, StepContext& ctx) override {
    EnergyLedger ledger;
    ledger.step = ctx.step;
    ctx.backend.update_energy(ctx.step, ctx.step % flow_interval_ == 0, ledger);
    // The sensory phase of this step already changed the sensory energies: that is the
    // inflow, part of what update_energy found at its start.
    if (ctx.ledger.step == ctx.step) {
      ledger.inflow = ctx.ledger.inflow;
      ledger.total_before -= ledger.inflow;
    }
    ctx.ledger = ledger;
    if (record_) ctx.ledger_history.push_back(ledger);
  }

 private:
  std::int64_t flow_interval_ = 1;
  bool record_ = true;
};

class LearningService final : public Service {
 public:
  std::string name() const override { return "learning"; }
  std::vector<Phase> phases() const override { return {Phase::learning}; }
  void run(Phase, StepContext& ctx) override { ctx.backend.update_learning(ctx.step); }
};

class HomeostasisService final : public Service {
 public:
  std::string name() const override { return "homeostasis"; }
  std::vector<Phase> phases() const override { return {Phase::homeostasis}; }
  void initialize(StepContext& ctx) override {
    interval_ = ctx.config.integer("homeostasis.interval");
    target_ = ctx.config.real("homeostasis.target_branching");
    step_ = ctx.config.real("homeostasis.gain_step");
    bin_steps_ = ctx.config.steps("homeostasis.bin", 1);
    window_bins_ = static_cast<std::size_t>(std::max<std::int64_t>(1, ctx.config.steps("homeostasis.window", 1) /
                                                                          bin_steps_));
    max_lag_ = static_cast<int>(ctx.config.integer("homeostasis.max_lag"));
    min_quality_ = ctx.config.real("homeostasis.min_fit_quality");
    for (int t = 0; t < kNodeTypeCount; ++t) counted_[t] = kNodeTypes[t].ignores_input ? 0 : 1;
  }
  void run(Phase, StepContext& ctx) override {
    ctx.backend.update_rates(ctx.step);
    HomeostasisState& h = ctx.homeostasis;
    // The activity the branching ratio is estimated from: spikes of input-driven nodes.
    const auto& types = ctx.graph.node_type();
    for (index_t node : ctx.backend.spikes()) h.bin_spikes += counted_[types[node]];
    if ((ctx.step + 1) % bin_steps_ == 0) {
      h.activity.push_back(static_cast<double>(h.bin_spikes));
      if (h.activity.size() > window_bins_) h.activity.erase(h.activity.begin());
      h.bin_spikes = 0;
    }
    if ((ctx.step + 1) % interval_ != 0) return;
    ctx.backend.adapt_thresholds();
    // The branching ratio of the window by multistep regression; the gain moves toward
    // the target by one step when the fit is good enough to tell (otherwise, e.g. for
    // unconnected nodes whose slopes are all noise around 0, it stays).
    const BranchingEstimate e = estimate_branching(h.activity.data(), h.activity.size(), max_lag_);
    h.branching_ratio = e.m;
    h.branching_amplitude = e.amplitude;
    h.branching_quality = e.quality;
    if (std::isfinite(e.m) && e.quality >= min_quality_ && e.amplitude > 0.0) {
      if (e.m > target_) {
        h.synaptic_gain *= 1.0 - step_;
      } else if (e.m < target_) {
        h.synaptic_gain *= 1.0 + step_;
      }
      h.synaptic_gain = std::min(10.0, std::max(0.1, h.synaptic_gain));
      ctx.backend.set_synaptic_gain(h.synaptic_gain);
    }
    ++h.updates;
    h.steps.push_back(ctx.step);
    h.branching.push_back(e.m);
    h.amplitudes.push_back(e.amplitude);
    h.qualities.push_back(e.quality);
    h.gains.push_back(h.synaptic_gain);
  }

 private:
  std::int64_t interval_ = 10;
  double target_ = 0.98;
  double step_ = 0.01;
  std::int64_t bin_steps_ = 4;
  std::size_t window_bins_ = 500;
  int max_lag_ = 10;
  double min_quality_ = 0.5;
  std::uint8_t counted_[kNodeTypeCount] = {};
};

class EventsService final : public Service {
 public:
  std::string name() const override { return "events"; }
  std::vector<Phase> phases() const override { return {Phase::delivery, Phase::recording}; }
  void run(Phase phase, StepContext& ctx) override {
    EventState& ev = ctx.events;
    if (phase == Phase::delivery) {
      auto range = ev.pending.equal_range(ctx.step);
      for (auto it = range.first; it != range.second; ++it) {
        const Stimulus& s = it->second;
        if (s.kind == Stimulus::Kind::input) {
          ctx.backend.add_input(ctx.step, s.nodes.data(), s.nodes.size(), s.value);
        } else {
          ctx.backend.change_drive(s.nodes.data(), s.nodes.size(), s.value, s.kind == Stimulus::Kind::add_drive);
        }
        ev.batch.stimuli.push_back(s);
      }
      ev.pending.erase(range.first, range.second);
      return;
    }
    if (ev.collect_spikes) {
      const auto& spikes = ctx.backend.spikes();
      ev.batch.spike_steps.insert(ev.batch.spike_steps.end(), spikes.size(), ctx.step);
      ev.batch.spike_nodes.insert(ev.batch.spike_nodes.end(), spikes.begin(), spikes.end());
    }
    const HomeostasisState& h = ctx.homeostasis;
    if (!h.steps.empty() && h.steps.back() == ctx.step) {
      ev.batch.homeostasis.push_back(HomeostasisEvent{ctx.step, h.branching.back(), h.gains.back()});
    }
  }
};

}  // namespace

std::unique_ptr<Service> make_events_service() { return std::make_unique<EventsService>(); }

std::unique_ptr<Service> make_energy_service() { return std::make_unique<EnergyService>(); }
std::unique_ptr<Service> make_learning_service() { return std::make_unique<LearningService>(); }
std::unique_ptr<Service> make_homeostasis_service() { return std::make_unique<HomeostasisService>(); }

std::unique_ptr<Service> make_neural_service() { return std::make_unique<NeuralService>(); }
std::unique_ptr<Service> make_recording_service() { return std::make_unique<RecordingService>(); }

}  // namespace spikegraph
