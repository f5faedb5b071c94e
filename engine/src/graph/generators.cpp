#include "spikegraph/graph/generators.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/microcircuit.hpp"
#include "spikegraph/kernels/rng.hpp"

namespace spikegraph {

namespace {
[[noreturn]] void bad(const std::string& what) { throw GraphError("make_brunel: " + what); }

// Uniform integer in [0, n) from 32 random bits (multiply-high; bias < n / 2^32).
inline index_t below(std::uint32_t u, std::uint64_t n) {
  return static_cast<index_t>((static_cast<std::uint64_t>(u) * n) >> 32);
}
}  // namespace

namespace {

// Brunel's edges: edge i of target t draws its source with counter (t, i), so any part
// of the graph can be drawn on its own and the graph depends only on the seed.
struct BrunelDraw {
  std::uint64_t n = 0, n_exc = 0, n_inh = 0, k = 0, k_exc = 0;
  float w_exc = 0, w_inh = 0;
  bool plastic = false;  // excitatory-to-excitatory edges are plastic
  kernels::RngKey key{};

  explicit BrunelDraw(const BrunelParams& p) {
    if (p.n < 1 || p.n > static_cast<std::int64_t>(std::numeric_limits<index_t>::max() - 1)) {
      bad("n = " + std::to_string(p.n) + " must be in [1, 4294967294]");
    }
    if (p.k_in < 0) bad("k_in = " + std::to_string(p.k_in) + " must be >= 0");
    if (!(p.exc_fraction >= 0.0 && p.exc_fraction <= 1.0)) bad("exc_fraction must be in [0, 1]");
    if (!std::isfinite(p.j) || p.j < 0.0) bad("j must be finite and >= 0");
    if (!std::isfinite(p.g) || p.g < 0.0) bad("g must be finite and >= 0");
    if (p.delay_steps < 1 || p.delay_steps > 65535) bad("delay must be 1..65535 steps");
    n = static_cast<std::uint64_t>(p.n);
    n_exc = static_cast<std::uint64_t>(std::llround(p.exc_fraction * static_cast<double>(n)));
    n_inh = n - n_exc;
    k = static_cast<std::uint64_t>(p.k_in);
    k_exc = static_cast<std::uint64_t>(std::llround(p.exc_fraction * static_cast<double>(k)));
    if (k_exc > 0 && n_exc == 0) bad("excitatory edges requested but no excitatory nodes");
    if (k - k_exc > 0 && n_inh == 0) bad("inhibitory edges requested but no inhibitory nodes");
    if (n * k > std::numeric_limits<index_t>::max() - 1) bad("n * k_in exceeds 2^32 - 1 edges");
    key = kernels::make_key(p.seed, static_cast<std::uint64_t>(kernels::RngStream::graph_build));
    w_exc = static_cast<float>(p.j);
    w_inh = static_cast<float>(p.g * p.j);
    plastic = p.plastic_exc_exc;
  }
  index_t source(std::uint64_t t, std::uint64_t i) const {
    const std::uint32_t u = kernels::draw_u32(key, static_cast<std::uint32_t>(t), i);
    return i < k_exc ? below(u, n_exc) : static_cast<index_t>(n_exc) + below(u, n_inh);
  }
  bool excitatory(std::uint64_t i) const { return i < k_exc; }
  std::uint8_t is_plastic(std::uint64_t t, std::uint64_t i) const { return plastic && excitatory(i) && t < n_exc; }
  // Whether the graph has a plastic flag per edge (some edge is plastic).
  bool any_plastic() const { return plastic && k_exc > 0 && n_exc > 0; }
};

}  // namespace

std::shared_ptr<const Graph> make_brunel(const BrunelParams& p) {
  const BrunelDraw b(p);
  const std::uint64_t m = b.n * b.k;
  std::vector<index_t> src(m), tgt(m);
  std::vector<float> w(m);
  std::vector<std::uint16_t> d(m, static_cast<std::uint16_t>(p.delay_steps));
  std::vector<std::uint8_t> kind(m), plastic;
  if (p.plastic_exc_exc) plastic.assign(m, 0);
  for (std::uint64_t t = 0; t < b.n; ++t) {
    for (std::uint64_t i = 0; i < b.k; ++i) {
      const std::uint64_t e = t * b.k + i;
      src[e] = b.source(t, i);
      tgt[e] = static_cast<index_t>(t);
      w[e] = b.excitatory(i) ? b.w_exc : b.w_inh;
      kind[e] = static_cast<std::uint8_t>(b.excitatory(i) ? EdgeKind::excitatory : EdgeKind::inhibitory);
      if (p.plastic_exc_exc) plastic[e] = b.is_plastic(t, i);
    }
  }
  std::vector<std::uint8_t> types(b.n, static_cast<std::uint8_t>(NodeType::dynamic));
  return GraphBuilder::from_validated(std::move(types), src, tgt, w, d, kind, plastic);
}

std::shared_ptr<const Graph> make_brunel_part(const BrunelParams& p, index_t begin, index_t end, bool source_rows,
                                              std::vector<std::uint64_t>& row_base) {
  const BrunelDraw b(p);
  if (begin > end || end > b.n) bad("part [" + std::to_string(begin) + ", " + std::to_string(end) + ") is not a node range");
  auto kept = [&](std::uint64_t t, index_t s) {
    return (t >= begin && t < end) || (source_rows && s >= begin && s < end);
  };
  // Pass 1, over every edge without storing it: each source's out-degree (the whole
  // graph's row offsets) and its edges into nodes before `begin` (where the part's run
  // of a row starts in the whole row), and the kept edges per source.
  std::vector<offset_t> offsets(b.n + 1, 0), before(b.n, 0), local(b.n + 1, 0);
  for (std::uint64_t t = 0; t < b.n; ++t) {
    for (std::uint64_t i = 0; i < b.k; ++i) {
      const index_t s = b.source(t, i);
      ++offsets[s + 1];
      if (t < begin) ++before[s];
      if (kept(t, s)) ++local[s + 1];
    }
  }
  for (std::uint64_t s = 0; s < b.n; ++s) {
    offsets[s + 1] += offsets[s];
    local[s + 1] += local[s];
  }
  // Pass 2: the kept edges into their rows, in target order (ties in draw order, as
  // GraphBuilder sorts the whole graph).
  const std::uint64_t m = local[b.n];
  std::vector<index_t> targets(m);
  std::vector<float> weights(m);
  std::vector<std::uint16_t> delays(m, static_cast<std::uint16_t>(p.delay_steps));
  std::vector<std::uint8_t> kinds(m), plastic(b.any_plastic() ? m : 0);
  // A whole row (source_rows, own source) starts at the row's start; a run of targets
  // in [begin, end) after the row's edges into earlier nodes.
  row_base.resize(b.n);
  for (std::uint64_t s = 0; s < b.n; ++s) {
    const bool whole_row = source_rows && s >= begin && s < end;
    row_base[s] = offsets[s] + (whole_row ? 0 : before[s]);
  }
  std::vector<offset_t> cursor(local.begin(), local.end() - 1);
  const std::uint64_t t_first = source_rows ? 0 : begin, t_last = source_rows ? b.n : end;
  for (std::uint64_t t = t_first; t < t_last; ++t) {
    for (std::uint64_t i = 0; i < b.k; ++i) {
      const index_t s = b.source(t, i);
      if (!kept(t, s)) continue;
      const offset_t slot = cursor[s]++;
      targets[slot] = static_cast<index_t>(t);
      weights[slot] = b.excitatory(i) ? b.w_exc : b.w_inh;
      kinds[slot] = static_cast<std::uint8_t>(b.excitatory(i) ? EdgeKind::excitatory : EdgeKind::inhibitory);
      if (!plastic.empty()) plastic[slot] = b.is_plastic(t, i);
    }
  }
  return GraphBuilder::from_csr(std::vector<std::uint8_t>(b.n, static_cast<std::uint8_t>(NodeType::dynamic)),
                                std::move(local), std::move(targets), std::move(weights), std::move(delays),
                                std::move(kinds), std::move(plastic),
                                static_cast<std::uint16_t>(b.n * b.k > 0 ? p.delay_steps : 0));
}

std::uint64_t brunel_edges(const BrunelParams& p) {
  const BrunelDraw b(p);
  return b.n * b.k;
}

}  // namespace spikegraph

