// NetworkBuilder: populations and projections with connection rules (graph/builder.hpp).
// Distributions arrive as dicts {"dist", "a", "b", "low", "high"} made by
// spikegraph.builder; the Python side turns plain numbers into constants.
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>

#include <string>
#include <vector>

#include "common.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/builder.hpp"
#include "spikegraph/graph/microcircuit.hpp"

namespace spikegraph::bindings {

namespace {

using U32 = nb::ndarray<const std::uint32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

Distribution to_distribution(const nb::dict& d, const char* what) {
  Distribution out;
  const std::string kind = nb::cast<std::string>(d["dist"]);
  if (kind == "constant") {
    out.kind = Distribution::Kind::constant;
  } else if (kind == "uniform") {
    out.kind = Distribution::Kind::uniform;
  } else if (kind == "normal") {
    out.kind = Distribution::Kind::normal;
  } else if (kind == "normal_redrawn") {
    out.kind = Distribution::Kind::normal_redrawn;
  } else if (kind == "lognormal") {
    out.kind = Distribution::Kind::lognormal;
  } else {
    throw GraphError(std::string(what) + ": unknown distribution '" + kind + "'");
  }
  out.a = nb::cast<double>(d["a"]);
  out.b = nb::cast<double>(d["b"]);
  out.low = nb::cast<double>(d["low"]);
  out.high = nb::cast<double>(d["high"]);
  return out;
}

ConnectionRule::Kind to_rule(const std::string& name) {
  using K = ConnectionRule::Kind;
  if (name == "all_to_all") return K::all_to_all;
  if (name == "one_to_one") return K::one_to_one;
  if (name == "fixed_indegree") return K::fixed_indegree;
  if (name == "fixed_outdegree") return K::fixed_outdegree;
  if (name == "fixed_total_number") return K::fixed_total_number;
  if (name == "pairwise_bernoulli") return K::pairwise_bernoulli;
  if (name == "from_list") return K::from_list;
  throw GraphError("connect: unknown rule '" + name +
                   "' (all_to_all, one_to_one, fixed_indegree, fixed_outdegree, fixed_total_number, "
                   "pairwise_bernoulli, from_list)");
}

}  // namespace

void register_builder(nb::module_& m) {
  m.def("microcircuit_design", [](double scale, double k_scale, bool poisson) {
    const MicrocircuitDesign d = microcircuit_design(scale, k_scale, poisson);
    nb::dict out;
    nb::list names, sizes, counts, psc;
    for (int i = 0; i < kMicrocircuitPopulations; ++i) {
      names.append(d.populations[i]);
      sizes.append(d.sizes[i]);
      nb::list c, p;
      for (int j = 0; j < kMicrocircuitPopulations; ++j) {
        c.append(d.counts[i][j]);
        p.append(d.psc[i][j]);
      }
      counts.append(c);
      psc.append(p);
    }
    const auto list = [](const auto& a) {
      nb::list l;
      for (double x : a) l.append(x);
      return l;
    };
    out["populations"] = names;
    out["sizes"] = sizes;
    out["counts"] = counts;
    out["psc"] = psc;
    out["psc_rel_sd"] = d.psc_rel_sd;
    out["delays"] = list(d.delays);
    out["delay_rel_sd"] = d.delay_rel_sd;
    out["drive"] = list(d.drive);
    out["background"] = d.poisson ? "poisson" : "dc";
    out["poisson_rate"] = list(d.poisson_rate);
    out["poisson_weight"] = d.poisson_weight;
    nb::dict neuron;
    neuron["E_L"] = d.e_l;
    neuron["V_th"] = d.v_th;
    neuron["V_reset"] = d.v_reset;
    neuron["C_m"] = d.c_m;
    neuron["tau_m"] = d.tau_m;
    neuron["tau_syn"] = d.tau_syn;
    neuron["t_ref"] = d.t_ref;
    neuron["V0_mean"] = d.v0_mean;
    neuron["V0_sd"] = d.v0_sd;
    out["neuron"] = neuron;
    nb::dict keys;
    for (const auto& [key, value] : microcircuit_config(d, scale, k_scale)) keys[key.c_str()] = from_value(value);
    out["config"] = keys;
    return out;
  }, nb::arg("scale"), nb::arg("k_scale"), nb::arg("poisson"),
     "The microcircuit's numbers (graph/microcircuit.hpp) and the configuration keys it needs.");
  m.def("psc_per_psp", &psc_per_psp, nb::arg("c_m"), nb::arg("tau_m"), nb::arg("tau_syn"));

  nb::class_<NetworkBuilder>(m, "NetworkBuilder", "Populations and projections with connection rules.")
      .def(nb::init<std::uint64_t, double>(), nb::arg("seed"), nb::arg("dt_ms"))
      .def("add_population", [](NetworkBuilder& b, const std::string& name, const std::string& type,
                                std::int64_t size) {
        NodeType t;
        if (!parse_node_type(type.c_str(), t)) {
          throw GraphError("add_population('" + name + "'): unknown node type '" + type + "'");
        }
        const Population& p = b.add_population(name, t, size);
        return nb::make_tuple(p.first, p.size);
      }, nb::arg("name"), nb::arg("type"), nb::arg("size"))
      .def("connect", [](NetworkBuilder& b, const std::string& pre, const std::string& post, const std::string& rule,
                         std::int64_t n, double p, bool autapses, bool multapses, const nb::dict& weight,
                         const nb::dict& delay, const std::string& kind, bool plastic, U32 pre_index, U32 post_index) {
        ConnectionRule r;
        r.kind = to_rule(rule);
        r.n = n;
        r.p = p;
        r.autapses = autapses;
        r.multapses = multapses;
        r.pre.assign(pre_index.data(), pre_index.data() + pre_index.shape(0));
        r.post.assign(post_index.data(), post_index.data() + post_index.shape(0));
        EdgeKind k;
        if (!parse_edge_kind(kind.c_str(), k)) throw GraphError("connect: unknown edge kind '" + kind + "'");
        b.connect(pre, post, r, to_distribution(weight, "connect: weight"), to_distribution(delay, "connect: delay"),
                  k, plastic);
      }, nb::arg("pre"), nb::arg("post"), nb::arg("rule"), nb::arg("n"), nb::arg("p"), nb::arg("autapses"),
         nb::arg("multapses"), nb::arg("weight"), nb::arg("delay"), nb::arg("kind"), nb::arg("plastic"),
         nb::arg("pre_index"), nb::arg("post_index"))
      .def("set_initial", [](NetworkBuilder& b, const std::string& population, const std::string& variable,
                             const nb::dict& value) {
        b.set_initial(population, variable, to_distribution(value, "set_initial"));
      }, nb::arg("population"), nb::arg("variable"), nb::arg("value"))
      .def("set_initial_values", [](NetworkBuilder& b, const std::string& population, const std::string& variable,
                                    nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu> values) {
        b.set_initial(population, variable, std::vector<double>(values.data(), values.data() + values.shape(0)));
      }, nb::arg("population"), nb::arg("variable"), nb::arg("values"))
      .def("initial_state", [](const NetworkBuilder& b) {
        nb::dict out;
        for (auto& [name, values] : b.initial_state()) out[name.c_str()] = owned_array(std::move(values));
        return out;
      }, "Per variable, one initial value per node (NaN where no population set one).")
      .def_prop_ro("populations", [](const NetworkBuilder& b) {
        nb::list out;
        for (const auto& p : b.populations()) {
          out.append(nb::make_tuple(p.name, node_type_name(p.type), p.first, p.size));
        }
        return out;
      })
      .def_prop_ro("num_projections", &NetworkBuilder::num_projections)
      .def("build", [](const NetworkBuilder& b, int threads) {
        std::shared_ptr<const Graph> g;
        {
          nb::gil_scoped_release release;
          g = b.build(threads);
        }
        return std::const_pointer_cast<Graph>(g);
      }, nb::arg("threads") = 0);
}

}  // namespace spikegraph::bindings
