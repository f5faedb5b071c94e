// Simulation: construction, runs (GIL released), spikes, monitors, state views,
// performance counters, the spike file reader/writer.
#include <algorithm>
#include <map>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "common.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/io/spike_file.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/sim/summary.hpp"

namespace spikegraph::bindings {

namespace {

using F64 = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using I64 = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

nb::dict summary_dict(const RunSummary& s) {
  nb::dict d;
  d["nodes"] = s.nodes;
  d["edges"] = s.edges;
  d["steps"] = s.steps;
  d["model_ms"] = s.model_ms;
  d["spikes"] = s.spikes;
  d["mean_rate_hz"] = s.mean_rate_hz;
  d["ms_per_step"] = s.ms_per_step;
  d["backend"] = s.backend;
  d["threads"] = s.threads;
  d["ranks"] = s.ranks;
  d["precision"] = s.precision;
  d["bytes_per_edge"] = s.bytes_per_edge;
  return d;
}

}  // namespace

void register_simulation(nb::module_& m) {
  nb::class_<Simulation>(m, "Simulation", "The coordinator: state, services and the step pipeline.")
      .def("__init__",
           [](Simulation* self, std::shared_ptr<Graph> graph, const config::Config& cfg) {
             new (self) Simulation(std::const_pointer_cast<const Graph>(graph), cfg);
           },
           nb::arg("graph"), nb::arg("config"))
      .def("run_steps", &Simulation::run_steps, nb::arg("steps"), nb::call_guard<nb::gil_scoped_release>(),
           "Advance a number of steps (the GIL is released).")
      .def_prop_ro("current_step", &Simulation::current_step)
      .def_prop_ro("dt", &Simulation::dt)
      .def_prop_ro("time_ms", &Simulation::time_ms)
      .def_prop_ro("backend", [](Simulation& s) { return s.backend().name(); })
      .def_prop_ro("threads", [](Simulation& s) { return s.backend().threads(); })
      .def_prop_ro("precision", [](Simulation& s) {
        return std::string(s.backend().precision() == Precision::float32 ? "float32" : "float64");
      })
      .def_prop_ro("config", [](const Simulation& s) { return s.config(); })
      .def_prop_ro("rank", &Simulation::rank, "This process's rank (0 in one process).")
      .def_prop_ro("ranks", &Simulation::ranks, "The number of ranks (1 in one process).")
      .def_prop_ro("total_edges", &Simulation::total_edges, "Edges of the whole network (graph holds this rank's).")
      .def_prop_ro("exchange_window", &Simulation::exchange_window,
                   "Steps per spike exchange between ranks (1 in one process).")
      .def_prop_ro("owned_nodes", &Simulation::owned_nodes,
                   "The node ids this rank updates, [first, second) (every node in one process).")
      .def_prop_ro("graph", [](const Simulation& s) { return std::const_pointer_cast<Graph>(s.graph_ptr()); })
      .def("whole_graph", [](const Simulation& s) { return std::const_pointer_cast<Graph>(s.whole_graph()); },
           nb::call_guard<nb::gil_scoped_release>(),
           "The whole network with its current weights (collective on several ranks).")
      .def("spikes", [](const Simulation& s, std::int64_t since) {
        // The record is sorted by step: copy only its tail from `since` on (the live
        // view and windowed readouts ask for the last moments of a long record).
        const SpikeRecord& r = s.spikes();
        const auto first = std::lower_bound(r.steps.begin(), r.steps.end(), since) - r.steps.begin();
        return nb::make_tuple(owned_array(std::vector<std::int64_t>(r.steps.begin() + first, r.steps.end())),
                              owned_array(std::vector<index_t>(r.nodes.begin() + first, r.nodes.end())));
      }, nb::arg("since") = 0, "Copies of the spike record from step `since` on: (steps int64, nodes uint32).")
      .def("spike_count", [](const Simulation& s) { return s.spikes().size(); })
      .def("spike_counts", [](const Simulation& s) { return owned_array(s.spike_counts()); })
      .def("clear_spikes", &Simulation::clear_spikes)
      .def("state_names", &Simulation::state_names)
      .def("state", [](Simulation& s, const std::string& name) {
        // "alive" and "poisson_rate" are read-only: the backend derives data from them
        // (the energy flow's masks, the Poisson tables), refreshed by set_state and not
        // by writes through a view.
        return view_array(s.state(name), nb::find(&s), name != "alive" && name != "poisson_rate");
      }, nb::arg("name"), "A zero-copy numpy view of a state variable (writeable except 'alive', 'poisson_rate').")
      .def("set_state", [](Simulation& s, const std::string& name, F64 values) {
        s.set_state(name, values.data(), values.shape(0));
      }, nb::arg("name"), nb::arg("values"))
      .def("set_initial_state", [](Simulation& s, const nb::dict& initial) {
        std::map<std::string, std::vector<double>> values;
        for (auto [key, value] : initial) {
          const auto arr = nb::cast<F64>(value);
          values[nb::cast<std::string>(key)].assign(arr.data(), arr.data() + arr.shape(0));
        }
        s.set_initial_state(values);
      }, nb::arg("initial"), "Initial values per variable (NaN: keep), checked before anything is written.")
      .def("monitor", [](const Simulation& s) {
        const MonitorRecord& mr = s.monitor();
        nb::dict d;
        d["steps"] = owned_array(std::vector<std::int64_t>(mr.steps));
        d["nodes"] = owned_array(std::vector<index_t>(mr.nodes));
        nb::dict values;
        for (size_t v = 0; v < mr.variables.size(); ++v) {
          nb::object arr = owned_array(std::vector<double>(mr.values[v]));
          values[mr.variables[v].c_str()] =
              arr.attr("reshape")(nb::make_tuple(mr.steps.size(), mr.nodes.size()));
        }
        d["values"] = values;
        return d;
      }, "Monitor samples: steps, nodes and {variable: array (samples, nodes)}.")
      .def("add_recorder", [](Simulation& s, const std::string& name, const std::string& kind, I64 nodes,
                              std::vector<std::string> variables, std::int64_t interval_steps) {
        RecorderSpec spec;
        spec.name = name;
        if (!parse_recorder_kind(kind, spec.kind)) {
          throw InputError("recorder '" + name + "': unknown kind '" + kind + "' (known: spikes, state, rate)");
        }
        for (std::size_t k = 0; k < nodes.shape(0); ++k) {
          const std::int64_t id = nodes(k);
          if (id < 0 || id >= static_cast<std::int64_t>(s.graph().num_nodes())) {
            throw InputError("recorder '" + name + "': node " + std::to_string(id) + " is out of range [0, " +
                             std::to_string(s.graph().num_nodes()) + ")");
          }
          spec.nodes.push_back(static_cast<index_t>(id));
        }
        spec.variables = std::move(variables);
        spec.interval_steps = interval_steps;
        s.add_recorder(std::move(spec));
      }, nb::arg("name"), nb::arg("kind"), nb::arg("nodes"), nb::arg("variables"), nb::arg("interval_steps"))
      .def("remove_recorder", &Simulation::remove_recorder, nb::arg("name"))
      .def("recorder_names", &Simulation::recorder_names)
      .def("recorder", [](const Simulation& s, const std::string& name) {
        const RecorderData& r = s.recorder(name);
        nb::dict d;
        d["kind"] = recorder_kind_name(r.spec.kind);
        d["nodes"] = owned_array(std::vector<index_t>(r.spec.nodes));
        d["interval_steps"] = r.spec.interval_steps;
        d["origin"] = r.origin;
        d["start_step"] = r.start_step;
        d["steps"] = owned_array(std::vector<std::int64_t>(r.steps));
        if (r.spec.kind == RecorderKind::spikes) d["spike_nodes"] = owned_array(std::vector<index_t>(r.nodes));
        if (r.spec.kind == RecorderKind::rate) d["counts"] = owned_array(std::vector<std::uint64_t>(r.counts));
        if (r.spec.kind == RecorderKind::state) {
          nb::dict values;
          for (std::size_t v = 0; v < r.spec.variables.size(); ++v) {
            nb::object arr = owned_array(std::vector<double>(r.values[v]));
            values[r.spec.variables[v].c_str()] =
                arr.attr("reshape")(nb::make_tuple(r.steps.size(), r.spec.nodes.size()));
          }
          d["values"] = values;
        }
        return d;
      }, nb::arg("name"), "Copies of a recorder's definition and records.")
      .def("perf", [](const Simulation& s) {
        PerfStats p = s.perf();
        nb::dict d;
        d["steps"] = p.steps;
        d["seconds_total"] = p.seconds_total;
        nb::dict phases;
        for (size_t i = 0; i < p.phase_names.size(); ++i) phases[p.phase_names[i].c_str()] = p.phase_seconds[i];
        d["phase_seconds"] = phases;
        d["spikes"] = p.spikes;
        d["synaptic_events"] = p.synaptic_events;
        d["graph_bytes"] = p.graph_bytes;
        d["state_bytes"] = p.state_bytes;
        d["record_bytes"] = p.record_bytes;
        d["bytes_to_host"] = p.bytes_to_host;
        d["bytes_to_device"] = p.bytes_to_device;
        return d;
      })
      .def("reset_perf", &Simulation::reset_perf)
      .def("edge_state_names", &Simulation::edge_state_names)
      .def("edge_state", [](Simulation& s, const std::string& name) {
        // A copy: edge arrays are replaced when the structure changes, and weights must be
        // written with set_weights so every copy the engine keeps stays in step.
        const ArrayRef a = s.edge_state(name);
        return view_array(a, nb::find(&s), false).attr("copy")();
      }, nb::arg("name"), "A copy of per-edge state (graph edge order).")
      .def("set_weights", [](Simulation& s, F64 w) { s.set_weights(w.data(), w.shape(0)); }, nb::arg("weights"))
      .def("ledger", [](const Simulation& s, std::int64_t since) {
        const auto& h = s.ledger_history();
        const size_t first = static_cast<size_t>(
            std::lower_bound(h.begin(), h.end(), since,
                             [](const EnergyLedger& l, std::int64_t v) { return l.step < v; }) - h.begin());
        const size_t n = h.size() - first;
        std::vector<std::int64_t> step(n);
        constexpr int kCols = 11;
        std::vector<double> cols[kCols];
        for (auto& c : cols) c.resize(n);
        for (size_t i = 0; i < n; ++i) {
          const EnergyLedger& l = h[first + i];
          step[i] = l.step;
          const double v[kCols] = {l.total_before, l.inflow,    l.spike_cost, l.metabolism,  l.flow_out, l.flow_in,
                                   l.overflow,     l.transfers, l.birth_cost, l.total_after, l.error()};
          for (int c = 0; c < kCols; ++c) cols[c][i] = v[c];
        }
        static const char* const names[kCols] = {"total_before", "inflow",    "spike_cost", "metabolism",
                                                 "flow_out",     "flow_in",   "overflow",   "transfers",
                                                 "birth_cost",   "total_after", "error"};
        nb::dict d;
        d["step"] = owned_array(std::move(step));
        for (int c = 0; c < kCols; ++c) d[names[c]] = owned_array(std::move(cols[c]));
        return d;
      }, nb::arg("since") = 0,
         "The per-step energy ledger from step `since` on as {column: array}; 'error' is the conservation residual.")
      .def("clear_ledger", &Simulation::clear_ledger_history)
      .def("update_config", [](Simulation& s, const nb::dict& flat) { s.update_config(to_table(flat)); },
           nb::arg("changes"),
           "Change live configuration keys between runs: validated, all or nothing (ConfigError otherwise).")
      .def("homeostasis", [](const Simulation& s) {
        const HomeostasisState& h = s.homeostasis();
        nb::dict d;
        d["synaptic_gain"] = h.synaptic_gain;
        d["branching_ratio"] = h.branching_ratio;
        d["branching_amplitude"] = h.branching_amplitude;
        d["branching_quality"] = h.branching_quality;
        d["updates"] = h.updates;
        d["steps"] = owned_array(std::vector<std::int64_t>(h.steps));
        d["branching"] = owned_array(std::vector<double>(h.branching));
        d["amplitudes"] = owned_array(std::vector<double>(h.amplitudes));
        d["qualities"] = owned_array(std::vector<double>(h.qualities));
        d["gains"] = owned_array(std::vector<double>(h.gains));
        d["activity"] = owned_array(std::vector<double>(h.activity));
        return d;
      })
      .def("schedule_stimulus", [](Simulation& s, std::int64_t step, const std::string& kind, double value,
                                   nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> nodes) {
        Stimulus st;
        st.step = step;
        st.value = value;
        if (kind == "input") {
          st.kind = Stimulus::Kind::input;
        } else if (kind == "add_drive") {
          st.kind = Stimulus::Kind::add_drive;
        } else if (kind == "set_drive") {
          st.kind = Stimulus::Kind::set_drive;
        } else {
          throw InputError("schedule_stimulus: unknown kind '" + kind + "' (input, add_drive, set_drive)");
        }
        st.nodes.reserve(nodes.shape(0));
        for (size_t k = 0; k < nodes.shape(0); ++k) {
          const std::int64_t id = nodes.data()[k];
          if (id < 0 || id > 0xFFFFFFFFll) {
            throw InputError("schedule_stimulus: nodes[" + std::to_string(k) + "] = " + std::to_string(id) +
                             " is out of range");
          }
          st.nodes.push_back(static_cast<index_t>(id));
        }
        s.schedule_stimulus(std::move(st));
      }, nb::arg("step"), nb::arg("kind"), nb::arg("value"), nb::arg("nodes"))
      .def("pending_stimuli", &Simulation::pending_stimuli)
      .def("collect_spike_events", &Simulation::collect_spike_events, nb::arg("on"))
      .def("take_events", [](Simulation& s) {
        EventBatch b = s.take_events();
        nb::dict d;
        d["first_step"] = b.first_step;
        d["end_step"] = b.end_step;
        d["spike_steps"] = owned_array(std::move(b.spike_steps));
        d["spike_nodes"] = owned_array(std::move(b.spike_nodes));
        nb::list homeo;
        for (const auto& h : b.homeostasis) {
          nb::dict e;
          e["step"] = h.step;
          e["branching_ratio"] = h.branching_ratio;
          e["synaptic_gain"] = h.synaptic_gain;
          homeo.append(e);
        }
        d["homeostasis"] = homeo;
        nb::list stim;
        static const char* const kinds[3] = {"input", "add_drive", "set_drive"};
        for (auto& st : b.stimuli) {
          nb::dict e;
          e["step"] = st.step;
          e["kind"] = kinds[static_cast<int>(st.kind)];
          e["value"] = st.value;
          e["nodes"] = owned_array(std::move(st.nodes));
          stim.append(e);
        }
        d["stimuli"] = stim;
        nb::list structure;
        for (auto& st : b.structure) {
          nb::dict e;
          e["step"] = st.step;
          e["deaths"] = owned_array(std::move(st.deaths));
          e["parents"] = owned_array(std::move(st.parents));
          e["children"] = owned_array(std::move(st.children));
          e["pruned_edges"] = st.pruned_edges;
          e["removed_edges"] = st.removed_edges;
          e["added_edges"] = st.added_edges;
          e["births_refused"] = st.births_refused;
          structure.append(e);
        }
        d["structure"] = structure;
        return d;
      }, "Events since the last call: spike batch, homeostasis windows, applied stimuli.")
      .def("set_frame", [](Simulation& s, nb::ndarray<nb::device::cpu> frame) {
        if (frame.ndim() != 2 && frame.ndim() != 3) {
          throw InputError("set_frame: expected an array of shape (height, width) or (height, width, channels), got " +
                           std::to_string(frame.ndim()) + " dimensions");
        }
        sensory::FrameView v;
        v.height = static_cast<int>(frame.shape(0));
        v.width = static_cast<int>(frame.shape(1));
        v.channels = frame.ndim() == 3 ? static_cast<int>(frame.shape(2)) : 1;
        const auto dt = frame.dtype();
        std::size_t item = 0;
        if (dt == nb::dtype<std::uint8_t>()) {
          v.type = sensory::FrameView::Type::u8;
          item = 1;
        } else if (dt == nb::dtype<float>()) {
          v.type = sensory::FrameView::Type::f32;
          item = 4;
        } else if (dt == nb::dtype<double>()) {
          v.type = sensory::FrameView::Type::f64;
          item = 8;
        } else {
          throw InputError("set_frame: expected uint8, float32 or float64 pixels");
        }
        // Pixels of a row must be contiguous (channels innermost); rows may be padded.
        const std::int64_t inner = frame.ndim() == 3 ? frame.stride(2) : 1;
        const std::int64_t col = frame.stride(1);
        if (inner != 1 || col != (frame.ndim() == 3 ? static_cast<std::int64_t>(v.channels) : 1) || frame.stride(0) < 0) {
          throw InputError("set_frame: pixels of a row must be contiguous (use numpy.ascontiguousarray)");
        }
        v.data = frame.data();
        v.row_stride_bytes = static_cast<std::ptrdiff_t>(frame.stride(0) * static_cast<std::int64_t>(item));
        s.set_frame(v);
      }, nb::arg("frame"), "Give a frame (H x W gray or H x W x 3/4 RGB[A]); applied at the next step.")
      .def_prop_ro("sensory_grid", [](const Simulation& s) {
        return nb::make_tuple(s.sensory_grid_height(), s.sensory_grid_width());
      })
      .def("frames_applied", &Simulation::frames_applied)
      .def("set_neuromodulator", &Simulation::set_neuromodulator, nb::arg("signal"))
      .def_prop_ro("neuromodulator", &Simulation::neuromodulator)
      .def("summary", [](Simulation& s) { return summary_dict(summarize(s)); })
      .def("summary_text", [](Simulation& s) { return format_summary(summarize(s)); })
      .def("service_names", &Simulation::service_names)
      .def("write_spike_file", [](const Simulation& s, const std::string& path) {
        io::write_spike_file(path, s.spikes(), s.graph().num_nodes(), s.dt());
      }, nb::arg("path"));

  m.def("read_spike_file", [](const std::string& path) {
    io::SpikeFile f = io::read_spike_file(path);
    nb::dict d;
    d["num_nodes"] = f.num_nodes;
    d["dt_ms"] = f.dt_ms;
    d["steps"] = owned_array(std::move(f.spikes.steps));
    d["nodes"] = owned_array(std::move(f.spikes.nodes));
    return d;
  }, nb::arg("path"), "Read a spike file written by spikegraph-sim or Simulation.write_spike_file.");
}

}  // namespace spikegraph::bindings
