// spikegraph/sim/simulation.hpp
// The coordinator: owns the configuration, the backend (state) and the services,
// and runs the fixed step pipeline of docs/model.md. Construct it from a graph and a
// validated Config, then call run_steps()/run() repeatedly; read spikes, monitors
// and state between runs. The records, histories, queues and counters belong to the
// services (services/default_services.hpp); the accessors here read them from the
// service registered under that name, and report empty records when that service is
// absent or was replaced by one that does not publish them.
//
// Thread safety: one thread at a time may call a Simulation; the backend uses
// its own worker threads inside run_steps(). Ownership: shares the graph, owns
// everything else.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/graph/builder.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/services/service.hpp"
#include "spikegraph/sensory/frames.hpp"
#include "spikegraph/sim/events.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/state/arrays.hpp"

namespace spikegraph {

namespace io {
class SnapshotWriter;
class SnapshotReader;
}  // namespace io
namespace dist {
class Communicator;
class DistributedBackend;
struct GraphPart;
struct NodePartition;
}  // namespace dist

class Simulation {
 public:
  /// Throws ConfigError/BackendError (for example backend 'cuda' unavailable) or
  /// InputError (monitor nodes out of range).
  Simulation(std::shared_ptr<const Graph> graph, const config::Config& cfg);
  /// The same with the backend built by `make_backend_for` (see BackendFactory).
  Simulation(std::shared_ptr<const Graph> graph, const config::Config& cfg, const BackendFactory& make_backend_for);
  ~Simulation();

  /// A simulation on the ranks of `comm` (spikegraph/dist/communicator.hpp): every
  /// rank calls this with the same whole graph and configuration, and keeps the edges
  /// into the nodes it owns (sim.partition). The results are those of one process,
  /// bit for bit. Every later call that runs steps, reads a membrane variable
  /// (state("v"), ...), reads or writes edge state, or saves is collective: every rank
  /// makes it, in the same order. One rank's error in a step ends the step with an
  /// error on every rank (same class, naming the rank). With one rank this is the
  /// plain constructor. Throws ConfigError for what several ranks cannot run yet
  /// (the CUDA backend).
  static std::unique_ptr<Simulation> distributed(std::shared_ptr<const Graph> graph, const config::Config& cfg,
                                                 std::shared_ptr<dist::Communicator> comm);
  /// The same from this rank's part only (dist::GraphPart: every node, the edges into
  /// the rank's nodes of `partition` and, with the energy flow, out of them; where its
  /// rows lie in the whole graph of `global_edges` edges), for networks no rank could
  /// hold whole.
  static std::unique_ptr<Simulation> distributed(const dist::GraphPart& part, const dist::NodePartition& partition,
                                                 std::uint64_t global_edges, const config::Config& cfg,
                                                 std::shared_ptr<dist::Communicator> comm);
  /// The network of the configuration's [network] section (build_network, with its
  /// initial values) on the ranks of `comm`: for network.kind "brunel" and
  /// "microcircuit" each rank draws only its part (no rank holds the whole graph); the
  /// default network is built whole on every rank and cut.
  static std::unique_ptr<Simulation> distributed(const config::Config& cfg, std::shared_ptr<dist::Communicator> comm);
  /// The network `builder` describes (with its initial values) on the ranks of `comm`,
  /// each rank drawing only its part (NetworkBuilder::build_part; sim.partition "edges"
  /// draws the in-degrees first). In one process: builder.build().
  static std::unique_ptr<Simulation> distributed(const NetworkBuilder& builder, const config::Config& cfg,
                                                 std::shared_ptr<dist::Communicator> comm);
  /// This process's rank and the number of ranks (0 and 1 in one process).
  int rank() const;
  int ranks() const;
  /// The communicator (nullptr for a simulation made without one).
  std::shared_ptr<dist::Communicator> communicator() const { return comm_; }
  /// Steps per spike exchange between ranks: the smallest delay of the graph (at most
  /// kMaxExchangeWindow) when every service takes spikes late (Service::takes_late_spikes,
  /// so not with energy, learning, homeostasis, structure or sensory input), else 1. A
  /// window also ends at the end of each run and where a service needs the spikes
  /// (Service::spikes_due). Always 1 in one process.
  std::int64_t exchange_window() const;
  static constexpr std::int64_t kMaxExchangeWindow = 1000;
  /// Edges of the whole network (graph() holds this rank's part on several ranks).
  std::uint64_t total_edges() const;
  /// The node ids this rank updates, [first, second) (every node in one process).
  std::pair<index_t, index_t> owned_nodes() const;
  /// Whether this rank stores the edge source -> target: the edges into its own nodes
  /// and, with energy on, the out-edges of its own nodes (every edge in one process).
  /// A service that adds edges keeps those; one that counts edges counts those into
  /// owned_nodes() and sums over the communicator's ranks.
  bool stores_edge(index_t source, index_t target) const;
  /// The whole network with its weights now (learned weights, after structure steps),
  /// in the graph's edge order: a new graph the caller shares. Collective on several
  /// ranks, where every rank receives every edge (mind the memory); in one process a
  /// copy of graph() with the current weights.
  std::shared_ptr<const Graph> whole_graph() const;

  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  /// Advance n >= 0 steps. When a service throws, the step still completes (its
  /// other services run; the one that threw does not run again in that step), the
  /// step counter counts it, and then the first exception is rethrown: the
  /// simulation is left between two steps and can be continued or saved.
  void run_steps(std::int64_t n);
  /// Advance round(duration_ms / dt) steps; duration must be finite and >= 0.
  void run(double duration_ms);

