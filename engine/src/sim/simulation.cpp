#include "spikegraph/sim/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <set>
#include <sstream>

#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/sim/model_params.hpp"
#include "../dist/distributed_backend.hpp"

namespace spikegraph {

namespace {
constexpr int kPhases = static_cast<int>(Phase::count);

// Per-node Poisson rates the backends can draw from (backend/poisson_tables.hpp): >= 0,
// a mean per step the tables hold, at most kMaxPoissonRates distinct values besides 0.
void check_poisson_rates(const std::string& op, const double* rates, std::size_t count, double dt) {
  std::set<double> distinct;
  double highest = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    if (rates[i] < 0.0) {
      throw InputError(op + ": value[" + std::to_string(i) + "] = " + std::to_string(rates[i]) + " is negative");
    }
    highest = std::max(highest, rates[i]);
    if (rates[i] > 0.0) distinct.insert(rates[i]);
  }
  if (distinct.size() > kMaxPoissonRates) {
    throw InputError(op + ": more than " + std::to_string(kMaxPoissonRates) + " distinct rates");
  }
  try {
    poisson_cdf_table(highest * dt * 1e-3);
  } catch (const ConfigError& e) {
    throw InputError(op + ": " + e.what());
  }
}
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
  const auto& types = graph_->node_type();
  if (std::find(types.begin(), types.end(), static_cast<std::uint8_t>(NodeType::sensory)) != types.end()) {
    services_.push_back(std::make_unique<SensoryService>());
  }
  services_.push_back(make_neural_service());
  services_.push_back(std::make_unique<EventsService>());
  if (config_.boolean("energy.enabled")) services_.push_back(std::make_unique<EnergyService>());
  if (config_.boolean("learning.enabled")) services_.push_back(make_learning_service());
  if (config_.boolean("homeostasis.enabled")) services_.push_back(std::make_unique<HomeostasisService>());
  if (config_.boolean("structure.enabled")) services_.push_back(make_structure_service());
  services_.push_back(std::make_unique<RecordingService>());
  services_.push_back(std::make_unique<GraphService>());
  services_.push_back(std::make_unique<PerformanceService>());
  services_.push_back(std::make_unique<ConfigurationService>());
  rebuild_pipeline();
  StepContext ctx = context();
  for (auto& s : services_) {
    s->configure(config_);
    s->initialize(ctx);
  }
  mark_spare_slots(static_cast<std::size_t>(spare));
  if (performance_) performance_->reset(*backend_);  // perf counts the traffic of steps, not of the upload
}

void Simulation::mark_spare_slots(std::size_t count) {
  if (count == 0) return;
  ArrayRef alive = backend_->state("alive");
  auto* flags = static_cast<std::uint8_t*>(alive.data);
  for (std::size_t i = alive.size - count; i < alive.size; ++i) flags[i] = 0;
}

Simulation::~Simulation() = default;

StepContext Simulation::context() {
  EventBatch& batch = events_ ? events_->batch() : spare_batch_;
  return StepContext{step_, *backend_, *graph_, config_, step_ledger_, batch, graph_, *this};
}

Service* Simulation::find_service(const std::string& name) const {
  for (const auto& s : services_) {
    if (s->name() == name) return s.get();
  }
  return nullptr;
}

void Simulation::rebuild_pipeline() {
  pipeline_.assign(kPhases, {});
  for (auto& s : services_) {
    for (Phase p : s->phases()) pipeline_[static_cast<int>(p)].push_back(s.get());
  }
  recording_ = find<RecordingService>("recording");
  energy_ = find<EnergyService>("energy");
  homeostasis_ = find<HomeostasisService>("homeostasis");
  events_ = find<EventsService>("events");
  sensory_ = find<SensoryService>("sensory");
  graph_service_ = find<GraphService>("graph");
  performance_ = find<PerformanceService>("performance");
  configuration_ = find<ConfigurationService>("configuration");
  choose_exchange_window();
}

