// Graph: building from numpy arrays (validated in C++), the Brunel generator,
// and zero-copy read-only views of the stored arrays.
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>

#include <nanobind/stl/optional.h>

#include <optional>

#include "common.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/graph/graph.hpp"

namespace spikegraph::bindings {

using I64 = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using F64 = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using U8 = nb::ndarray<const std::uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

nb::object view_array(const ArrayRef& a, nb::handle owner, bool writeable) {
  size_t shape[1] = {a.size};
  nb::dlpack::dtype dt;
  switch (a.dtype) {
    case DType::f32: dt = nb::dtype<float>(); break;
    case DType::f64: dt = nb::dtype<double>(); break;
    case DType::u8: dt = nb::dtype<std::uint8_t>(); break;
    case DType::u16: dt = nb::dtype<std::uint16_t>(); break;
    case DType::i32: dt = nb::dtype<std::int32_t>(); break;
    case DType::i64: dt = nb::dtype<std::int64_t>(); break;
    case DType::u32: dt = nb::dtype<std::uint32_t>(); break;
    case DType::u64: dt = nb::dtype<std::uint64_t>(); break;
  }
  nb::object arr = nb::cast(nb::ndarray<nb::numpy>(a.data, 1, shape, owner, nullptr, dt));
  if (!writeable) arr.attr("flags").attr("writeable") = false;
  return arr;
}

namespace {

using GraphPtr = std::shared_ptr<Graph>;

GraphPtr mutable_ptr(std::shared_ptr<const Graph> g) { return std::const_pointer_cast<Graph>(std::move(g)); }

template <class T>
nb::object view(const Graph& g, const std::vector<T>& v) {
  ArrayRef a{const_cast<T*>(v.data()), v.size(), dtype_of<T>()};
  return view_array(a, nb::find(&g), false);
}

void check_len(const char* name, size_t got, size_t want) {
  if (got != want) {
    throw GraphError(std::string("build graph: ") + name + " has " + std::to_string(got) +
                     " elements, expected " + std::to_string(want) + " (one per edge)");
  }
}

}  // namespace

void register_graph(nb::module_& m) {
  nb::class_<Graph>(m, "Graph", "An immutable sparse graph (CSR by source, rows sorted by target).")
      .def_static(
          "from_arrays",
          [](std::int64_t num_nodes, I64 sources, I64 targets, F64 weights, std::optional<I64> delays,
             std::optional<I64> kinds, std::optional<I64> node_types, std::optional<U8> plastic) {
            if (num_nodes < 0) throw GraphError("build graph: num_nodes must be >= 0");
            const size_t m_edges = sources.shape(0);
            check_len("targets", targets.shape(0), m_edges);
            check_len("weights", weights.shape(0), m_edges);
            if (delays) check_len("delays", delays->shape(0), m_edges);
            if (kinds) check_len("kinds", kinds->shape(0), m_edges);
            if (plastic) check_len("plastic", plastic->shape(0), m_edges);
            if (node_types && node_types->shape(0) != static_cast<size_t>(num_nodes)) {
              throw GraphError("build graph: node_types has " + std::to_string(node_types->shape(0)) +
                               " elements, expected " + std::to_string(num_nodes) + " (one per node)");
            }
            EdgeArrays a;
            a.num_edges = m_edges;
            a.sources = sources.data();
            a.targets = targets.data();
            a.weights = weights.data();
            a.delays = delays ? delays->data() : nullptr;
            a.kinds = kinds ? kinds->data() : nullptr;
            a.plastic = plastic ? plastic->data() : nullptr;
            const std::int64_t* types = node_types ? node_types->data() : nullptr;
            nb::gil_scoped_release release;
            return mutable_ptr(GraphBuilder::from_arrays(static_cast<size_t>(num_nodes), types, a));
          },
          nb::arg("num_nodes"), nb::arg("sources"), nb::arg("targets"), nb::arg("weights"),
          nb::arg("delays").none() = nb::none(), nb::arg("kinds").none() = nb::none(),
          nb::arg("node_types").none() = nb::none(), nb::arg("plastic").none() = nb::none())
      .def_static(
          "brunel",
          [](std::int64_t n, double exc_fraction, std::int64_t k_in, double j, double g, std::int64_t delay_steps,
             std::uint64_t seed, bool plastic_exc_exc) {
            BrunelParams p;
            p.n = n;
            p.exc_fraction = exc_fraction;
            p.k_in = k_in;
            p.j = j;
            p.g = g;
            p.delay_steps = delay_steps;
            p.seed = seed;
            p.plastic_exc_exc = plastic_exc_exc;
            nb::gil_scoped_release release;
            return mutable_ptr(make_brunel(p));
          },
          nb::arg("n"), nb::arg("exc_fraction"), nb::arg("k_in"), nb::arg("j"), nb::arg("g"),
          nb::arg("delay_steps"), nb::arg("seed"), nb::arg("plastic_exc_exc") = false)
      .def_static("from_config", [](const config::Config& c) {
        BuiltNetwork net;
        {
          nb::gil_scoped_release release;
          net = build_network(c);
        }
        nb::dict initial;
        for (auto& [name, values] : net.initial_state) initial[name.c_str()] = owned_array(std::move(values));
        return nb::make_tuple(mutable_ptr(net.graph), initial);
      }, "The network of a configuration's [network] section and its initial values per variable.")
      .def_prop_ro("num_nodes", &Graph::num_nodes)
      .def_prop_ro("num_edges", &Graph::num_edges)
      .def_prop_ro("max_delay", &Graph::max_delay)
      .def_prop_ro("node_types", [](const Graph& g) { return view(g, g.node_type()); })
      .def_prop_ro("out_offsets", [](const Graph& g) { return view(g, g.out_offsets()); })
      .def_prop_ro("targets", [](const Graph& g) { return view(g, g.edge_target()); })
      .def_prop_ro("weights", [](const Graph& g) { return view(g, g.edge_weight()); })
      .def_prop_ro("delays", [](const Graph& g) { return view(g, g.edge_delay()); })
      .def_prop_ro("kinds", [](const Graph& g) { return view(g, g.edge_kind()); })
      .def_prop_ro("plastic", [](const Graph& g) { return view(g, g.edge_plastic()); })
      .def("sources", [](const Graph& g) { return owned_array(g.edge_sources()); })
      .def("in_edges", [](const Graph& g) {
        const TargetIndex& t = g.by_target();
        return nb::make_tuple(view(g, t.in_offsets), view(g, t.in_edges), view(g, t.in_sources));
      }, "The by-target index: (in_offsets, edge ids, sources), built on first use.")
      .def("memory_bytes", &Graph::memory_bytes)
      .def("validate", &Graph::validate)
      .def("stats", [](const Graph& g) {
        GraphStats s = g.stats();
        nb::dict d;
        d["num_nodes"] = s.num_nodes;
        d["num_edges"] = s.num_edges;
        nb::dict kinds, types;
        for (int k = 0; k < kEdgeKindCount; ++k) kinds[edge_kind_name(static_cast<EdgeKind>(k))] = s.edges_by_kind[k];
        for (int t = 0; t < kNodeTypeCount; ++t) types[node_type_name(static_cast<NodeType>(t))] = s.nodes_by_type[t];
        d["edges_by_kind"] = kinds;
        d["nodes_by_type"] = types;
        d["max_delay"] = s.max_delay;
        d["max_out_degree"] = s.max_out_degree;
        d["max_in_degree"] = s.max_in_degree;
        d["mean_weight"] = s.mean_weight;
        return d;
      });
}

}  // namespace spikegraph::bindings