  std::int64_t current_step() const { return step_; }
  double dt() const { return dt_; }
  double time_ms() const { return static_cast<double>(step_) * dt_; }

  const config::Config& config() const { return config_; }
  /// The network; on several ranks, every node and this rank's edges (the edges into
  /// its own nodes, in whole-graph order).
  const Graph& graph() const { return *graph_; }
  std::shared_ptr<const Graph> graph_ptr() const { return graph_; }
  Backend& backend() { return *backend_; }
  const Backend& backend() const { return *backend_; }

  /// Change configuration keys between runs (the "configuration" service): every
  /// change is validated against the schema into a copy, and refused whole with a
  /// ConfigError naming the keys when any is unknown, invalid or fixed for a run
  /// (config::live_keys()). Then the backend and every service take the new values;
  /// nothing else changes. Keys set to their current value are no change.
  void update_config(const config::FlatTable& changes);

  const SpikeRecord& spikes() const;
  void clear_spikes();
  const MonitorRecord& monitor() const;
  /// Recorders (RecorderSpec): spikes, state samples or population rates of chosen
  /// nodes, recording from the current step on, bounded by record.horizon or streamed
  /// with record.stream, and part of checkpoints. add_recorder sorts spec.nodes and
  /// throws InputError for a bad definition or a name in use (nothing changes then),
  /// and when the recording service was replaced.
  void add_recorder(RecorderSpec spec);
  void remove_recorder(const std::string& name);
  std::vector<std::string> recorder_names() const;
  /// The recorder named `name`; InputError if there is none.
  const RecorderData& recorder(const std::string& name) const;
  /// Spike counts per node over the whole record.
  std::vector<std::uint64_t> spike_counts() const;

  std::vector<std::string> state_names() const { return backend_->state_names(); }
  /// A host view of a state array (see Backend::state).
  ArrayRef state(const std::string& name) { return backend_->state(name); }
  /// Overwrite a state variable from doubles: checks length and finiteness (and
  /// range for integer variables) before writing anything. Throws InputError.
  void set_state(const std::string& name, const double* values, std::size_t count);

  /// Initial values per variable (NetworkBuilder::initial_state): for each, one value
  /// per node of the network (spare slots after them keep theirs), NaN to keep a
  /// node's value. Everything is checked as by set_state before anything is written.
  void set_initial_state(const std::map<std::string, std::vector<double>>& initial);

  /// Per-edge state (graph edge order): "weight" (the live weights; plastic edges
  /// change), "eligibility" (with learning.rule = "eligibility").
  std::vector<std::string> edge_state_names() const { return backend_->edge_state_names(); }
  /// Read-only use: see Backend::edge_state (invalidated by structure steps). On
  /// several ranks: the whole network's, gathered (collective; valid until the next call).
  ArrayRef edge_state(const std::string& name);
  /// Overwrite every edge weight (graph edge order; on several ranks, the whole
  /// network's): finite, >= 0, one per edge;
  /// checked before anything changes (InputError). The network's graph is not changed.
  void set_weights(const double* weights, std::size_t count);

  /// The last step's energy ledger (step = -1 before the first energy phase) and the
  /// per-step history (when energy.record_ledger).
  const EnergyLedger& ledger() const;
  const std::vector<EnergyLedger>& ledger_history() const;
  void clear_ledger_history();

  /// Homeostasis: synaptic gain, branching ratio and their history.
  const HomeostasisState& homeostasis() const;

  /// The global neuromodulator signal of the three-factor rule (learning.rule =
  /// "eligibility"): every step, w += learning.rate * signal * eligibility. Must be finite.
  void set_neuromodulator(double signal);
  double neuromodulator() const { return neuromodulator_; }

