// The "performance" service: performance monitoring (Simulation::perf). The
// coordinator gives it the wall time of each phase and run; it counts spikes and
// synaptic events itself every step, and reads memory and traffic when asked.
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph {

void PerformanceService::initialize(StepContext& ctx) { reset(ctx.backend); }

void PerformanceService::run(Phase, StepContext& ctx) {
  if (!ctx.spikes_late) spikes_ += ctx.backend.spikes().size();
  events_ += ctx.backend.last_synaptic_events();
  ++steps_;
}

void PerformanceService::late_spikes(step_t, const std::vector<index_t>& spikes, StepContext&) {
  spikes_ += spikes.size();
}

PerfStats PerformanceService::stats(const Simulation& sim, const std::vector<bool>& ran) const {
  PerfStats p;
  p.steps = steps_;
  p.seconds_total = run_seconds_;
  for (int i = 0; i < static_cast<int>(Phase::count); ++i) {
    if (!ran[static_cast<std::size_t>(i)]) continue;
    p.phase_names.emplace_back(phase_name(static_cast<Phase>(i)));
    p.phase_seconds.push_back(phase_seconds_[static_cast<std::size_t>(i)]);
  }
  p.spikes = spikes_;
  p.synaptic_events = events_;
  p.graph_bytes = sim.graph().memory_bytes();
  const Backend& backend = sim.backend();
  p.state_bytes = backend.memory_bytes();
  p.record_bytes = sim.service_memory_bytes();
  const TransferStats t = backend.transfers();
  p.bytes_to_host = t.to_host_bytes - transfers_at_reset_.to_host_bytes;
  p.bytes_to_device = t.to_device_bytes - transfers_at_reset_.to_device_bytes;
  return p;
}

void PerformanceService::reset(const Backend& backend) {
  phase_seconds_.assign(static_cast<std::size_t>(Phase::count), 0.0);
  run_seconds_ = 0.0;
  spikes_ = 0;
  events_ = 0;
  steps_ = 0;
  transfers_at_reset_ = backend.transfers();  // perf counts the traffic of steps, not of the upload
}

}  // namespace spikegraph
