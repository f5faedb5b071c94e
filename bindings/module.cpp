// NB_MODULE(_core): the spikegraph engine for Python. Conversion only; the
// Python package (python/spikegraph) adds orchestration and I/O.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "common.hpp"
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/version.hpp"

using namespace spikegraph;

NB_MODULE(_core, m) {
  m.doc() = "spikegraph engine (C++), bound with nanobind";
  bindings::register_errors(m);
  bindings::register_config(m);
  bindings::register_graph(m);
  bindings::register_builder(m);
  bindings::register_simulation(m);
  bindings::register_checkpoint(m);
  bindings::register_audio(m);
  bindings::register_analysis(m);
  bindings::register_services(m);
  bindings::register_dist(m);
  m.attr("__version__") = version();
  m.def("build_info", []() {
    nb::dict d;
    for (const auto& [k, v] : build_info()) d[k.c_str()] = v;
    return d;
  }, "What was compiled in and what runs here, as a dict of strings.");
  m.def("available_backends", []() {
    nb::list out;
    for (const auto& b : available_backends()) {
      nb::dict d;
      d["name"] = b.name;
      d["compiled"] = b.compiled;
      d["available"] = b.available;
      d["detail"] = b.detail;
      out.append(d);
    }
    return out;
  }, "Every backend with whether it was compiled in and is usable here.");
}
