#include "spikegraph/services/default_services.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <iterator>
#include <string>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/record_stream.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/branching.hpp"
#include "spikegraph/sim/events.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "checkpoint_sections.hpp"

namespace spikegraph {

namespace {

class NeuralService final : public Service {
 public:
  std::string name() const override { return "neural"; }
  std::vector<Phase> phases() const override { return {Phase::delivery, Phase::neuron_update}; }
  bool takes_late_spikes() const override { return true; }  // the backend holds and delivers them
  void run(Phase phase, StepContext& ctx) override {
    if (phase == Phase::delivery) {
      ctx.backend.deliver(ctx.step);
    } else {
      ctx.backend.update_neurons(ctx.step);
    }
  }
};

class LearningService final : public Service {
 public:
  std::string name() const override { return "learning"; }
  std::vector<Phase> phases() const override { return {Phase::learning}; }
  void run(Phase, StepContext& ctx) override { ctx.backend.update_learning(ctx.step); }
};

// The double fields of a ledger, in file order: one list serves saving and loading. A
// per-step ledger is stored as its step (as a double) then these fields. Checkpoints
// from before birth_cost was an entry of its own have the first nine only.
constexpr double EnergyLedger::*kLedgerDoubles[] = {
    &EnergyLedger::total_before, &EnergyLedger::inflow,    &EnergyLedger::spike_cost,
    &EnergyLedger::metabolism,   &EnergyLedger::flow_out,  &EnergyLedger::flow_in,
    &EnergyLedger::overflow,     &EnergyLedger::transfers, &EnergyLedger::total_after,
    &EnergyLedger::birth_cost};
constexpr double LedgerTotals::*kTotalsDoubles[] = {
    &LedgerTotals::initial_total, &LedgerTotals::inflow,    &LedgerTotals::spike_cost,
    &LedgerTotals::metabolism,    &LedgerTotals::flow_out,  &LedgerTotals::flow_in,
    &LedgerTotals::overflow,      &LedgerTotals::transfers, &LedgerTotals::final_total,
    &LedgerTotals::birth_cost};
constexpr std::size_t kLegacyLedgerDoubles = 9;

void put_ledger(const EnergyLedger& l, std::vector<double>& out) {
  out.push_back(static_cast<double>(l.step));
  for (auto field : kLedgerDoubles) out.push_back(l.*field);
}

EnergyLedger get_ledger(const double* f, std::size_t doubles) {
  EnergyLedger l;
  l.step = static_cast<std::int64_t>(f[0]);
  for (std::size_t k = 0; k < doubles; ++k) l.*kLedgerDoubles[k] = f[1 + k];
  return l;
}

}  // namespace

std::unique_ptr<Service> make_neural_service() { return std::make_unique<NeuralService>(); }
std::unique_ptr<Service> make_learning_service() { return std::make_unique<LearningService>(); }

// --- energy

void EnergyService::configure(const config::Config& cfg) {
  flow_interval_ = cfg.integer("energy.flow_interval");
  record_ = cfg.boolean("energy.record_ledger");
  horizon_.steps = cfg.steps("record.horizon");
  stream_ = cfg.string("record.stream");
  stream_every_ = cfg.steps("record.stream_every", 1);
  dt_ = cfg.real("sim.dt");
}

void EnergyService::run(Phase phase, StepContext& ctx) {
  EnergyLedger& l = ctx.ledger;
  if (phase == Phase::energy) {
    EnergyLedger e;
    ctx.backend.update_energy(ctx.step, ctx.step % flow_interval_ == 0, e);
    // The sensory phase of this step already changed the sensory energies: that is the
    // inflow, part of what update_energy found at its start.
    l.total_before = e.total_before - l.inflow;
    l.spike_cost = e.spike_cost;
    l.metabolism = e.metabolism;
    l.flow_out = e.flow_out;
    l.flow_in = e.flow_in;
    l.overflow = e.overflow;
    after_energy_ = e.total_after;
    return;
  }
  // Phase recording: births and deaths (phase structure) have their entries now.
  l.total_after = after_energy_ - l.transfers - l.birth_cost;
  last_ = l;
  if (record_) history_.push_back(l);
  totals_.add(l);
  if (!stream_.empty()) {
    if (record_ && (ctx.step + 1) % stream_every_ == 0) {
      io::SnapshotWriter out;
      std::vector<double> ledgers;
      for (const auto& e : history_) put_ledger(e, ledgers);
      out.add("ledgers", ledgers);
      out.add_scalar("ledger_doubles", static_cast<std::uint64_t>(std::size(kLedgerDoubles)));
      io::write_record_chunk(stream_, "ledger", chunk_first_, ctx.step + 1, dt_, ctx.graph.num_nodes(), out);
      history_.clear();
      chunk_first_ = ctx.step + 1;
    }
    return;
  }
  const std::size_t old =
      first_kept(history_, horizon_.cutoff(ctx.step), [](const EnergyLedger& e) { return e.step; });
  if (horizon_.due(old, history_.size())) drop_front(old, history_);
}

void EnergyService::save_state(io::SnapshotWriter& out, const std::string&) const {
  out.add_scalar("record/ledger_total_steps", totals_.steps);
  std::vector<double> totals;
  for (auto field : kTotalsDoubles) totals.push_back(totals_.*field);
  out.add("record/ledger_totals", totals);
  std::vector<double> ledgers;
  put_ledger(last_, ledgers);
  for (const auto& l : history_) put_ledger(l, ledgers);
  out.add("record/ledgers", ledgers);
  out.add_scalar("record/ledger_doubles", static_cast<std::uint64_t>(std::size(kLedgerDoubles)));
}

void EnergyService::load_state(const io::SnapshotReader& in, const std::string&) {
  const std::size_t doubles = in.has("record/ledger_doubles")
                                  ? static_cast<std::size_t>(in.scalar<std::uint64_t>("record/ledger_doubles"))
                                  : kLegacyLedgerDoubles;
  if (doubles != kLegacyLedgerDoubles && doubles != std::size(kLedgerDoubles)) {
    corrupt_checkpoint(in, "record/ledger_doubles is " + std::to_string(doubles));
  }
  LedgerTotals totals;
  totals.steps = in.scalar<std::int64_t>("record/ledger_total_steps");
  const auto t = in.array<double>("record/ledger_totals", doubles);
  for (std::size_t k = 0; k < t.size(); ++k) totals.*kTotalsDoubles[k] = t[k];
  const std::size_t fields = 1 + doubles;
  const auto ledgers = in.array<double>("record/ledgers");
  if (ledgers.empty() || ledgers.size() % fields != 0) corrupt_checkpoint(in, "record/ledgers has the wrong length");
  for (std::size_t k = 0; k < ledgers.size(); k += fields) {
    // The step is stored as a double: it must be a whole number in range.
    if (!(ledgers[k] >= -1.0 && ledgers[k] <= 9.0e15) || ledgers[k] != std::floor(ledgers[k])) {
      corrupt_checkpoint(in, "record/ledgers holds an invalid step");
    }
  }
  std::vector<EnergyLedger> history;
  for (std::size_t k = fields; k < ledgers.size(); k += fields) history.push_back(get_ledger(ledgers.data() + k, doubles));
  last_ = get_ledger(ledgers.data(), doubles);
  history_ = std::move(history);
  totals_ = totals;
  chunk_first_ = history_.empty() ? in.scalar<std::int64_t>("sim/step") : history_.front().step;
}

// --- homeostasis

void HomeostasisService::configure(const config::Config& cfg) {
  interval_ = cfg.integer("homeostasis.interval");
  target_ = cfg.real("homeostasis.target_branching");
  step_ = cfg.real("homeostasis.gain_step");
  tolerance_ = cfg.real("homeostasis.branching_tolerance");
  gain_min_ = cfg.real("homeostasis.gain_min");
  gain_max_ = cfg.real("homeostasis.gain_max");
  bin_steps_ = cfg.steps("homeostasis.bin", 1);
  window_bins_ = static_cast<std::size_t>(std::max<std::int64_t>(1, cfg.steps("homeostasis.window", 1) / bin_steps_));
  max_lag_ = static_cast<int>(cfg.integer("homeostasis.max_lag"));
  min_quality_ = cfg.real("homeostasis.min_fit_quality");
  horizon_.steps = cfg.steps("record.horizon");
  for (int t = 0; t < kNodeTypeCount; ++t) counted_[t] = kNodeTypes[t].ignores_input ? 0 : 1;
}

void HomeostasisService::run(Phase, StepContext& ctx) {
  ctx.backend.update_rates(ctx.step);
  HomeostasisState& h = state_;
  // The activity the branching ratio is estimated from: spikes of input-driven nodes.
  const auto& types = ctx.graph.node_type();
  for (index_t node : ctx.backend.spikes()) h.bin_spikes += counted_[types[node]];
  if ((ctx.step + 1) % bin_steps_ == 0) {
    h.activity.push_back(static_cast<double>(h.bin_spikes));
    // A shorter window (update_config) drops the oldest bins at once.
    while (h.activity.size() > window_bins_) h.activity.erase(h.activity.begin());
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
    if (e.m > target_ + tolerance_) {
      h.synaptic_gain *= 1.0 - step_;
    } else if (e.m < target_ - tolerance_) {
      h.synaptic_gain *= 1.0 + step_;
    }
    h.synaptic_gain = std::min(gain_max_, std::max(gain_min_, h.synaptic_gain));
    ctx.backend.set_synaptic_gain(h.synaptic_gain);
  }
  ++h.updates;
  h.steps.push_back(ctx.step);
  h.branching.push_back(e.m);
  h.amplitudes.push_back(e.amplitude);
  h.qualities.push_back(e.quality);
  h.gains.push_back(h.synaptic_gain);
  const std::size_t old = first_kept(h.steps, horizon_.cutoff(ctx.step));
  if (horizon_.due(old, h.steps.size())) drop_front(old, h.steps, h.branching, h.amplitudes, h.qualities, h.gains);
}

std::size_t HomeostasisService::memory_bytes() const {
  const HomeostasisState& h = state_;
  return h.activity.capacity() * sizeof(double) + h.steps.capacity() * sizeof(std::int64_t) +
         (h.branching.capacity() + h.amplitudes.capacity() + h.qualities.capacity() + h.gains.capacity()) *
             sizeof(double);
}

void HomeostasisService::save_state(io::SnapshotWriter& out, const std::string&) const {
  const HomeostasisState& h = state_;
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
}

void HomeostasisService::load_state(const io::SnapshotReader& in, const std::string&) {
  HomeostasisState h;
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
    if (!(a >= 0.0) || a != std::floor(a)) corrupt_checkpoint(in, "homeostasis/activity holds an invalid spike count");
  }
  if (!(h.synaptic_gain > 0.0) || !std::isfinite(h.synaptic_gain)) corrupt_checkpoint(in, "homeostasis/synaptic_gain");
  state_ = std::move(h);
}