  /// Queue a stimulus for step `stimulus.step` (>= the current step). Checks the
  /// node ids and the value before queueing; throws InputError.
  void schedule_stimulus(Stimulus stimulus);
  /// Stimuli queued and not yet applied.
  std::size_t pending_stimuli() const;
  /// Call `callback` with the events of every chunk (the end of each run_steps call),
  /// on the calling thread. Returns an id for unsubscribe().
  int subscribe(EventCallback callback);
  void unsubscribe(int id);
  /// Take the events collected since the last take or publish (for bindings that
  /// dispatch to their own subscribers). Spikes are collected only while at least
  /// one C++ subscriber exists or collect_spike_events(true) was called.
  EventBatch take_events();
  void collect_spike_events(bool on);

  /// Give a frame (docs/model.md step 1): mapped now to the sensory grid (gray luminance,
  /// area-averaging resample), applied at the next step. Throws InputError for a
  /// network without sensory nodes or a bad frame; nothing changes then.
  void set_frame(const sensory::FrameView& frame);
  /// Sensory grid shape (rows, columns); (0, 0) without sensory nodes.
  int sensory_grid_height() const { return sensory_ ? sensory_->grid_height() : 0; }
  int sensory_grid_width() const { return sensory_ ? sensory_->grid_width() : 0; }
  std::int64_t frames_applied() const { return sensory_ ? sensory_->frames_applied() : 0; }

  /// Give audio (docs/model.md step 1): mono samples at `sample_rate` Hz (full scale
  /// -1..1) are cut into one STFT window per step (sensory.audio_window long, one
  /// step of samples apart), and each window's mel-band values drive the audio
  /// sensory nodes at that step (sensory/audio.hpp). Samples may come in any block
  /// sizes; steps without queued audio leave the audio nodes as they are. Throws
  /// InputError when the network has no audio nodes (sensory.audio_bands = 0), for
  /// a NaN sample or a sample rate that differs from earlier blocks (reset_audio
  /// first); nothing changes then.
  void push_audio(const float* samples, std::size_t count, double sample_rate);
  /// Band vectors queued for the coming steps.
  std::size_t audio_frames_pending() const;
  /// Steps at which audio drove the audio nodes.
  std::int64_t audio_frames_applied() const { return sensory_ ? sensory_->audio_frames_applied() : 0; }
  /// Drop queued audio and buffered samples (the next block may use another rate).
  void reset_audio();

  /// Timing per phase, spikes, synaptic events, memory.
  PerfStats perf() const;
  void reset_perf();

  /// Graph management and analysis (sim/metrics.hpp, graph/analysis.hpp), on the
  /// current graph with the alive flags and learned weights. validate() checks the
  /// graph, the by-target index, dead-node edges and every state array for NaN/inf;
  /// it reports and never throws.
  ValidationReport validate();
  /// Structure metrics of the whole network; analysis_options(config()) gives the
  /// configured options. Collective on several ranks (each gathers the whole graph).
  GraphMetrics graph_metrics(const AnalysisOptions& options);
  /// Rates, branching ratio, energy distribution and ledger totals now.
  ActivityMetrics activity_metrics();
  /// Samples of the "metrics" service (metrics.interval > 0), oldest first.
  const std::vector<MetricsSample>& metrics_history() const;
  void clear_metrics_history();
  /// Energy ledger summed over every completed step with energy.enabled.
  const LedgerTotals& ledger_totals() const;

  /// Checkpoint: write the complete state (configuration, the current graph, every
  /// backend and service state, the step counter, the spike/monitor/ledger/
  /// homeostasis records, pending stimuli, a pending frame) to `path` atomically
  /// (docs/file-formats.md). Throws IoError; an existing file at `path` is then
  /// left as it was.
  void save(const std::string& path) const;
  /// The checkpoint as sections (what save() writes). Collective on several ranks,
  /// where only rank 0's `out` holds the whole checkpoint.
  void save_to(io::SnapshotWriter& out) const;
  /// Rebuild a simulation from a checkpoint: continuing it gives the spikes of the
  /// uninterrupted run, bit for bit. Throws IoError for a missing, truncated,
  /// corrupt or wrong-version file, ConfigError for a configuration this build does
  /// not know. Subscribers, perf counters, the metrics history and services replaced by the embedder
  /// are not part of a checkpoint.
  static std::unique_ptr<Simulation> load(const std::string& path);
  static std::unique_ptr<Simulation> load(const io::SnapshotReader& checkpoint);
  /// The same with the backend built by `make_backend_for` (any backend loads any
  /// backend's checkpoint).
  static std::unique_ptr<Simulation> load(const io::SnapshotReader& checkpoint,
                                          const BackendFactory& make_backend_for);
  /// On the ranks of `comm` (see distributed()): every rank reads the checkpoint and
  /// keeps its part, so a checkpoint written on any number of ranks continues on any
  /// other. save() on several ranks gathers the whole state and rank 0 writes it.
  static std::unique_ptr<Simulation> load(const io::SnapshotReader& checkpoint,
                                          std::shared_ptr<dist::Communicator> comm);

