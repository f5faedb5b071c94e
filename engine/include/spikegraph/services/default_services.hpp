// spikegraph/services/default_services.hpp
// The services the Simulation registers. Each keeps its own state (records,
// histories, queues) and writes it to its own checkpoint sections; the Simulation's
// accessors (spikes(), homeostasis(), ledger(), ...) read it from the service
// registered under that name. Embedders may derive from the classes here or
// replace a service with their own (Simulation::replace_service); the accessors
// then report empty state for what the replacement does not publish.
//
// Checkpoint sections: the default services keep the section names checkpoints had
// before services owned their state ("record/...", "homeostasis/...", "events/...",
// "sensory/...", "audio/..."; docs/file-formats.md), so older files still load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/sensory/frames.hpp"
#include "spikegraph/services/service.hpp"
#include "spikegraph/sim/events.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/records.hpp"

namespace spikegraph {

namespace sensory {
class AudioMapper;
}

/// "neural": spike delivery (phase delivery) and neuron update (phase
/// neuron_update) on the backend.
std::unique_ptr<Service> make_neural_service();

/// "learning": STDP / eligibility on plastic edges (phase learning). Registered
/// when learning.enabled.
std::unique_ptr<Service> make_learning_service();

/// "structure": docs/model.md step 7 every structure.interval steps: deaths of dynamic
/// nodes that starved for a whole interval, births into spare node slots, pruning of
/// weak plastic edges, then compaction of the graph. Births and deaths are its ledger
/// entries (transfers, birth_cost) and its events. Registered when structure.enabled.
std::unique_ptr<Service> make_structure_service();

/// Check a recorder's definition (RecorderSpec's rules) against a simulation of
/// `num_nodes` nodes and, when `backend` is given, the variables it allocates.
/// Throws InputError naming the recorder and the problem.
void check_recorder_spec(const RecorderSpec& spec, std::uint64_t num_nodes, const Backend* backend);
/// The kind named `name` ("spikes", "state", "rate") into `kind`; false for another name.
bool parse_recorder_kind(const std::string& name, RecorderKind& kind);

/// "recording": appends each step's spikes to the spike record (if record.spikes),
/// samples the monitor and fills the recorders (phase recording). Owns them all. With record.stream it
/// writes them as chunks (io/record_stream.hpp: "spikes" for the record and the monitor,
/// "recorder.<name>" per recorder) every record.stream_every and keeps only the chunk in
/// progress in memory; otherwise record.horizon bounds them.
class RecordingService : public Service {
 public:
  std::string name() const override { return "recording"; }
  std::vector<Phase> phases() const override { return {Phase::recording}; }
  void configure(const config::Config& cfg) override;
  void initialize(StepContext& ctx) override;
  void run(Phase phase, StepContext& ctx) override;
  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override;
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override;
  std::size_t memory_bytes() const override;
  bool takes_late_spikes() const override { return true; }
  /// The spike record and the spike and rate recorders take the step's spikes.
  void late_spikes(step_t step, const std::vector<index_t>& spikes, StepContext& ctx) override;
  /// A chunk of record.stream is written complete.
  bool spikes_due(step_t step) const override { return !stream_.empty() && (step + 1) % stream_every_ == 0; }

  const SpikeRecord& spikes() const { return spikes_; }
  /// Empty the spike record; it covers the steps from `now` on. (With record.horizon
  /// the record also drops what is older than the horizon as the run goes on.)
  void clear_spikes(std::int64_t now);
  const MonitorRecord& monitor() const { return monitor_; }

  /// Add a recorder (RecorderSpec), recording from step `now` on. `backend` checks its
  /// variables. Throws InputError (bad name, kind, nodes, variables or interval; a
  /// name in use) before anything changes.
  void add_recorder(RecorderSpec spec, std::int64_t now, const Backend& backend, index_t num_nodes);
  /// Drop the recorder named `name` and what it holds; InputError if there is none.
  void remove_recorder(const std::string& name);
  /// The recorders in the order they were added.
  const std::vector<RecorderData>& recorders() const { return recorders_; }
  /// The recorder named `name`; InputError if there is none.
  const RecorderData& recorder(const std::string& name) const;