// --- events

void EventsService::run(Phase phase, StepContext& ctx) {
  EventBatch& batch = ctx.events;
  if (phase == Phase::delivery) {
    auto range = pending_.equal_range(ctx.step);
    for (auto it = range.first; it != range.second; ++it) {
      const Stimulus& s = it->second;
      if (s.kind == Stimulus::Kind::input) {
        ctx.backend.add_input(ctx.step, s.nodes.data(), s.nodes.size(), s.value);
      } else {
        ctx.backend.change_drive(s.nodes.data(), s.nodes.size(), s.value, s.kind == Stimulus::Kind::add_drive);
      }
      batch.stimuli.push_back(s);
    }
    pending_.erase(range.first, range.second);
    return;
  }
  if (!ctx.spikes_late) late_spikes(ctx.step, ctx.backend.spikes(), ctx);
  const HomeostasisState& h = ctx.sim.homeostasis();
  if (!h.steps.empty() && h.steps.back() == ctx.step) {
    batch.homeostasis.push_back(HomeostasisEvent{ctx.step, h.branching.back(), h.gains.back()});
  }
}

void EventsService::late_spikes(step_t step, const std::vector<index_t>& spikes, StepContext& ctx) {
  if (!collecting_) return;
  EventBatch& batch = ctx.events;
  batch.spike_steps.insert(batch.spike_steps.end(), spikes.size(), step);
  batch.spike_nodes.insert(batch.spike_nodes.end(), spikes.begin(), spikes.end());
}