std::int64_t Simulation::exchange_window() const { return dist_ ? dist_->exchange_window() : 1; }

void Simulation::choose_exchange_window() {
  if (!dist_) return;
  std::int64_t window = 1;
  bool late_ok = comm_ && comm_->size() > 1;
  for (const auto& s : services_) late_ok = late_ok && (s->phases().empty() || s->takes_late_spikes());
  if (late_ok) {
    window = static_cast<std::int64_t>(
        std::min<std::uint64_t>(dist_->min_delay_steps(), static_cast<std::uint64_t>(kMaxExchangeWindow)));
  }
  dist_->set_exchange_window(window);
}

bool Simulation::window_ends(std::int64_t window_start, bool last) const {
  const std::int64_t window = exchange_window();
  if (window == 1 || last || step_ + 1 - window_start >= window) return true;
  for (const auto& s : services_) {
    if (s->spikes_due(step_)) return true;
  }
  return false;
}

void Simulation::replace_service(std::unique_ptr<Service> service) {
  if (!service) throw InputError("replace_service: service is null");
  StepContext ctx = context();
  service->configure(config_);
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
  if (const Service* s = find_service(name)) return s->phases();
  throw InputError("service_phases: no service named '" + name + "'");
}

std::vector<std::string> Simulation::service_names() const {
  std::vector<std::string> names;
  for (const auto& s : services_) names.push_back(s->name());
  return names;
}

std::size_t Simulation::service_memory_bytes() const {
  std::size_t bytes = 0;
  for (const auto& s : services_) bytes += s->memory_bytes();
  return bytes;
}

void Simulation::update_config(const config::FlatTable& changes) {
  if (!configuration_) {
    throw ConfigError("update_config: the configuration service was replaced by one that cannot change the "
                      "configuration");
  }
  const config::Config next = configuration_->change(config_, changes);  // validated; throws, nothing changed
  backend_->configure(next);  // may throw ConfigError: nothing has changed yet
  config_ = next;
  for (auto& s : services_) s->configure(config_);
}

void Simulation::run_steps(std::int64_t n) {
  if (n < 0) throw InputError("run: number of steps must be >= 0, got " + std::to_string(n));
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  if (events_) events_->begin_chunk(step_);
  // However the run ends, its time and the event batch cover the steps that ran
  // (subscribers' callbacks are not part of the run's time).
  struct Finish {
    Simulation& sim;
    clock::time_point start;
    bool done = false;
    void record() {
      if (done) return;
      done = true;
      if (sim.performance_) sim.performance_->add_run_time(std::chrono::duration<double>(clock::now() - start).count());
      if (sim.events_) sim.events_->end_chunk(sim.step_);
    }
    ~Finish() { record(); }
  } finish{*this, start};
  // A service that throws does not stop the step half-way: the other services
  // complete it, then the first error is rethrown (the simulation stays between steps).
  // Within an exchange window the other steps of the window complete too: every rank
  // takes part in the window's exchange, and the error comes at its end.
  std::exception_ptr failure;
  std::int64_t window_start = step_;
  for (std::int64_t k = 0; k < n; ++k) {
    const bool window_end = window_ends(window_start, k + 1 == n);
    if (dist_) dist_->set_window_end(window_end);
    backend_->begin_step(step_);
    step_ledger_ = EnergyLedger{};
    step_ledger_.step = step_;
    const Service* failed = nullptr;
    for (int p = 0; p < kPhases; ++p) {
      if (pipeline_[p].empty()) continue;
      const auto t0 = clock::now();
      StepContext ctx = context();  // per phase: the structure phase may install a new graph
      ctx.spikes_late = !window_end;
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
      if (static_cast<Phase>(p) == Phase::neuron_update && window_end && dist_) {
        // The window's exchange happened in the neuron update: its earlier steps' spikes
        // to the services, oldest first.
        for (const auto& held : dist_->late_spikes()) {
          for (const auto& s : services_) {
            if (s.get() == failed || s->phases().empty()) continue;
            try {
              s->late_spikes(held.step, held.nodes, ctx);
            } catch (...) {
              if (!failure) {
                failure = std::current_exception();
                failed = s.get();
              }
            }
          }
        }
      }
      if (performance_) {
        performance_->add_phase_time(static_cast<Phase>(p), std::chrono::duration<double>(clock::now() - t0).count());
      }
    }
    ++step_;
    if (!window_end) continue;
    window_start = step_;
    // On several ranks every rank learns of any rank's error (and throws it) here.
    if (comm_) comm_->agree(failure);
    if (failure) std::rethrow_exception(failure);
  }
  finish.record();
  if (events_) events_->publish(step_);
}