 private:
  // Per recorder, which nodes it watches: [lo, hi) when its nodes are one contiguous
  // range (found in the sorted spike list by bisection), else a flag per node.
  struct Membership {
    index_t lo = 0, hi = 0;
    std::vector<std::uint8_t> flags;
  };
  static Membership membership(const std::vector<index_t>& nodes, index_t num_nodes);
  // The recorder's records as sections named prefix + "steps", ... (checkpoints, chunks).
  static void add_recorder_data(io::SnapshotWriter& out, const std::string& prefix, const RecorderData& r);
  // A spike or rate recorder takes the spikes of `step`.
  void record_spikes(RecorderData& r, std::size_t index, step_t step, const std::vector<index_t>& spikes);
  void stream_recorders(std::int64_t end_step, index_t num_nodes);
  // Drops what is older than `cutoff` from the state recorders, or from the spike and
  // rate recorders (`spike_kinds`), when due.
  void trim_recorders(std::int64_t cutoff, bool spike_kinds);
  bool record_spikes_ = true;
  RecordHorizon horizon_;
  std::string stream_;            // record.stream ("" = off)
  std::int64_t stream_every_ = 0;  // steps per chunk
  double dt_ = 1.0;
  SpikeRecord spikes_;
  MonitorRecord monitor_;
  std::vector<RecorderData> recorders_;
  std::vector<Membership> members_;  // per recorder
};

/// "energy": spike cost, metabolism, flow every energy.flow_interval steps and the
/// clamp (phase energy); then, after births and deaths (phase recording), it closes
/// the step's ledger: the last ledger, the per-step history (energy.record_ledger)
/// and the totals of the run are its state. With record.stream the per-step ledgers go
/// to "ledger" chunks instead of memory. Registered when energy.enabled.
class EnergyService : public Service {
 public:
  std::string name() const override { return "energy"; }
  std::vector<Phase> phases() const override { return {Phase::energy, Phase::recording}; }
  void configure(const config::Config& cfg) override;
  void run(Phase phase, StepContext& ctx) override;
  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override;
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override;
  std::size_t memory_bytes() const override { return history_.capacity() * sizeof(EnergyLedger); }

  /// The last completed step's ledger (step = -1 before the first).
  const EnergyLedger& last() const { return last_; }
  const std::vector<EnergyLedger>& history() const { return history_; }
  void clear_history() { history_.clear(); }
  const LedgerTotals& totals() const { return totals_; }

 private:
  std::int64_t flow_interval_ = 1;
  bool record_ = true;
  RecordHorizon horizon_;
  std::string stream_;            // record.stream ("" = off)
  std::int64_t stream_every_ = 0;  // steps per chunk
  double dt_ = 1.0;
  std::int64_t chunk_first_ = 0;   // first step of the ledgers not yet streamed
  double after_energy_ = 0.0;  // the total after this step's energy phase
  EnergyLedger last_;
  std::vector<EnergyLedger> history_;
  LedgerTotals totals_;
};

/// "homeostasis": rate estimates every step; every homeostasis.interval steps the
/// thresholds of adapting types and the branching-ratio control of the synaptic gain
/// (phase homeostasis). Owns the gain, the activity window and the history.
/// Registered when homeostasis.enabled.
class HomeostasisService : public Service {
 public:
  std::string name() const override { return "homeostasis"; }
  std::vector<Phase> phases() const override { return {Phase::homeostasis}; }
  void configure(const config::Config& cfg) override;
  void run(Phase phase, StepContext& ctx) override;
  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override;
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override;
  std::size_t memory_bytes() const override;

  const HomeostasisState& state() const { return state_; }

