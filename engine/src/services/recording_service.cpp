// The "recording" service: the spike record, the monitor and the recorders
// (services/default_services.hpp), their horizon, streaming and checkpoint sections.
#include <algorithm>
#include <cctype>
#include <string>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/record_stream.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/state/node_state.hpp"
#include "checkpoint_sections.hpp"

namespace spikegraph {

namespace {

// Append the values of `variables` at `nodes` now: values[v] gets one per node (the
// monitor and state recorders).
void sample_state(Backend& backend, const std::vector<std::string>& variables, const std::vector<index_t>& nodes,
                  std::vector<std::vector<double>>& values) {
  for (std::size_t v = 0; v < variables.size(); ++v) {
    const ArrayRef a = backend.state(variables[v]);
    for (index_t node : nodes) values[v].push_back(read_element(a, node));
  }
}

// Samples of several variables as one section (each variable's samples in turn), and back.
std::vector<double> join_values(const std::vector<std::vector<double>>& values) {
  std::vector<double> out;
  for (const auto& v : values) out.insert(out.end(), v.begin(), v.end());
  return out;
}

// Read section `name` of values.size() x per_variable doubles into values (IoError otherwise).
void read_values(const io::SnapshotReader& in, const std::string& name, std::size_t per_variable,
                 std::vector<std::vector<double>>& values) {
  const auto all = in.array<double>(name, per_variable * values.size());
  for (std::size_t v = 0; v < values.size(); ++v) {
    values[v].assign(all.begin() + static_cast<std::ptrdiff_t>(v * per_variable),
                     all.begin() + static_cast<std::ptrdiff_t>((v + 1) * per_variable));
  }
}

}  // namespace

void RecordingService::configure(const config::Config& cfg) {
  record_spikes_ = cfg.boolean("record.spikes");
  horizon_.steps = cfg.steps("record.horizon");
  stream_ = cfg.string("record.stream");
  stream_every_ = cfg.steps("record.stream_every", 1);
  dt_ = cfg.real("sim.dt");
}

void RecordingService::initialize(StepContext& ctx) {
  MonitorRecord m;
  m.variables = ctx.config.strings("monitor.variables");
  const index_t n = ctx.graph.num_nodes();
  for (std::int64_t id : ctx.config.integers("monitor.nodes")) {
    if (id < 0 || id >= static_cast<std::int64_t>(n)) {
      throw InputError("monitor: node " + std::to_string(id) + " is out of range [0, " + std::to_string(n) + ")");
    }
    m.nodes.push_back(static_cast<index_t>(id));
  }
  m.every_steps = ctx.config.steps("monitor.interval", 1);
  m.values.assign(m.variables.size(), {});
  monitor_ = std::move(m);
  spikes_ = SpikeRecord{};
  spikes_.start_step = ctx.step;
}

void RecordingService::run(Phase, StepContext& ctx) {
  if (!ctx.spikes_late) late_spikes(ctx.step, ctx.backend.spikes(), ctx);
  MonitorRecord& m = monitor_;
  if (!m.variables.empty() && !m.nodes.empty() && ctx.step % m.every_steps == 0) {
    m.steps.push_back(ctx.step);
    sample_state(ctx.backend, m.variables, m.nodes, m.values);
  }
  for (auto& r : recorders_) {
    if (r.spec.kind != RecorderKind::state || (ctx.step - r.origin) % r.spec.interval_steps != 0) continue;
    r.steps.push_back(ctx.step);
    sample_state(ctx.backend, r.spec.variables, r.spec.nodes, r.values);
  }
  if (!stream_.empty()) {
    if ((ctx.step + 1) % stream_every_ == 0) {
      // The chunk [start_step, step] to its file, then out of memory.
      io::SnapshotWriter out;
      out.add("spike_steps", spikes_.steps);
      out.add("spike_nodes", spikes_.nodes);
      out.add_text("monitor_variables", join_lines(m.variables));
      out.add("monitor_nodes", m.nodes);
      out.add("monitor_steps", m.steps);
      out.add("monitor_values", join_values(m.values));
      io::write_record_chunk(stream_, "spikes", spikes_.start_step, ctx.step + 1, dt_, ctx.graph.num_nodes(), out);
      clear_spikes(ctx.step + 1);
      m.clear();
      stream_recorders(ctx.step + 1, ctx.graph.num_nodes());
    }
  } else if (horizon_.steps > 0) {
    const std::int64_t cutoff = horizon_.cutoff(ctx.step);
    const std::size_t samples = first_kept(m.steps, cutoff);
    if (horizon_.due(samples, m.steps.size())) {
      drop_front(samples, m.steps);
      for (auto& v : m.values) drop_front(samples * m.nodes.size(), v);
    }
    trim_recorders(cutoff, false);
  }
}

void RecordingService::late_spikes(step_t step, const std::vector<index_t>& spikes, StepContext&) {
  if (record_spikes_ && !spikes.empty()) {
    spikes_.steps.insert(spikes_.steps.end(), spikes.size(), step);
    spikes_.nodes.insert(spikes_.nodes.end(), spikes.begin(), spikes.end());
  }
  for (std::size_t i = 0; i < recorders_.size(); ++i) {
    if (recorders_[i].spec.kind != RecorderKind::state) record_spikes(recorders_[i], i, step, spikes);
  }
  if (stream_.empty() && horizon_.steps > 0) {
    const std::int64_t cutoff = horizon_.cutoff(step);
    const std::size_t old = first_kept(spikes_.steps, cutoff);
    if (horizon_.due(old, spikes_.steps.size())) {
      drop_front(old, spikes_.steps, spikes_.nodes);
      spikes_.start_step = std::max(spikes_.start_step, cutoff);
    }
    trim_recorders(cutoff, true);
  }
}

void RecordingService::clear_spikes(std::int64_t now) {
  spikes_.clear();
  spikes_.start_step = now;
}

std::size_t RecordingService::memory_bytes() const {
  std::size_t bytes = spikes_.steps.capacity() * sizeof(std::int64_t) + spikes_.nodes.capacity() * sizeof(index_t);
  for (const auto& v : monitor_.values) bytes += v.capacity() * sizeof(double);
  for (const auto& r : recorders_) {
    bytes += r.steps.capacity() * sizeof(std::int64_t) + r.nodes.capacity() * sizeof(index_t) +
             r.counts.capacity() * sizeof(std::uint64_t) + r.spec.nodes.capacity() * sizeof(index_t);
    for (const auto& v : r.values) bytes += v.capacity() * sizeof(double);
  }
  for (const auto& m : members_) bytes += m.flags.capacity();
  return bytes;
}

void RecordingService::save_state(io::SnapshotWriter& out, const std::string&) const {
  out.add("record/spike_steps", spikes_.steps);
  out.add("record/spike_nodes", spikes_.nodes);
  out.add_scalar("record/spike_start_step", spikes_.start_step);
  out.add_text("record/monitor_variables", join_lines(monitor_.variables));
  out.add("record/monitor_nodes", monitor_.nodes);
  out.add_scalar("record/monitor_every", monitor_.every_steps);
  out.add("record/monitor_steps", monitor_.steps);
  out.add("record/monitor_values", join_values(monitor_.values));
  std::vector<std::string> names;
  for (const auto& r : recorders_) {
    names.push_back(r.spec.name);
    const std::string p = "record/recorder/" + r.spec.name + "/";
    out.add_text(p + "kind", recorder_kind_name(r.spec.kind));
    out.add(p + "nodes", r.spec.nodes);
    out.add_text(p + "variables", join_lines(r.spec.variables));
    out.add_scalar(p + "interval", r.spec.interval_steps);
    out.add_scalar(p + "origin", r.origin);
    out.add_scalar(p + "start_step", r.start_step);
    add_recorder_data(out, p, r);
  }
  out.add_text("record/recorders", join_lines(names));
}

void RecordingService::load_state(const io::SnapshotReader& in, const std::string&) {
  const auto now = in.scalar<std::int64_t>("sim/step");
  const auto n = in.scalar<std::uint64_t>("graph/num_nodes");
  SpikeRecord spikes;
  spikes.steps = in.array<std::int64_t>("record/spike_steps");
  spikes.nodes = in.array<index_t>("record/spike_nodes", spikes.steps.size());
  for (std::size_t k = 0; k < spikes.nodes.size(); ++k) {
    if (spikes.nodes[k] >= n) corrupt_checkpoint(in, "record/spike_nodes[" + std::to_string(k) + "] is out of range");
  }
  spikes.start_step = in.scalar<std::int64_t>("record/spike_start_step");
  if (spikes.start_step < 0 || spikes.start_step > now) corrupt_checkpoint(in, "record/spike_start_step");
  MonitorRecord mon = monitor_;
  if (split_lines(in.text("record/monitor_variables")) != mon.variables ||
      in.array<index_t>("record/monitor_nodes") != mon.nodes) {
    corrupt_checkpoint(in, "its monitor does not match its configuration");
  }
  if (in.scalar<std::int64_t>("record/monitor_every") != mon.every_steps) {
    corrupt_checkpoint(in, "its monitor period does not match its configuration");
  }
  mon.steps = in.array<std::int64_t>("record/monitor_steps");
  read_values(in, "record/monitor_values", mon.steps.size() * mon.nodes.size(), mon.values);
  // Recorders (absent from checkpoints written before they existed).
  std::vector<RecorderData> recorders;
  std::vector<Membership> members;
  if (in.has("record/recorders")) {
    for (const std::string& name : split_lines(in.text("record/recorders"))) {
      const std::string p = "record/recorder/" + name + "/";
      RecorderData r;
      r.spec.name = name;
      const std::string kind = in.text(p + "kind");
      if (!parse_recorder_kind(kind, r.spec.kind)) corrupt_checkpoint(in, p + "kind '" + kind + "'");
      r.spec.nodes = in.array<index_t>(p + "nodes");
      r.spec.variables = split_lines(in.text(p + "variables"));
      r.spec.interval_steps = in.scalar<std::int64_t>(p + "interval");
      try {
        check_recorder_spec(r.spec, n, nullptr);
      } catch (const InputError& e) {
        corrupt_checkpoint(in, p + ": " + e.what());
      }
      r.origin = in.scalar<std::int64_t>(p + "origin");
      r.start_step = in.scalar<std::int64_t>(p + "start_step");
      if (r.origin < 0 || r.origin > now || r.start_step < r.origin || r.start_step > now) {
        corrupt_checkpoint(in, p + "origin or start_step");
      }
      r.steps = in.array<std::int64_t>(p + "steps");
      const std::size_t samples = r.steps.size();
      r.values.assign(r.spec.variables.size(), {});
      if (r.spec.kind == RecorderKind::spikes) {
        r.nodes = in.array<index_t>(p + "spike_nodes", samples);
        for (index_t node : r.nodes) {
          if (!std::binary_search(r.spec.nodes.begin(), r.spec.nodes.end(), node)) {
            corrupt_checkpoint(in, p + "spike_nodes holds a node the recorder does not watch");
          }
        }
      } else if (r.spec.kind == RecorderKind::state) {
        read_values(in, p + "values", samples * r.spec.nodes.size(), r.values);
      } else {
        r.counts = in.array<std::uint64_t>(p + "counts", samples);
        r.bin_count = in.scalar<std::uint64_t>(p + "bin_count");
      }
      members.push_back(membership(r.spec.nodes, static_cast<index_t>(n)));
      recorders.push_back(std::move(r));
    }
  }
  spikes_ = std::move(spikes);
  monitor_ = std::move(mon);
  recorders_ = std::move(recorders);
  members_ = std::move(members);
}

// --- recorders

const char* recorder_kind_name(RecorderKind kind) {
  switch (kind) {
    case RecorderKind::spikes: return "spikes";
    case RecorderKind::state: return "state";
    case RecorderKind::rate: return "rate";
  }
  return "?";
}

bool parse_recorder_kind(const std::string& name, RecorderKind& kind) {
  for (RecorderKind k : {RecorderKind::spikes, RecorderKind::state, RecorderKind::rate}) {
    if (name == recorder_kind_name(k)) {
      kind = k;
      return true;
    }
  }
  return false;
}

void check_recorder_spec(const RecorderSpec& spec, std::uint64_t num_nodes, const Backend* backend) {
  const std::string who = "recorder '" + spec.name + "': ";
  if (spec.name.empty() || spec.name.size() > 64 ||
      !std::all_of(spec.name.begin(), spec.name.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
    throw InputError(who + "a name is 1-64 letters, digits or '_'");
  }
  if (spec.nodes.empty()) throw InputError(who + "it needs at least one node");
  for (std::size_t k = 0; k < spec.nodes.size(); ++k) {
    if (spec.nodes[k] >= num_nodes) {
      throw InputError(who + "node " + std::to_string(spec.nodes[k]) + " is out of range [0, " +
                       std::to_string(num_nodes) + ")");
    }
    if (k > 0 && spec.nodes[k] <= spec.nodes[k - 1]) {
      throw InputError(who + "nodes must be ascending without repeats (node " + std::to_string(spec.nodes[k]) + ")");
    }
  }
  if (spec.interval_steps < 1) throw InputError(who + "the interval must be at least one step");
  if (spec.kind != RecorderKind::state) {
    if (!spec.variables.empty()) throw InputError(who + "variables are for state recorders");
    if (spec.kind == RecorderKind::spikes && spec.interval_steps != 1) {
      throw InputError(who + "a spike recorder records every step (no interval)");
    }
    return;
  }
  if (spec.variables.empty()) throw InputError(who + "a state recorder needs at least one variable");
  std::vector<std::string> allocated;
  if (backend) allocated = backend->state_names();
  for (std::size_t v = 0; v < spec.variables.size(); ++v) {
    const std::string& name = spec.variables[v];
    const NodeVarInfo* row = find_node_var(name);
    if (!row) throw InputError(who + unknown_node_var_message(name));
    if (!row->monitorable) throw InputError(who + "variable '" + name + "' cannot be recorded");
    if (backend && std::find(allocated.begin(), allocated.end(), name) == allocated.end()) {
      throw InputError(who + unallocated_node_var_message(*row));
    }
    if (std::find(spec.variables.begin(), spec.variables.begin() + static_cast<std::ptrdiff_t>(v), name) !=
        spec.variables.begin() + static_cast<std::ptrdiff_t>(v)) {
      throw InputError(who + "variable '" + name + "' is named twice");
    }
  }
}

RecordingService::Membership RecordingService::membership(const std::vector<index_t>& nodes, index_t num_nodes) {
  Membership m;
  if (nodes.back() - nodes.front() + 1 == nodes.size()) {
    m.lo = nodes.front();
    m.hi = nodes.back() + 1;
  } else {
    m.flags.assign(num_nodes, 0);
    for (index_t i : nodes) m.flags[i] = 1;
  }
  return m;
}

void RecordingService::add_recorder(RecorderSpec spec, std::int64_t now, const Backend& backend, index_t num_nodes) {
  std::sort(spec.nodes.begin(), spec.nodes.end());
  check_recorder_spec(spec, num_nodes, &backend);
  for (const auto& r : recorders_) {
    if (r.spec.name == spec.name) throw InputError("recorder '" + spec.name + "': the name is in use");
  }
  RecorderData r;
  r.origin = r.start_step = now;
  r.values.assign(spec.variables.size(), {});
  Membership m = membership(spec.nodes, num_nodes);
  r.spec = std::move(spec);
  recorders_.push_back(std::move(r));
  members_.push_back(std::move(m));
}

void RecordingService::remove_recorder(const std::string& name) {
  for (std::size_t i = 0; i < recorders_.size(); ++i) {
    if (recorders_[i].spec.name == name) {
      recorders_.erase(recorders_.begin() + static_cast<std::ptrdiff_t>(i));
      members_.erase(members_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
  throw InputError("no recorder named '" + name + "'");
}

const RecorderData& RecordingService::recorder(const std::string& name) const {
  for (const auto& r : recorders_) {
    if (r.spec.name == name) return r;
  }
  throw InputError("no recorder named '" + name + "'");
}

void RecordingService::record_spikes(RecorderData& r, std::size_t index, step_t step,
                                     const std::vector<index_t>& spikes) {
  const std::int64_t since = step - r.origin;
  // The step's spikes of the recorder's nodes (the list is ascending).
  const Membership& m = members_[index];
  const bool keep = r.spec.kind == RecorderKind::spikes;
  std::uint64_t count = 0;
  if (m.flags.empty()) {
    const auto lo = std::lower_bound(spikes.begin(), spikes.end(), m.lo);
    const auto hi = std::lower_bound(lo, spikes.end(), m.hi);
    if (keep) r.nodes.insert(r.nodes.end(), lo, hi);
    count = static_cast<std::uint64_t>(hi - lo);
  } else {
    for (index_t node : spikes) {
      if (!m.flags[node]) continue;
      ++count;
      if (keep) r.nodes.push_back(node);
    }
  }
  if (keep) r.steps.insert(r.steps.end(), count, step);
  if (r.spec.kind == RecorderKind::rate) {
    r.bin_count += count;
    if ((since + 1) % r.spec.interval_steps == 0) {
      r.steps.push_back(step + 1 - r.spec.interval_steps);
      r.counts.push_back(r.bin_count);
      r.bin_count = 0;
    }
  }
}

void RecordingService::stream_recorders(std::int64_t end_step, index_t num_nodes) {
  for (auto& r : recorders_) {
    io::SnapshotWriter out;
    out.add_text("recorder/kind", recorder_kind_name(r.spec.kind));
    out.add("recorder/nodes", r.spec.nodes);
    out.add_text("recorder/variables", join_lines(r.spec.variables));
    out.add_scalar("recorder/interval", r.spec.interval_steps);
    add_recorder_data(out, "", r);
    io::write_record_chunk(stream_, "recorder." + r.spec.name, r.start_step, end_step, dt_, num_nodes, out);
    r.steps.clear();
    r.nodes.clear();
    r.counts.clear();
    for (auto& v : r.values) v.clear();
    r.start_step = end_step;
  }
}

void RecordingService::trim_recorders(std::int64_t cutoff, bool spike_kinds) {
  for (auto& r : recorders_) {
    if ((r.spec.kind != RecorderKind::state) != spike_kinds) continue;
    const std::size_t old = first_kept(r.steps, cutoff);
    if (!horizon_.due(old, r.steps.size())) continue;
    drop_front(old, r.steps);
    if (r.spec.kind == RecorderKind::spikes) drop_front(old, r.nodes);
    if (r.spec.kind == RecorderKind::rate) drop_front(old, r.counts);
    for (auto& v : r.values) drop_front(old * r.spec.nodes.size(), v);
    r.start_step = std::max(r.start_step, cutoff);
  }
}

void RecordingService::add_recorder_data(io::SnapshotWriter& out, const std::string& prefix, const RecorderData& r) {
  out.add(prefix + "steps", r.steps);
  if (r.spec.kind == RecorderKind::spikes) out.add(prefix + "spike_nodes", r.nodes);
  if (r.spec.kind == RecorderKind::rate) {
    out.add(prefix + "counts", r.counts);
    out.add_scalar(prefix + "bin_count", r.bin_count);
  }
  if (r.spec.kind == RecorderKind::state) out.add(prefix + "values", join_values(r.values));
}

}  // namespace spikegraph
