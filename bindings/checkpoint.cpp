// Checkpoints: save a Simulation, load one (a new Simulation), describe a file.
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>

#include "common.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph::bindings {

void register_checkpoint(nb::module_& m) {
  m.def("save_checkpoint", [](const Simulation& sim, const std::string& path) { sim.save(path); },
        nb::arg("simulation"), nb::arg("path"), nb::call_guard<nb::gil_scoped_release>(),
        "Write the simulation's complete state to `path` (atomically).");
  m.def("load_checkpoint", [](const std::string& path) { return Simulation::load(path); }, nb::arg("path"),
        nb::call_guard<nb::gil_scoped_release>(), "A new Simulation rebuilt from a checkpoint file.");
  m.def("checkpoint_info", [](const std::string& path) {
    const io::SnapshotReader r = io::SnapshotReader::open(path);
    nb::dict d;
    d["format_version"] = r.version();
    d["engine_version"] = r.text("meta/engine_version");
    d["step"] = r.scalar<std::int64_t>("sim/step");
    d["num_nodes"] = r.scalar<std::uint64_t>("graph/num_nodes");
    d["num_edges"] = r.array<index_t>("graph/edge_target").size();
    d["spikes"] = r.array<std::int64_t>("record/spike_steps").size();
    d["config"] = r.text("config");
    nb::list sections;
    std::uint64_t bytes = 0;
    for (const auto& s : r.sections()) {
      sections.append(nb::make_tuple(s.name, dtype_name(s.dtype), s.count));
      bytes += s.count * dtype_size(s.dtype);
    }
    d["sections"] = sections;
    d["data_bytes"] = bytes;
    return d;
  }, nb::arg("path"), "Check a checkpoint file (every checksum) and describe it.");
}

}  // namespace spikegraph::bindings
