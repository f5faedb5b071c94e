// Checkpoints: save a Simulation, load one (a new Simulation), describe a file.
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "common.hpp"
#include "spikegraph/io/record_stream.hpp"
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
    d["spikes"] = r.has("record/spike_steps") ? r.array<std::int64_t>("record/spike_steps").size() : 0;
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
  m.def("record_chunks", &io::record_chunks, nb::arg("directory"), nb::arg("kind"),
        "The complete record chunk files of `kind` in `directory`, by first step.");
  m.def("read_snapshot", [](const std::string& path) {
    const io::SnapshotReader r = io::SnapshotReader::open(path);
    nb::dict d;
    for (const auto& s : r.sections()) {
      switch (s.dtype) {
        case DType::f32: d[s.name.c_str()] = owned_array(r.array<float>(s.name)); break;
        case DType::f64: d[s.name.c_str()] = owned_array(r.array<double>(s.name)); break;
        case DType::u8: d[s.name.c_str()] = owned_array(r.array<std::uint8_t>(s.name)); break;
        case DType::u16: d[s.name.c_str()] = owned_array(r.array<std::uint16_t>(s.name)); break;
        case DType::i32: d[s.name.c_str()] = owned_array(r.array<std::int32_t>(s.name)); break;
        case DType::u32: d[s.name.c_str()] = owned_array(r.array<std::uint32_t>(s.name)); break;
        case DType::i64: d[s.name.c_str()] = owned_array(r.array<std::int64_t>(s.name)); break;
        case DType::u64: d[s.name.c_str()] = owned_array(r.array<std::uint64_t>(s.name)); break;
      }
    }
    return d;
  }, nb::arg("path"), "Every section of a snapshot file (checkpoint or record chunk) as {name: array}, "
     "after checking every checksum.");
}

}  // namespace spikegraph::bindings