EventBatch Simulation::take_events() {
  if (!events_) return EventBatch{};
  return events_->take(step_);
}

void Simulation::schedule_stimulus(Stimulus stimulus) {
  const std::string op = "schedule_stimulus";
  if (!events_) throw InputError(op + ": the events service was replaced");
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
  events_->schedule(std::move(stimulus));
}

std::size_t Simulation::pending_stimuli() const { return events_ ? events_->pending() : 0; }

int Simulation::subscribe(EventCallback callback) {
  if (!callback) throw InputError("subscribe: callback is empty");
  if (!events_) throw InputError("subscribe: the events service was replaced");
  return events_->subscribe(std::move(callback));
}

void Simulation::unsubscribe(int id) {
  if (id <= 0 || !events_ || !events_->unsubscribe(id)) {
    throw InputError("unsubscribe: no subscription with id " + std::to_string(id));
  }
}

void Simulation::collect_spike_events(bool on) {
  if (events_) events_->collect_spikes(on);
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

namespace {
// What the accessors report while the service that owns a record is absent.
const SpikeRecord kNoSpikes;
const MonitorRecord kNoMonitor;
const EnergyLedger kNoLedger;
const std::vector<EnergyLedger> kNoLedgers;
const LedgerTotals kNoTotals;
const HomeostasisState kNoHomeostasis;
const std::vector<MetricsSample> kNoSamples;
}  // namespace

const SpikeRecord& Simulation::spikes() const { return recording_ ? recording_->spikes() : kNoSpikes; }
void Simulation::clear_spikes() {
  if (recording_) recording_->clear_spikes(step_);
}
void Simulation::add_recorder(RecorderSpec spec) {
  if (!recording_) throw InputError("add_recorder: the recording service was replaced");
  recording_->add_recorder(std::move(spec), step_, *backend_, graph_->num_nodes());
}

void Simulation::remove_recorder(const std::string& name) {
  if (!recording_) throw InputError("no recorder named '" + name + "'");
  recording_->remove_recorder(name);
}

std::vector<std::string> Simulation::recorder_names() const {
  std::vector<std::string> out;
  if (recording_) {
    for (const auto& r : recording_->recorders()) out.push_back(r.spec.name);
  }
  return out;
}

const RecorderData& Simulation::recorder(const std::string& name) const {
  if (!recording_) throw InputError("no recorder named '" + name + "'");
  return recording_->recorder(name);
}

const MonitorRecord& Simulation::monitor() const { return recording_ ? recording_->monitor() : kNoMonitor; }

std::vector<std::uint64_t> Simulation::spike_counts() const {
  std::vector<std::uint64_t> c(graph_->num_nodes(), 0);
  for (index_t node : spikes().nodes) ++c[node];
  return c;
}

const EnergyLedger& Simulation::ledger() const { return energy_ ? energy_->last() : kNoLedger; }
const std::vector<EnergyLedger>& Simulation::ledger_history() const {
  return energy_ ? energy_->history() : kNoLedgers;
}
void Simulation::clear_ledger_history() {
  if (energy_) energy_->clear_history();
}
const LedgerTotals& Simulation::ledger_totals() const { return energy_ ? energy_->totals() : kNoTotals; }
const HomeostasisState& Simulation::homeostasis() const {
  return homeostasis_ ? homeostasis_->state() : kNoHomeostasis;
}
const std::vector<MetricsSample>& Simulation::metrics_history() const {
  return graph_service_ ? graph_service_->history() : kNoSamples;
}
void Simulation::clear_metrics_history() {
  if (graph_service_) graph_service_->clear_history();
}

ValidationReport Simulation::validate() {
  GraphService fallback;
  return (graph_service_ ? *graph_service_ : fallback).validate(*backend_, *graph_, config_);
}

GraphMetrics Simulation::graph_metrics(const AnalysisOptions& options) {
  GraphService fallback;
  return (graph_service_ ? *graph_service_ : fallback).metrics(*this, *backend_, *graph_, config_, options);
}

ActivityMetrics Simulation::activity_metrics() {
  GraphService fallback;
  return (graph_service_ ? *graph_service_ : fallback).activity(*backend_, *graph_, config_, *this, step_);
}

namespace {
// Write checked values into a state array and tell the backend.
void write_state(Backend& backend, const std::string& name, const double* values, std::size_t count) {
  const ArrayRef a = backend.state(name);
  for (std::size_t i = 0; i < count; ++i) write_element(a, i, values[i]);
  backend.state_written(name);
}
}  // namespace

void Simulation::set_state(const std::string& name, const double* values, std::size_t count) {
  check_state_values(name, values, count);
  write_state(*backend_, name, values, count);
}

void Simulation::set_initial_state(const std::map<std::string, std::vector<double>>& initial) {
  // Every variable's full array first (NaN: keep the current value), checked; then written.
  std::vector<std::pair<std::string, std::vector<double>>> full;
  for (const auto& [name, values] : initial) {
    const ArrayRef a = backend_->state(name);
    if (values.size() > a.size) {
      throw InputError("set_initial_state('" + name + "'): " + std::to_string(values.size()) +
                       " values for a simulation of " + std::to_string(a.size) + " nodes");
    }
    std::vector<double> v(a.size);
    for (std::size_t i = 0; i < a.size; ++i) {
      v[i] = i < values.size() && !std::isnan(values[i]) ? values[i] : read_element(a, i);
    }
    check_state_values(name, v.data(), v.size());
    full.emplace_back(name, std::move(v));
  }
  for (const auto& [name, v] : full) write_state(*backend_, name, v.data(), v.size());
}

void Simulation::check_state_values(const std::string& name, const double* values, std::size_t count) {
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
  if (name == "poisson_rate") check_poisson_rates(op, values, count, dt_);
}

void Simulation::set_frame(const sensory::FrameView& frame) {
  if (!sensory_) throw InputError("set_frame: the network has no sensory nodes");
  sensory_->set_frame(frame, backend_->threads());
}

void Simulation::push_audio(const float* samples, std::size_t count, double sample_rate) {
  if (!sensory_) throw InputError("push_audio: the network has no audio sensory nodes (set sensory.audio_bands)");
  sensory_->push_audio(samples, count, sample_rate);
}

std::size_t Simulation::audio_frames_pending() const { return sensory_ ? sensory_->audio_frames_pending() : 0; }

void Simulation::reset_audio() {
  if (sensory_) sensory_->reset_audio();
}

void Simulation::set_weights(const double* weights, std::size_t count) {
  const auto m = static_cast<std::size_t>(total_edges());
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
  set_whole_weights(w);
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
  if (!performance_) return PerfStats{};
  std::vector<bool> ran(kPhases);
  for (int i = 0; i < kPhases; ++i) ran[static_cast<std::size_t>(i)] = !pipeline_[i].empty();
  return performance_->stats(*this, ran);
}

void Simulation::reset_perf() {
  if (performance_) performance_->reset(*backend_);
}

}  // namespace spikegraph