#include <algorithm>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/sim/model_params.hpp"

namespace spikegraph {

std::shared_ptr<const Graph> make_default_network(const config::Config& cfg) {
  const auto side = static_cast<std::uint64_t>(cfg.integer("graph.sensory_side"));
  // The visual grid, then the audio sensory nodes (sensory.audio_bands): all project forward.
  const std::uint64_t n_sensory = side * side + static_cast<std::uint64_t>(cfg.integer("sensory.audio_bands"));
  const std::uint64_t n_dynamic = side * side * static_cast<std::uint64_t>(cfg.integer("graph.dynamic_per_sensory"));
  const auto ws = static_cast<std::uint64_t>(cfg.integer("graph.workspace_side"));
  const std::uint64_t counts[6] = {n_sensory, n_dynamic, ws * ws,
                                   static_cast<std::uint64_t>(cfg.integer("graph.oscillators")),
                                   static_cast<std::uint64_t>(cfg.integer("graph.relays")),
                                   static_cast<std::uint64_t>(cfg.integer("graph.highways"))};
  const NodeType order[6] = {NodeType::sensory,    NodeType::dynamic, NodeType::workspace,
                             NodeType::oscillator, NodeType::relay,   NodeType::highway};
  std::vector<std::uint8_t> types;
  for (int b = 0; b < 6; ++b) types.insert(types.end(), counts[b], static_cast<std::uint8_t>(order[b]));
  const std::uint64_t n = types.size();
  if (n == 0 || n > std::numeric_limits<index_t>::max() - 1) throw GraphError("make_default_network: bad node count");
  if (n_dynamic == 0) throw GraphError("make_default_network: the network needs dynamic nodes");

  const double mean_degree = cfg.real("graph.out_degree");
  const std::vector<std::uint32_t> degree_table = poisson_cdf_table(mean_degree);
  const double scale = cfg.real("graph.weight_scale");
  const auto fractions = cfg.value("graph.kind_fractions").items;
  double cumulative[kEdgeKindCount];
  double acc = 0.0;
  for (int k = 0; k < kEdgeKindCount; ++k) cumulative[k] = (acc += fractions[static_cast<std::size_t>(k)].f);
  const std::int64_t max_delay = std::max<std::int64_t>(1, std::llround(cfg.real("graph.max_delay") / cfg.real("sim.dt")));
  const std::uint64_t first_dynamic = n_sensory;
  const std::uint64_t first_workspace = n_sensory + n_dynamic;
  const std::uint64_t non_sensory = n - n_sensory;
  const auto key = kernels::make_key(static_cast<std::uint64_t>(cfg.integer("sim.seed")),
                                     static_cast<std::uint64_t>(kernels::RngStream::graph_build));
  std::vector<index_t> src, tgt;
  std::vector<float> w;
  std::vector<std::uint16_t> d;
  std::vector<std::uint8_t> kind, plastic;
  for (std::uint64_t s = 0; s < n; ++s) {
    if (s >= first_workspace && s < first_workspace + counts[2]) continue;  // workspace only receives
    const bool sensory = s < n_sensory;
    // Counter (s, c): c = 0 draws the out-degree, then four draws per edge.
    const std::uint32_t degree = kernels::poisson_from_table(kernels::draw_u32(key, static_cast<std::uint32_t>(s), 0),
                                                             degree_table.data(), static_cast<int>(degree_table.size()));
    for (std::uint32_t e = 0; e < degree; ++e) {
      const std::uint64_t c = 1 + 4ull * e;
      const std::uint32_t u_target = kernels::draw_u32(key, static_cast<std::uint32_t>(s), c);
      std::uint64_t t;
      if (sensory) {
        t = first_dynamic + below(u_target, n_dynamic);
      } else {
        t = n_sensory + below(u_target, non_sensory - 1);  // every non-sensory node but s
        if (t >= s) ++t;
      }
      const double u_kind = kernels::draw_uniform(key, static_cast<std::uint32_t>(s), c + 1);
      int k = 0;
      while (k < kEdgeKindCount - 1 && u_kind >= cumulative[k]) ++k;
      const double u_weight = kernels::draw_uniform(key, static_cast<std::uint32_t>(s), c + 2);
      const std::uint32_t u_delay = kernels::draw_u32(key, static_cast<std::uint32_t>(s), c + 3);
      src.push_back(static_cast<index_t>(s));
      tgt.push_back(static_cast<index_t>(t));
      w.push_back(static_cast<float>((0.1 + 0.9 * u_weight) * scale));
      d.push_back(static_cast<std::uint16_t>(1 + below(u_delay, static_cast<std::uint64_t>(max_delay))));
      kind.push_back(static_cast<std::uint8_t>(k));
      plastic.push_back(k == static_cast<int>(EdgeKind::excitatory) ? 1 : 0);
    }
  }
  // The retinotopic pathway: visual sensory node i (row r, column c) drives its own column
  // of dynamic nodes, and they drive the workspace node over pixel (r, c), so the
  // workspace sees a coarse copy of the grid. Fixed (not plastic) excitatory edges of
  // one step, drawn from nothing: the random edges above are unchanged by them.
  const double column_w = cfg.real("graph.column_weight");
  const double readout_w = cfg.real("graph.readout_weight");
  const std::uint64_t per = n_dynamic / (side * side);
  auto fixed_edge = [&](std::uint64_t s, std::uint64_t t, double weight) {
    src.push_back(static_cast<index_t>(s));
    tgt.push_back(static_cast<index_t>(t));
    w.push_back(static_cast<float>(weight));
    d.push_back(1);
    kind.push_back(static_cast<std::uint8_t>(EdgeKind::excitatory));
    plastic.push_back(0);
  };
  for (std::uint64_t pixel = 0; pixel < side * side; ++pixel) {
    const std::uint64_t ws_cell = ws == 0 ? 0 : (pixel / side * ws / side) * ws + (pixel % side * ws / side);
    for (std::uint64_t j = 0; j < per; ++j) {
      const std::uint64_t dyn = first_dynamic + pixel * per + j;
      if (column_w > 0.0) fixed_edge(pixel, dyn, column_w);
      if (readout_w > 0.0 && ws > 0) fixed_edge(dyn, first_workspace + ws_cell, readout_w);
    }
  }
  return GraphBuilder::from_validated(std::move(types), src, tgt, w, d, kind, plastic);
}

NetworkBuilder microcircuit_builder_of(const config::Config& cfg) {
  const double scale = cfg.real("network.scale"), k_scale = cfg.real("network.k_scale");
  const MicrocircuitDesign d = microcircuit_design(scale, k_scale, cfg.string("network.background") == "poisson");
  // The circuit's numbers assume its neurons: the configuration must describe them.
  std::string differ;
  for (const auto& [key, value] : microcircuit_config(d, scale, k_scale)) {
    // Reals to 1e-9: a file may spell a derived value (the Poisson weight) in fewer digits.
    const bool same = value.type == config::Value::Type::String
                          ? cfg.string(key) == value.s
                          : std::abs(cfg.real(key) - value.f) <= 1e-9 * std::max(1.0, std::abs(value.f));
    if (!same) {
      differ += (differ.empty() ? "" : ", ") + key + " = " + value.to_string() + " (is " +
                cfg.value(key).to_string() + ")";
    }
  }
  if (!differ.empty()) {
    throw ConfigError("network.kind = 'microcircuit' needs the circuit's neurons and Poisson weight: " + differ);
  }
  return microcircuit_builder(d, static_cast<std::uint64_t>(cfg.integer("sim.seed")), cfg.real("sim.dt"));
}

namespace {

BuiltNetwork build_microcircuit(const config::Config& cfg) {
  const NetworkBuilder b = microcircuit_builder_of(cfg);
  return BuiltNetwork{b.build(static_cast<int>(cfg.integer("sim.threads"))), b.initial_state()};
}

}  // namespace

BuiltNetwork build_network(const config::Config& cfg) {
  const std::string& kind = cfg.string("network.kind");
  if (kind == "microcircuit") return build_microcircuit(cfg);
  return BuiltNetwork{make_network(cfg), {}};
}

std::shared_ptr<const Graph> make_network(const config::Config& cfg) {
  const std::string& kind = cfg.string("network.kind");
  if (kind == "default") return make_default_network(cfg);
  if (kind == "microcircuit") return build_microcircuit(cfg).graph;
  if (kind != "brunel") throw ConfigError("make_network: unknown network.kind '" + kind + "'");
  return make_brunel(brunel_params(cfg));
}

BrunelParams brunel_params(const config::Config& cfg) {
  BrunelParams p;
  p.n = cfg.integer("network.n");
  p.exc_fraction = cfg.real("network.exc_fraction");
  p.k_in = cfg.integer("network.k_in");
  p.j = cfg.real("network.j");
  p.g = cfg.real("network.g");
  p.delay_steps = cfg.steps("network.delay", 1);
  p.seed = static_cast<std::uint64_t>(cfg.integer("sim.seed"));
  p.plastic_exc_exc = cfg.string("network.plastic") == "exc_exc";
  return p;
}

}  // namespace spikegraph