  /// Replace the service registered under service->name(), or add a new one. It
  /// is initialised at once.
  void replace_service(std::unique_ptr<Service> service);
  std::vector<std::string> service_names() const;
  /// The phases the service registered under `name` runs in; InputError if none is.
  std::vector<Phase> service_phases(const std::string& name) const;
  /// The service registered under `name`, or nullptr.
  Service* find_service(const std::string& name) const;
  /// Bytes the services hold in records and histories.
  std::size_t service_memory_bytes() const;

 private:
  // add_spare_nodes = false: `graph` already has them (a checkpoint's graph).
  Simulation(std::shared_ptr<const Graph> graph, const config::Config& cfg, bool add_spare_nodes,
             const BackendFactory& make_backend_for);
  // A simulation of this rank's part of `whole`, cut by sim.partition (add_spare_nodes
  // as for the constructor above).
  static std::unique_ptr<Simulation> make_distributed(std::shared_ptr<const Graph> whole, const config::Config& cfg,
                                                      std::shared_ptr<dist::Communicator> comm, bool add_spare_nodes);
  // A simulation of this rank's part (add_spare_nodes as for the constructor above).
  static std::unique_ptr<Simulation> make_distributed(const dist::GraphPart& part, const dist::NodePartition& partition,
                                                      std::uint64_t global_edges, const config::Config& cfg,
                                                      std::shared_ptr<dist::Communicator> comm, bool add_spare_nodes);
  // Spare slots (structure.spare_nodes) are the last `count` nodes: not alive until born.
  void mark_spare_slots(std::size_t count);
  // The whole network's weights (checked), to the backend (this rank's part of them).
  void set_whole_weights(const std::vector<float>& weights);
  // The whole graph's sections of a checkpoint (gathered on several ranks).
  void save_graph(io::SnapshotWriter& out) const;
  // On several ranks: every rank's edges as one graph, on every rank or on rank 0 only
  // (root_only; nullptr elsewhere), with the graph's stored weights or the current ones.
  std::shared_ptr<const Graph> gather_graph(bool root_only, bool live_weights) const;
  // Reads a checkpoint's sections after the graph into a freshly built `sim`.
  static void restore(Simulation& sim, const io::SnapshotReader& in);
  // The pipeline per phase, and the default services it has (nullptr when absent or
  // replaced by a service of another class).
  void rebuild_pipeline();
  // exchange_window() from the services and the graph, to the backend (no communication).
  void choose_exchange_window();
  // Whether step step_ ends the exchange window that began at `window_start`; `last`
  // when it ends the run.
  bool window_ends(std::int64_t window_start, bool last) const;
  StepContext context();
  // set_state's checks (InputError), without writing.
  void check_state_values(const std::string& name, const double* values, std::size_t count);
  template <class T>
  T* find(const char* name) const {
    return dynamic_cast<T*>(find_service(name));
  }

  std::shared_ptr<const Graph> graph_;
  config::Config config_;
  double dt_;
  std::unique_ptr<Backend> backend_;
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<std::vector<Service*>> pipeline_;  // per phase
  std::int64_t step_ = 0;
  double neuromodulator_ = 0.0;
  EnergyLedger step_ledger_;  // this step's ledger (StepContext::ledger)
  EventBatch spare_batch_;    // StepContext::events while no EventsService is registered
  RecordingService* recording_ = nullptr;
  EnergyService* energy_ = nullptr;
  HomeostasisService* homeostasis_ = nullptr;
  EventsService* events_ = nullptr;
  SensoryService* sensory_ = nullptr;
  GraphService* graph_service_ = nullptr;
  PerformanceService* performance_ = nullptr;
  ConfigurationService* configuration_ = nullptr;
  // On several ranks: the communicator and the backend (also in backend_), and the
  // whole network's edge state of the last edge_state() call.
  std::shared_ptr<dist::Communicator> comm_;
  dist::DistributedBackend* dist_ = nullptr;
  std::vector<float> gathered_edge_state_;
};

}  // namespace spikegraph