 private:
  std::int64_t interval_ = 10;
  double target_ = 0.98;
  double step_ = 0.01;
  double tolerance_ = 0.0;  // dead band around target_: noise in the estimate does not move the gain
  double gain_min_ = 0.1;
  double gain_max_ = 10.0;
  std::int64_t bin_steps_ = 4;
  std::size_t window_bins_ = 500;
  int max_lag_ = 10;
  double min_quality_ = 0.5;
  RecordHorizon horizon_;
  std::uint8_t counted_[kNodeTypeCount] = {};
  HomeostasisState state_;
};

/// "events": event coordination. Applies the scheduled stimuli of each step (phase
/// delivery, after the neural service), fills the chunk's event batch (stimuli; spikes
/// while someone listens; homeostasis windows: phase recording) and hands it to the
/// subscribers at the end of each run. Owns the queue, the batch and the subscribers.
class EventsService : public Service {
 public:
  std::string name() const override { return "events"; }
  std::vector<Phase> phases() const override { return {Phase::delivery, Phase::recording}; }
  void run(Phase phase, StepContext& ctx) override;
  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override;
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override;
  bool takes_late_spikes() const override { return true; }
  /// The batch takes the step's spikes (while spikes are collected).
  void late_spikes(step_t step, const std::vector<index_t>& spikes, StepContext& ctx) override;

  /// Queue a stimulus (validated by the caller).
  void schedule(Stimulus stimulus);
  std::size_t pending() const { return pending_.size(); }
  int subscribe(EventCallback callback);
  /// False when no subscription has that id.
  bool unsubscribe(int id);
  std::size_t subscribers() const { return subscribers_.size(); }
  /// Collect spikes into the batch (also while nobody subscribes).
  void collect_spikes(bool on) { collect_ = on; }
  /// The batch being filled (StepContext::events).
  EventBatch& batch() { return batch_; }
  /// A run starts at step `now` / ended at step `now`.
  void begin_chunk(std::int64_t now);
  void end_chunk(std::int64_t now) { batch_.end_step = now; }
  /// The events since the last take, and a new empty batch from `now`.
  EventBatch take(std::int64_t now);
  /// Hand the batch to every subscriber (nothing when there are none).
  void publish(std::int64_t now);

 private:
  std::multimap<std::int64_t, Stimulus> pending_;  // by step, in scheduling order per step
  EventBatch batch_;
  std::map<int, EventCallback> subscribers_;
  int next_id_ = 1;
  bool collect_ = false;
  bool collecting_ = false;  // this chunk: collect_ or someone subscribes
};

/// "sensory": docs/model.md step 1 (phase sensory): frames given with set_frame, or the
/// built-in moving grating every sensory.interval steps (sensory.source), set the drive
/// and energy of the visual sensory nodes; queued audio drives the audio nodes. The
/// energy change is the ledger's inflow (its one writer). Owns the pending frame and
/// the audio queue. Registered when the graph has sensory nodes.
class SensoryService : public Service {
 public:
  SensoryService();
  ~SensoryService() override;
  std::string name() const override { return "sensory"; }
  std::vector<Phase> phases() const override { return {Phase::sensory}; }
  void configure(const config::Config& cfg) override;
  void initialize(StepContext& ctx) override;
  void run(Phase phase, StepContext& ctx) override;
  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override;
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override;

  /// Sensory grid shape (rows, columns); (0, 0) without visual sensory nodes.
  int grid_height() const { return grid_height_; }
  int grid_width() const { return grid_width_; }
  /// Map a frame to the grid now (Simulation::set_frame); applied at the next step.
  void set_frame(const sensory::FrameView& frame, int threads);
  std::int64_t frames_applied() const { return frames_applied_; }
  /// Audio input (Simulation::push_audio and friends).
  void push_audio(const float* samples, std::size_t count, double sample_rate);
  std::size_t audio_frames_pending() const;
  std::int64_t audio_frames_applied() const { return audio_frames_applied_; }
  void reset_audio();

 private:
  double apply(StepContext& ctx, const std::vector<index_t>& nodes, const float* values) const;

