// Simulation::save / Simulation::load: what a checkpoint holds and how a
// simulation is rebuilt from one (the container is io/snapshot). The counter-based
// random numbers are keyed by (seed, stream, element, step), so the step counter
// and the seed in the configuration are the whole "RNG position".
#include <cmath>
#include <limits>
#include <iterator>
#include <sstream>

#include "spikegraph/core/error.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sensory/audio.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/version.hpp"

namespace spikegraph {

namespace {

// The double fields of the ledger records, in file order: one list serves saving and
// loading. A per-step ledger is stored as its step (as a double) then these fields.
constexpr double EnergyLedger::*kLedgerDoubles[] = {
    &EnergyLedger::total_before, &EnergyLedger::inflow,  &EnergyLedger::spike_cost,
    &EnergyLedger::metabolism,   &EnergyLedger::flow_out, &EnergyLedger::flow_in,
    &EnergyLedger::overflow,     &EnergyLedger::transfers, &EnergyLedger::total_after};
constexpr std::size_t kLedgerFields = 1 + std::size(kLedgerDoubles);
constexpr double LedgerTotals::*kTotalsDoubles[] = {
    &LedgerTotals::initial_total, &LedgerTotals::inflow,   &LedgerTotals::spike_cost,
    &LedgerTotals::metabolism,    &LedgerTotals::flow_out, &LedgerTotals::flow_in,
    &LedgerTotals::overflow,      &LedgerTotals::transfers, &LedgerTotals::final_total};

void put_ledger(const EnergyLedger& l, std::vector<double>& out) {
  out.push_back(static_cast<double>(l.step));
  for (auto field : kLedgerDoubles) out.push_back(l.*field);
}

EnergyLedger get_ledger(const double* f) {
  EnergyLedger l;
  l.step = static_cast<std::int64_t>(f[0]);
  for (std::size_t k = 0; k < std::size(kLedgerDoubles); ++k) l.*kLedgerDoubles[k] = f[1 + k];
  return l;
}

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += s + "\n";
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

[[noreturn]] void corrupt(const io::SnapshotReader& in, const std::string& what) {
  throw IoError("load checkpoint '" + in.source() + "': " + what + " (corrupt)");
}

}  // namespace

void Simulation::save(const std::string& path) const {
  io::SnapshotWriter out;
  save_to(out);
  out.write(path);
}

void Simulation::save_to(io::SnapshotWriter& out) const {
  out.add_text("meta/engine_version", version());
  out.add_text("config", config_.to_toml());
  out.add_scalar("sim/step", step_);
  out.add_scalar("sim/neuromodulator", neuromodulator_);
  // The current graph (after structure steps; with its spare slots).
  const Graph& g = *graph_;
  out.add_scalar("graph/num_nodes", static_cast<std::uint64_t>(g.num_nodes()));
  out.add("graph/node_type", g.node_type());
  out.add("graph/out_offsets", g.out_offsets());
  out.add("graph/edge_target", g.edge_target());
  out.add("graph/edge_weight", g.edge_weight());
  out.add("graph/edge_delay", g.edge_delay());
  out.add("graph/edge_kind", g.edge_kind());
  out.add("graph/edge_plastic", g.edge_plastic());
  backend_->save_state(out);
  // Records.
  out.add("record/spike_steps", spike_record_.steps);
  out.add("record/spike_nodes", spike_record_.nodes);
  out.add_scalar("record/spike_start_step", spike_record_.start_step);
  const LedgerTotals& lt = ledger_totals_;
  out.add_scalar("record/ledger_total_steps", lt.steps);
  std::vector<double> totals;
  for (auto field : kTotalsDoubles) totals.push_back(lt.*field);
  out.add("record/ledger_totals", totals);
  out.add_text("record/monitor_variables", join_lines(monitor_record_.variables));
  out.add("record/monitor_nodes", monitor_record_.nodes);
  out.add_scalar("record/monitor_every", monitor_record_.every_steps);
  out.add("record/monitor_steps", monitor_record_.steps);
  std::vector<double> values;
  for (const auto& v : monitor_record_.values) values.insert(values.end(), v.begin(), v.end());
  out.add("record/monitor_values", values);
  std::vector<double> ledgers;
  put_ledger(ledger_, ledgers);
  for (const auto& l : ledger_history_) put_ledger(l, ledgers);
  out.add("record/ledgers", ledgers);
  const HomeostasisState& h = homeostasis_;
  out.add_scalar("homeostasis/synaptic_gain", h.synaptic_gain);
  out.add("homeostasis/activity", h.activity);
  out.add_scalar("homeostasis/bin_spikes", h.bin_spikes);
  out.add_scalar("homeostasis/branching_ratio", h.branching_ratio);
  out.add_scalar("homeostasis/branching_amplitude", h.branching_amplitude);
  out.add_scalar("homeostasis/branching_quality", h.branching_quality);
  out.add_scalar("homeostasis/updates", h.updates);
  out.add("homeostasis/steps", h.steps);
  out.add("homeostasis/branching", h.branching);
  out.add("homeostasis/amplitudes", h.amplitudes);
  out.add("homeostasis/qualities", h.qualities);
  out.add("homeostasis/gains", h.gains);
  // Pending stimuli, in their queue order.
  std::vector<std::int64_t> stim_step;
  std::vector<std::uint8_t> stim_kind;
  std::vector<double> stim_value;
  std::vector<std::uint64_t> stim_count;
  std::vector<index_t> stim_nodes;
  for (const auto& [at, s] : events_.pending) {
    stim_step.push_back(at);
    stim_kind.push_back(static_cast<std::uint8_t>(s.kind));
    stim_value.push_back(s.value);
    stim_count.push_back(s.nodes.size());
    stim_nodes.insert(stim_nodes.end(), s.nodes.begin(), s.nodes.end());
  }
  out.add("events/stimulus_step", stim_step);
  out.add("events/stimulus_kind", stim_kind);
  out.add("events/stimulus_value", stim_value);
  out.add("events/stimulus_count", stim_count);
  out.add("events/stimulus_nodes", stim_nodes);
  out.add("sensory/gray", sensory_.gray);
  out.add_scalar("sensory/pending", static_cast<std::uint8_t>(sensory_.pending));
  out.add_scalar("sensory/frames_applied", sensory_.frames_applied);
  out.add_scalar("sensory/audio_frames_applied", sensory_.audio_frames_applied);
  if (sensory_.audio) {
    const sensory::AudioParams& p = sensory_.audio->params();
    const sensory::AudioMapper::State a = sensory_.audio->state();
    out.add("audio/params", std::vector<double>{p.sample_rate, p.samples_per_step, static_cast<double>(p.window_samples),
                                                static_cast<double>(p.bands), p.fmin_hz, p.fmax_hz, p.floor_db});
    out.add("audio/buffer", a.buffer);
    out.add_scalar("audio/buffer_start", a.buffer_start);
    out.add_scalar("audio/next_step", a.next_step);
    out.add("audio/queue", a.queue);
  }
  std::string names;
  for (const auto& s : services_) {
    names += s->name() + "\n";
    s->save_state(out, "service/" + s->name() + "/");
  }
  out.add_text("meta/services", names);
}

std::unique_ptr<Simulation> Simulation::load(const std::string& path) {
  return load(io::SnapshotReader::open(path));
}

std::unique_ptr<Simulation> Simulation::load(const io::SnapshotReader& in) { return load(in, BackendFactory{}); }

std::unique_ptr<Simulation> Simulation::load(const io::SnapshotReader& in, const BackendFactory& make_backend_for) {
  const config::Config cfg = config::Config::from_toml(in.text("config"), in.source() + " [config]");
  // The graph, through the validating builder: a corrupt index or weight is an
  // error here, not a crash later.
  const auto n = in.scalar<std::uint64_t>("graph/num_nodes");
  const auto types8 = in.array<std::uint8_t>("graph/node_type", static_cast<std::size_t>(n));
  const auto offsets = in.array<offset_t>("graph/out_offsets", static_cast<std::size_t>(n) + 1);
  const auto targets = in.array<index_t>("graph/edge_target");
  const std::size_t m = targets.size();
  const auto weights = in.array<float>("graph/edge_weight", m);
  const auto delays = in.array<std::uint16_t>("graph/edge_delay", m);
  const auto kinds = in.array<std::uint8_t>("graph/edge_kind", m);
  auto plastic = in.array<std::uint8_t>("graph/edge_plastic");
  if (!plastic.empty() && plastic.size() != m) corrupt(in, "graph/edge_plastic has the wrong length");
  if (offsets[0] != 0 || offsets[n] != m) corrupt(in, "graph/out_offsets does not span the edges");
  std::vector<std::int64_t> src(m), tgt(m), dly(m), knd(m), node_types(static_cast<std::size_t>(n));
  std::vector<double> w(m);
  for (std::uint64_t s = 0; s < n; ++s) {
    if (offsets[s + 1] < offsets[s] || offsets[s + 1] > m) corrupt(in, "graph/out_offsets is not ascending");
    for (offset_t e = offsets[s]; e < offsets[s + 1]; ++e) src[e] = static_cast<std::int64_t>(s);
    node_types[s] = types8[s];
  }
  for (std::size_t e = 0; e < m; ++e) {
    tgt[e] = targets[e];
    w[e] = weights[e];
    dly[e] = delays[e];
    knd[e] = kinds[e];
  }
  EdgeArrays arrays;
  arrays.num_edges = m;
  arrays.sources = src.data();
  arrays.targets = tgt.data();
  arrays.weights = w.data();
  arrays.delays = dly.data();
  arrays.kinds = knd.data();
  arrays.plastic = plastic.empty() ? nullptr : plastic.data();
  std::shared_ptr<const Graph> graph;
  try {
    graph = GraphBuilder::from_arrays(static_cast<std::size_t>(n), node_types.data(), arrays);
  } catch (const GraphError& e) {
    corrupt(in, std::string("its graph is invalid: ") + e.what());
  }
  // Edge ids must be those of the saved run (per-edge state is indexed by them).
  if (graph->edge_target() != targets || graph->edge_weight() != weights) {
    corrupt(in, "its edges are not in CSR order");
  }
  if (plastic.empty() != graph->edge_plastic().empty()) corrupt(in, "graph/edge_plastic does not match");

  std::unique_ptr<Simulation> sim(new Simulation(graph, cfg, false, make_backend_for));
  sim->backend_->load_state(in);
  sim->step_ = in.scalar<std::int64_t>("sim/step");
  sim->neuromodulator_ = in.scalar<double>("sim/neuromodulator");
  if (sim->step_ < 0 || !std::isfinite(sim->neuromodulator_)) corrupt(in, "sim/step or sim/neuromodulator");
  if (sim->neuromodulator_ != 0.0) sim->backend_->set_neuromodulator(sim->neuromodulator_);

  SpikeRecord spikes;
  spikes.steps = in.array<std::int64_t>("record/spike_steps");
  spikes.nodes = in.array<index_t>("record/spike_nodes", spikes.steps.size());
  for (std::size_t k = 0; k < spikes.nodes.size(); ++k) {
    if (spikes.nodes[k] >= n) corrupt(in, "record/spike_nodes[" + std::to_string(k) + "] is out of range");
  }
  spikes.start_step = in.scalar<std::int64_t>("record/spike_start_step");
  if (spikes.start_step < 0 || spikes.start_step > sim->step_) corrupt(in, "record/spike_start_step");
  LedgerTotals& lt = sim->ledger_totals_;
  lt.steps = in.scalar<std::int64_t>("record/ledger_total_steps");
  const auto totals = in.array<double>("record/ledger_totals", std::size(kTotalsDoubles));
  for (std::size_t k = 0; k < totals.size(); ++k) lt.*kTotalsDoubles[k] = totals[k];
  MonitorRecord& mon = sim->monitor_record_;
  const auto variables = split_lines(in.text("record/monitor_variables"));
  const auto mon_nodes = in.array<index_t>("record/monitor_nodes");
  if (variables != mon.variables || mon_nodes != mon.nodes) {
    corrupt(in, "its monitor does not match its configuration");
  }
  if (in.scalar<std::int64_t>("record/monitor_every") != mon.every_steps) {
    corrupt(in, "its monitor period does not match its configuration");
  }
  mon.steps = in.array<std::int64_t>("record/monitor_steps");
  const std::size_t per_variable = mon.steps.size() * mon.nodes.size();
  const auto values = in.array<double>("record/monitor_values", per_variable * mon.variables.size());
  for (std::size_t v = 0; v < mon.variables.size(); ++v) {
    mon.values[v].assign(values.begin() + static_cast<std::ptrdiff_t>(v * per_variable),
                         values.begin() + static_cast<std::ptrdiff_t>((v + 1) * per_variable));
  }
  const auto ledgers = in.array<double>("record/ledgers");
  if (ledgers.empty() || ledgers.size() % kLedgerFields != 0) corrupt(in, "record/ledgers has the wrong length");
  for (std::size_t k = 0; k < ledgers.size(); k += kLedgerFields) {
    // The step is stored as a double: it must be a whole number in range.
    if (!(ledgers[k] >= -1.0 && ledgers[k] <= 9.0e15) || ledgers[k] != std::floor(ledgers[k])) {
      corrupt(in, "record/ledgers holds an invalid step");
    }
  }
  sim->ledger_ = get_ledger(ledgers.data());
  for (std::size_t k = kLedgerFields; k < ledgers.size(); k += kLedgerFields) {
    sim->ledger_history_.push_back(get_ledger(ledgers.data() + k));
  }
  HomeostasisState& h = sim->homeostasis_;
  h.synaptic_gain = in.scalar<double>("homeostasis/synaptic_gain");
  h.updates = in.scalar<std::int64_t>("homeostasis/updates");
  h.steps = in.array<std::int64_t>("homeostasis/steps");
  h.gains = in.array<double>("homeostasis/gains", h.steps.size());
  if (in.has("homeostasis/activity")) {
    h.activity = in.array<double>("homeostasis/activity");
    h.bin_spikes = in.scalar<std::uint64_t>("homeostasis/bin_spikes");
    h.branching_ratio = in.scalar<double>("homeostasis/branching_ratio");
    h.branching_amplitude = in.scalar<double>("homeostasis/branching_amplitude");
    h.branching_quality = in.scalar<double>("homeostasis/branching_quality");
    h.branching = in.array<double>("homeostasis/branching", h.steps.size());
    h.amplitudes = in.array<double>("homeostasis/amplitudes", h.steps.size());
    h.qualities = in.array<double>("homeostasis/qualities", h.steps.size());
  } else {
    // A checkpoint from before the multistep-regression estimate: its window ratios
    // were not branching ratios, so the history keeps only the gains and the
    // estimate starts from an empty window.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    h.branching.assign(h.steps.size(), nan);
    h.amplitudes.assign(h.steps.size(), nan);
    h.qualities.assign(h.steps.size(), nan);
  }
  for (double a : h.activity) {
    if (!(a >= 0.0) || a != std::floor(a)) corrupt(in, "homeostasis/activity holds an invalid spike count");
  }

  const auto stim_step = in.array<std::int64_t>("events/stimulus_step");
  const std::size_t stimuli = stim_step.size();
  const auto stim_kind = in.array<std::uint8_t>("events/stimulus_kind", stimuli);
  const auto stim_value = in.array<double>("events/stimulus_value", stimuli);
  const auto stim_count = in.array<std::uint64_t>("events/stimulus_count", stimuli);
  const auto stim_nodes = in.array<index_t>("events/stimulus_nodes");
  std::size_t at = 0;
  for (std::size_t k = 0; k < stimuli; ++k) {
    if (stim_kind[k] > static_cast<std::uint8_t>(Stimulus::Kind::set_drive) || stim_count[k] > stim_nodes.size() - at) {
      corrupt(in, "events/stimulus_* entry " + std::to_string(k) + " is malformed");
    }
    Stimulus s;
    s.step = stim_step[k];
    s.kind = static_cast<Stimulus::Kind>(stim_kind[k]);
    s.value = stim_value[k];
    s.nodes.assign(stim_nodes.begin() + static_cast<std::ptrdiff_t>(at),
                   stim_nodes.begin() + static_cast<std::ptrdiff_t>(at + stim_count[k]));
    at += static_cast<std::size_t>(stim_count[k]);
    for (index_t node : s.nodes) {
      if (node >= n) corrupt(in, "a pending stimulus names a node out of range");
    }
    sim->events_.pending.emplace(s.step, std::move(s));
  }
  if (at != stim_nodes.size()) corrupt(in, "events/stimulus_nodes has the wrong length");
  auto gray = in.array<float>("sensory/gray");
  if (gray.size() != sim->sensory_.gray.size() && !gray.empty()) corrupt(in, "sensory/gray has the wrong length");
  sim->sensory_.gray.swap(gray);
  sim->sensory_.pending = in.scalar<std::uint8_t>("sensory/pending") != 0;
  sim->sensory_.frames_applied = in.scalar<std::int64_t>("sensory/frames_applied");
  if (sim->sensory_.pending && sim->sensory_.gray.empty()) corrupt(in, "a pending frame has no values");
  sim->sensory_.audio_frames_applied = in.scalar<std::int64_t>("sensory/audio_frames_applied");
  if (in.has("audio/params")) {
    const auto p = in.array<double>("audio/params", 7);
    if (!(p[2] >= 2 && p[2] <= (1 << 22)) || p[3] != static_cast<double>(sim->sensory_.audio_bands)) {
      corrupt(in, "audio/params do not fit the network");
    }
    sensory::AudioParams ap;
    ap.sample_rate = p[0];
    ap.samples_per_step = p[1];
    ap.window_samples = static_cast<int>(p[2]);
    ap.bands = static_cast<int>(p[3]);
    ap.fmin_hz = p[4];
    ap.fmax_hz = p[5];
    ap.floor_db = p[6];
    sensory::AudioMapper::State st;
    st.buffer = in.array<float>("audio/buffer");
    st.buffer_start = in.scalar<std::uint64_t>("audio/buffer_start");
    st.next_step = in.scalar<std::uint64_t>("audio/next_step");
    st.queue = in.array<float>("audio/queue");
    try {
      auto mapper = std::make_shared<sensory::AudioMapper>(ap);
      mapper->set_state(std::move(st));
      sim->sensory_.audio = std::move(mapper);
    } catch (const InputError& e) {
      corrupt(in, std::string("its audio state is invalid: ") + e.what());
    }
  }
  for (auto& s : sim->services_) s->load_state(in, "service/" + s->name() + "/");
  sim->spike_record_ = std::move(spikes);
  sim->spike_total_ = 0;
  return sim;
}

}  // namespace spikegraph
