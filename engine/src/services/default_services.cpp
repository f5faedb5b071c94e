#include "spikegraph/services/default_services.hpp"

#include <string>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
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

double read_as_double(const ArrayRef& a, std::size_t i) {
  switch (a.dtype) {
    case DType::f32: return static_cast<const float*>(a.data)[i];
    case DType::f64: return static_cast<const double*>(a.data)[i];
    case DType::u8: return static_cast<const std::uint8_t*>(a.data)[i];
    case DType::u16: return static_cast<const std::uint16_t*>(a.data)[i];
    case DType::i32: return static_cast<const std::int32_t*>(a.data)[i];
    case DType::i64: return static_cast<double>(static_cast<const std::int64_t*>(a.data)[i]);
    case DType::u32: return static_cast<const std::uint32_t*>(a.data)[i];
    case DType::u64: return static_cast<double>(static_cast<const std::uint64_t*>(a.data)[i]);
  }
  return 0.0;
}

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
        for (index_t node : m.nodes) m.values[v].push_back(read_as_double(a, node));
      }
    }
  }

 private:
  bool record_spikes_ = true;
};

}  // namespace

std::unique_ptr<Service> make_neural_service() { return std::make_unique<NeuralService>(); }
std::unique_ptr<Service> make_recording_service() { return std::make_unique<RecordingService>(); }

}  // namespace spikegraph