  std::int64_t interval_ = 5;
  double gain_ = 2.0, cap_ = 5.0, dt_ = 1.0;
  double audio_window_ms_ = 25.0, audio_fmin_ = 0.0, audio_fmax_ = 0.0, audio_floor_db_ = -80.0;
  bool source_grating_ = true;  // sensory.source == "grating"
  bool grating_ = true;         // the grating drives the grid (until frames are given)
  std::size_t audio_bands_ = 0;
  sensory::GratingParams params_;
  std::vector<index_t> nodes_;        // the visual grid, row-major
  std::vector<index_t> audio_nodes_;  // one per mel band, lowest band first
  std::vector<float> grating_gray_, bands_;
  int grid_height_ = 0, grid_width_ = 0;
  std::vector<float> gray_;  // the pending frame's gray values, one per visual node
  bool pending_ = false;
  std::int64_t frames_applied_ = 0;
  std::shared_ptr<sensory::AudioMapper> audio_;
  std::int64_t audio_frames_applied_ = 0;
};

/// "graph": graph management. Validation, structure and activity metrics of the
/// current graph and state (Simulation::validate, graph_metrics, activity_metrics),
/// and every metrics.interval ms (phase recording) a MetricsSample in its history.
/// (Compaction after births and deaths is the structure service's.)
class GraphService : public Service {
 public:
  std::string name() const override { return "graph"; }
  std::vector<Phase> phases() const override { return {Phase::recording}; }
  void configure(const config::Config& cfg) override;
  void run(Phase phase, StepContext& ctx) override;
  std::size_t memory_bytes() const override { return history_.capacity() * sizeof(MetricsSample); }
  /// It reads the spike record, complete, at its sample steps.
  bool takes_late_spikes() const override { return true; }
  bool spikes_due(step_t step) const override { return interval_ > 0 && (step + 1) % interval_ == 0; }

  ValidationReport validate(Backend& backend, const Graph& graph, const config::Config& cfg) const;
  /// The structure metrics of the whole network (collective on several ranks: the
  /// ranks' parts are gathered).
  GraphMetrics metrics(const Simulation& sim, Backend& backend, const Graph& graph, const config::Config& cfg,
                       const AnalysisOptions& options) const;
  /// Activity after `end_step` steps, from the simulation's published records.
  ActivityMetrics activity(Backend& backend, const Graph& graph, const config::Config& cfg, const Simulation& sim,
                           std::int64_t end_step) const;
  const std::vector<MetricsSample>& history() const { return history_; }
  void clear_history() { history_.clear(); }

 private:
  std::int64_t interval_ = 0;  // steps; 0: no samples
  bool structure_ = false;
  RecordHorizon horizon_;
  AnalysisOptions options_;
  std::vector<MetricsSample> history_;
};

/// "performance": performance monitoring. Wall time per phase and per run (given by
/// the coordinator, which alone sees the phase boundaries), spikes and synaptic
/// events per step (phase recording), memory and host/device traffic.
class PerformanceService : public Service {
 public:
  std::string name() const override { return "performance"; }
  std::vector<Phase> phases() const override { return {Phase::recording}; }
  void initialize(StepContext& ctx) override;
  void run(Phase phase, StepContext& ctx) override;
  bool takes_late_spikes() const override { return true; }
  /// Counts the step's spikes.
  void late_spikes(step_t step, const std::vector<index_t>& spikes, StepContext& ctx) override;

  void add_phase_time(Phase phase, double seconds) { phase_seconds_[static_cast<int>(phase)] += seconds; }
  void add_run_time(double seconds) { run_seconds_ += seconds; }
  /// The counters; `ran[p]` says whether phase p has services.
  PerfStats stats(const Simulation& sim, const std::vector<bool>& ran) const;
  void reset(const Backend& backend);

 private:
  double run_seconds_ = 0.0;
  std::vector<double> phase_seconds_ = std::vector<double>(static_cast<int>(Phase::count), 0.0);
  std::uint64_t spikes_ = 0;
  std::uint64_t events_ = 0;
  std::int64_t steps_ = 0;
  TransferStats transfers_at_reset_;
};

/// "configuration": the schema's policy for changes during a run. A change is
/// validated against the schema and its cross-key rules into a copy and refused whole
/// when any key is not one the schema marks changeable during a run (ParamSpec::live);
/// Simulation::update_config then hands the new configuration to the backend and to
/// every service, between two steps.
class ConfigurationService : public Service {
 public:
  std::string name() const override { return "configuration"; }
  std::vector<Phase> phases() const override { return {}; }
  void run(Phase, StepContext&) override {}
  /// The configuration `current` with `changes` applied, or ConfigError naming every
  /// key that is unknown, invalid or not changeable during a run.
  virtual config::Config change(const config::Config& current, const config::FlatTable& changes) const;
};

}  // namespace spikegraph