void EventsService::schedule(Stimulus stimulus) {
  const std::int64_t at = stimulus.step;
  pending_.emplace(at, std::move(stimulus));
}

int EventsService::subscribe(EventCallback callback) {
  const int id = next_id_++;
  subscribers_.emplace(id, std::move(callback));
  return id;
}

bool EventsService::unsubscribe(int id) { return subscribers_.erase(id) != 0; }

void EventsService::begin_chunk(std::int64_t now) {
  // Spikes are collected only while someone listens.
  collecting_ = collect_ || !subscribers_.empty();
  if (batch_.end_step == batch_.first_step) batch_.first_step = now;
}

EventBatch EventsService::take(std::int64_t now) {
  EventBatch out = std::move(batch_);
  batch_ = EventBatch{};
  batch_.first_step = now;
  batch_.end_step = now;
  out.end_step = now;
  return out;
}

void EventsService::publish(std::int64_t now) {
  if (subscribers_.empty()) return;
  const EventBatch batch = take(now);
  for (const auto& [id, callback] : subscribers_) callback(batch);
}

void EventsService::save_state(io::SnapshotWriter& out, const std::string&) const {
  // Pending stimuli, in their queue order.
  std::vector<std::int64_t> stim_step;
  std::vector<std::uint8_t> stim_kind;
  std::vector<double> stim_value;
  std::vector<std::uint64_t> stim_count;
  std::vector<index_t> stim_nodes;
  for (const auto& [at, s] : pending_) {
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
}

void EventsService::load_state(const io::SnapshotReader& in, const std::string&) {
  const auto n = in.scalar<std::uint64_t>("graph/num_nodes");
  const auto stim_step = in.array<std::int64_t>("events/stimulus_step");
  const std::size_t stimuli = stim_step.size();
  const auto stim_kind = in.array<std::uint8_t>("events/stimulus_kind", stimuli);
  const auto stim_value = in.array<double>("events/stimulus_value", stimuli);
  const auto stim_count = in.array<std::uint64_t>("events/stimulus_count", stimuli);
  const auto stim_nodes = in.array<index_t>("events/stimulus_nodes");
  std::multimap<std::int64_t, Stimulus> pending;
  std::size_t at = 0;
  for (std::size_t k = 0; k < stimuli; ++k) {
    if (stim_kind[k] > static_cast<std::uint8_t>(Stimulus::Kind::set_drive) || stim_count[k] > stim_nodes.size() - at) {
      corrupt_checkpoint(in, "events/stimulus_* entry " + std::to_string(k) + " is malformed");
    }
    Stimulus s;
    s.step = stim_step[k];
    s.kind = static_cast<Stimulus::Kind>(stim_kind[k]);
    s.value = stim_value[k];
    s.nodes.assign(stim_nodes.begin() + static_cast<std::ptrdiff_t>(at),
                   stim_nodes.begin() + static_cast<std::ptrdiff_t>(at + stim_count[k]));
    at += static_cast<std::size_t>(stim_count[k]);
    for (index_t node : s.nodes) {
      if (node >= n) corrupt_checkpoint(in, "a pending stimulus names a node out of range");
    }
    pending.emplace(s.step, std::move(s));
  }
  if (at != stim_nodes.size()) corrupt_checkpoint(in, "events/stimulus_nodes has the wrong length");
  pending_ = std::move(pending);
}

// --- configuration

config::Config ConfigurationService::change(const config::Config& current, const config::FlatTable& changes) const {
  config::Config next = current;
  next.update(changes, "update_config");  // unknown keys and bad values: ConfigError, `current` unchanged
  std::string fixed;
  for (const auto& [key, value] : changes) {
    // A key set to the value it has is no change (a page may send the whole table).
    if (!config::find_param(key)->live && next.value(key).to_string() != current.value(key).to_string()) {
      fixed += (fixed.empty() ? "" : ", ") + key;
    }
  }
  if (!fixed.empty()) {
    throw ConfigError("update_config: " + fixed + (fixed.find(',') == std::string::npos ? " is" : " are") +
                      " fixed for a run (live_keys() lists the keys that may change during a run)");
  }
  return next;
}

}  // namespace spikegraph
