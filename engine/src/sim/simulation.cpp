#include "spikegraph/sim/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <sstream>

#include "spikegraph/core/error.hpp"
#include "spikegraph/services/default_services.hpp"

namespace spikegraph {

namespace {
constexpr int kPhases = static_cast<int>(Phase::count);
const char* const kPhaseNames[kPhases] = {"sensory", "delivery", "neuron_update", "energy",
                                          "learning", "homeostasis", "structure", "recording"};
}  // namespace

const char* phase_name(Phase p) {
  const int i = static_cast<int>(p);
  return i >= 0 && i < kPhases ? kPhaseNames[i] : "unknown";
}

Simulation::Simulation(std::shared_ptr<const Graph> graph, const config::Config& cfg)
    : Simulation(std::move(graph), cfg, true, BackendFactory{}) {}

Simulation::Simulation(std::shared_ptr<const Graph> graph, const config::Config& cfg,
                       const BackendFactory& make_backend_for)
    : Simulation(std::move(graph), cfg, true, make_backend_for) {}

Simulation::Simulation(std::shared_ptr<const Graph> graph, const config::Config& cfg, bool add_spare_nodes,
                       const BackendFactory& make_backend_for)
    : graph_(std::move(graph)), config_(cfg), dt_(cfg.real("sim.dt")) {
  if (!graph_) throw InputError("Simulation: graph is null");
  const std::int64_t spare =
      add_spare_nodes && config_.boolean("structure.enabled") ? config_.integer("structure.spare_nodes") : 0;
  if (spare > 0) graph_ = with_spare_nodes(*graph_, static_cast<std::size_t>(spare));
  backend_ = make_backend_for ? make_backend_for(*graph_, config_)
                              : make_backend(config_.string("sim.backend"), *graph_, config_);
  if (!backend_) throw BackendError("Simulation: the backend factory returned no backend");
  phase_seconds_.assign(kPhases, 0.0);
  const auto& types = graph_->node_type();
  if (std::find(types.begin(), types.end(), static_cast<std::uint8_t>(NodeType::sensory)) != types.end()) {
    services_.push_back(make_sensory_service());
  }
  services_.push_back(make_neural_service());
  services_.push_back(make_events_service());
  if (config_.boolean("energy.enabled")) services_.push_back(make_energy_service());
  if (config_.boolean("learning.enabled")) services_.push_back(make_learning_service());
  if (config_.boolean("homeostasis.enabled")) services_.push_back(make_homeostasis_service());
  if (config_.boolean("structure.enabled")) services_.push_back(make_structure_service());
  services_.push_back(make_recording_service());
  if (config_.real("metrics.interval") > 0.0) services_.push_back(make_metrics_service());
  StepContext ctx = context();
  for (auto& s : services_) s->initialize(ctx);
  rebuild_pipeline();
  if (spare > 0) {
    // Spare slots exist but are not alive until a birth fills them.
    ArrayRef alive = backend_->state("alive");
    auto* flags = static_cast<std::uint8_t*>(alive.data);
    for (std::size_t i = alive.size - static_cast<std::size_t>(spare); i < alive.size; ++i) flags[i] = 0;
  }
  transfers_at_reset_ = backend_->transfers();  // perf counts the traffic of steps, not of the upload
}

Simulation::~Simulation() = default;

StepContext Simulation::context() {
  return StepContext{step_,           *backend_, *graph_,         config_,      spike_record_,
                     monitor_record_, ledger_,   ledger_history_, homeostasis_, events_,
                     graph_,          sensory_,  ledger_totals_,  metrics_history_};
}

void Simulation::rebuild_pipeline() {
  pipeline_.assign(kPhases, {});
  for (auto& s : services_) {
    for (Phase p : s->phases()) pipeline_[static_cast<int>(p)].push_back(s.get());
  }
}

void Simulation::replace_service(std::unique_ptr<Service> service) {
  if (!service) throw InputError("replace_service: service is null");
  StepContext ctx = context();
  service->initialize(ctx);  // may throw: nothing has changed yet
  for (auto& s : services_) {
    if (s->name() == service->name()) {
      s = std::move(service);
      rebuild_pipeline();
      return;
    }
  }
  services_.push_back(std::move(service));
  rebuild_pipeline();
}

std::vector<Phase> Simulation::service_phases(const std::string& name) const {
  for (const auto& s : services_) {
    if (s->name() == name) return s->phases();
  }
  throw InputError("service_phases: no service named '" + name + "'");
}

std::vector<std::string> Simulation::service_names() const {
  std::vector<std::string> names;
  for (const auto& s : services_) names.push_back(s->name());
  return names;
}

void Simulation::run_steps(std::int64_t n) {
  if (n < 0) throw InputError("run: number of steps must be >= 0, got " + std::to_string(n));
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  // The events service collects spikes only while someone listens.
  events_.collect_spikes = collect_spikes_ || !events_.subscribers.empty();
  if (events_.batch.end_step == events_.batch.first_step) events_.batch.first_step = step_;
  // However the run ends, its time and the event batch cover the steps that ran
  // (subscribers' callbacks are not part of the run's time).
  struct Finish {
    Simulation& sim;
    clock::time_point start;
    bool done = false;
    void record() {
      if (done) return;
      done = true;
      sim.run_seconds_ += std::chrono::duration<double>(clock::now() - start).count();
      sim.events_.batch.end_step = sim.step_;
    }
    ~Finish() { record(); }
  } finish{*this, start};
  for (std::int64_t k = 0; k < n; ++k) {
    backend_->begin_step(step_);
    // A service that throws does not stop the step half-way: the other services
    // complete it, then the first error is rethrown (the simulation stays between steps).
    std::exception_ptr failure;
    const Service* failed = nullptr;
    for (int p = 0; p < kPhases; ++p) {
      if (pipeline_[p].empty()) continue;
      const auto t0 = clock::now();
      StepContext ctx = context();  // per phase: the structure phase may install a new graph
      for (Service* s : pipeline_[p]) {
        if (s == failed) continue;
        try {
          s->run(static_cast<Phase>(p), ctx);
        } catch (...) {
          if (!failure) {
            failure = std::current_exception();
            failed = s;
          }
        }
      }
      phase_seconds_[p] += std::chrono::duration<double>(clock::now() - t0).count();
    }
    // This step's ledger (the energy phase, then births and deaths) into the run's totals.
    if (ledger_.step == step_ && !pipeline_[static_cast<int>(Phase::energy)].empty()) ledger_totals_.add(ledger_);
    spike_total_ += backend_->spikes().size();
    event_total_ += backend_->last_synaptic_events();
    ++step_;
    ++perf_steps_;
    if (failure) std::rethrow_exception(failure);
  }
  finish.record();
  publish_events();
}

void Simulation::publish_events() {
  if (events_.subscribers.empty()) return;
  const EventBatch batch = take_events();
  for (const auto& [id, callback] : events_.subscribers) callback(batch);
}

EventBatch Simulation::take_events() {
  EventBatch out = std::move(events_.batch);
  events_.batch = EventBatch{};
  events_.batch.first_step = step_;
  events_.batch.end_step = step_;
  out.end_step = step_;
  return out;
}

void Simulation::schedule_stimulus(Stimulus stimulus) {
  const std::string op = "schedule_stimulus";
  if (stimulus.step < step_) {
    throw InputError(op + ": step " + std::to_string(stimulus.step) + " is in the past (the simulation is at step " +
                     std::to_string(step_) + ")");
  }
  if (!std::isfinite(stimulus.value)) throw InputError(op + ": value must be finite");
  const index_t n = graph_->num_nodes();
  for (std::size_t k = 0; k < stimulus.nodes.size(); ++k) {
    if (stimulus.nodes[k] >= n) {
      throw InputError(op + ": nodes[" + std::to_string(k) + "] = " + std::to_string(stimulus.nodes[k]) +
                       " is out of range [0, " + std::to_string(n) + ")");
    }
  }
  const std::int64_t at = stimulus.step;
  events_.pending.emplace(at, std::move(stimulus));
}

int Simulation::subscribe(EventCallback callback) {
  if (!callback) throw InputError("subscribe: callback is empty");
  const int id = events_.next_id++;
  events_.subscribers.emplace(id, std::move(callback));
  return id;
}

void Simulation::unsubscribe(int id) {
  if (id <= 0 || events_.subscribers.erase(id) == 0) {
    throw InputError("unsubscribe: no subscription with id " + std::to_string(id));
  }
}

void Simulation::run(double duration_ms) {
  const double steps = duration_ms / dt_;
  if (!std::isfinite(duration_ms) || duration_ms < 0.0 || steps > 4.0e18) {
    std::ostringstream os;
    os << "run: duration must be finite, >= 0 and at most 4e18 steps of " << dt_ << " ms, got "
       << duration_ms << " ms";
    throw InputError(os.str());
  }
  run_steps(std::llround(steps));
}

const SpikeRecord& Simulation::spikes() const { return spike_record_; }
void Simulation::clear_spikes() {
  spike_record_.clear();
  spike_record_.start_step = step_;
}
const MonitorRecord& Simulation::monitor() const { return monitor_record_; }

std::vector<std::uint64_t> Simulation::spike_counts() const {
  std::vector<std::uint64_t> c(graph_->num_nodes(), 0);
  for (index_t node : spike_record_.nodes) ++c[node];
  return c;
}

void Simulation::set_state(const std::string& name, const double* values, std::size_t count) {
  ArrayRef a = backend_->state(name);
  const std::string op = "set_state('" + name + "')";
  if (count != a.size) {
    throw InputError(op + ": expected " + std::to_string(a.size) + " values, got " + std::to_string(count));
  }
  const bool is_int = a.dtype != DType::f32 && a.dtype != DType::f64;
  double lo = -std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::max();
  switch (a.dtype) {
    case DType::u8: lo = 0; hi = 255; break;
    case DType::u16: lo = 0; hi = 65535; break;
    case DType::i32: lo = -2147483648.0; hi = 2147483647.0; break;
    case DType::u32: lo = 0; hi = 4294967295.0; break;
    case DType::i64: lo = -9.2e18; hi = 9.2e18; break;
    case DType::u64: lo = 0; hi = 1.8e19; break;
    case DType::f32: lo = -3.4e38; hi = 3.4e38; break;
    default: break;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const double x = values[i];
    if (!std::isfinite(x)) {
      std::ostringstream os;
      os << op << ": value[" << i << "] = " << x << " is not finite";
      throw InputError(os.str());
    }
    if (x < lo || x > hi || (is_int && x != std::floor(x))) {
      std::ostringstream os;
      os << op << ": value[" << i << "] = " << x << " does not fit " << dtype_name(a.dtype);
      throw InputError(os.str());
    }
  }
  for (std::size_t i = 0; i < count; ++i) write_element(a, i, values[i]);
  backend_->state_written(name);
}

void Simulation::set_frame(const sensory::FrameView& frame) {
  if (sensory_.grid_height == 0) throw InputError("set_frame: the network has no sensory nodes");
  std::vector<float> gray(static_cast<std::size_t>(sensory_.grid_height) * sensory_.grid_width);
  std::vector<float> drive(gray.size());
  // One thread maps a 1080p frame in under a millisecond; waking a team only pays for
  // much larger frames (and costs far more on a busy machine).
  const double pixels = static_cast<double>(frame.height) * static_cast<double>(frame.width);
  sensory::map_frame(frame, sensory_.grid_height, sensory_.grid_width, 1.0f, gray.data(), drive.data(),
                     pixels > 8.0e6 ? backend_->threads() : 1);
  sensory_.gray.swap(gray);
  sensory_.pending = true;
}

void Simulation::set_weights(const double* weights, std::size_t count) {
  const std::size_t m = graph_->num_edges();
  if (count != m) {
    throw InputError("set_weights: expected " + std::to_string(m) + " weights, got " + std::to_string(count));
  }
  std::vector<float> w(m);
  for (std::size_t e = 0; e < m; ++e) {
    if (!std::isfinite(weights[e]) || weights[e] < 0.0 || weights[e] > 3.0e38) {
      std::ostringstream os;
      os << "set_weights: weights[" << e << "] = " << weights[e] << " must be finite and >= 0";
      throw InputError(os.str());
    }
    w[e] = static_cast<float>(weights[e]);
  }
  backend_->set_weights(w.data(), m);
}

void Simulation::set_neuromodulator(double signal) {
  if (!std::isfinite(signal)) {
    std::ostringstream os;
    os << "set_neuromodulator: the signal must be finite, got " << signal;
    throw InputError(os.str());
  }
  neuromodulator_ = signal;
  backend_->set_neuromodulator(signal);
}

PerfStats Simulation::perf() const {
  PerfStats p;
  p.steps = perf_steps_;
  p.seconds_total = run_seconds_;
  for (int i = 0; i < kPhases; ++i) {
    if (pipeline_[i].empty()) continue;
    p.phase_names.emplace_back(kPhaseNames[i]);
    p.phase_seconds.push_back(phase_seconds_[i]);
  }
  p.spikes = spike_total_;
  p.synaptic_events = event_total_;
  p.graph_bytes = graph_->memory_bytes();
  p.state_bytes = backend_->memory_bytes();
  p.record_bytes = spike_record_.steps.capacity() * sizeof(std::int64_t) +
                   spike_record_.nodes.capacity() * sizeof(index_t);
  for (const auto& v : monitor_record_.values) p.record_bytes += v.capacity() * sizeof(double);
  p.record_bytes += ledger_history_.capacity() * sizeof(EnergyLedger);
  const TransferStats t = backend_->transfers();
  p.bytes_to_host = t.to_host_bytes - transfers_at_reset_.to_host_bytes;
  p.bytes_to_device = t.to_device_bytes - transfers_at_reset_.to_device_bytes;
  return p;
}

void Simulation::reset_perf() {
  phase_seconds_.assign(kPhases, 0.0);
  run_seconds_ = 0.0;
  spike_total_ = 0;
  event_total_ = 0;
  perf_steps_ = 0;
  transfers_at_reset_ = backend_->transfers();
}

}  // namespace spikegraph
