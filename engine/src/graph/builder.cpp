#include "spikegraph/graph/builder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <unordered_set>

#include "../backend/cpu/parallel.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph {

namespace {

using kernels::RngKey;
using Rule = ConnectionRule::Kind;
using Dist = Distribution::Kind;

const char* rule_name(Rule k) {
  switch (k) {
    case Rule::all_to_all: return "all_to_all";
    case Rule::one_to_one: return "one_to_one";
    case Rule::fixed_indegree: return "fixed_indegree";
    case Rule::fixed_outdegree: return "fixed_outdegree";
    case Rule::fixed_total_number: return "fixed_total_number";
    case Rule::pairwise_bernoulli: return "pairwise_bernoulli";
    case Rule::from_list: return "from_list";
  }
  return "?";
}

// The key of one purpose (pairs, weights, delays) of projection q.
RngKey projection_key(std::uint64_t seed, std::size_t q, kernels::RngStream purpose) {
  return kernels::make_key(kernels::mix64(seed ^ (0x9e3779b97f4a7c15ull * (q + 1))),
                           static_cast<std::uint64_t>(purpose));
}

// A uniform integer in [0, n) for n < 2^32 (the high bits of a 32-bit draw times n).
index_t below(RngKey key, std::uint32_t index, std::uint64_t step, std::uint64_t n) {
  return static_cast<index_t>((static_cast<std::uint64_t>(kernels::draw_u32(key, index, step)) * n) >> 32);
}

// Which values a distribution can give: [lo, hi].
void value_range(const Distribution& d, double& lo, double& hi) {
  switch (d.kind) {
    case Dist::constant: lo = hi = d.a; return;
    case Dist::uniform: lo = d.a; hi = d.b; return;
    case Dist::normal:
    case Dist::normal_redrawn: lo = d.low; hi = d.high; return;
    case Dist::lognormal: lo = 0.0; hi = 1e300; return;
  }
}

// Draw `draw` of edge e from d; normal values come from Box-Muller on two uniforms.
double sample(const Distribution& d, RngKey key, std::uint32_t e, const std::string& what) {
  auto normal = [&](std::uint64_t attempt) {
    const double u1 = kernels::draw_uniform(key, e, 2 * attempt);
    const double u2 = kernels::draw_uniform(key, e, 2 * attempt + 1);
    return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(6.283185307179586 * u2);
  };
  switch (d.kind) {
    case Dist::constant: return d.a;
    case Dist::uniform: return d.a + (d.b - d.a) * kernels::draw_uniform(key, e, 0);
    case Dist::normal: return std::min(d.high, std::max(d.low, d.a + d.b * normal(0)));
    case Dist::normal_redrawn:
      for (std::uint64_t attempt = 0; attempt < 10000; ++attempt) {
        const double v = d.a + d.b * normal(attempt);
        if (v >= d.low && v <= d.high) return v;
      }
      throw GraphError(what + ": a redrawn normal found no value in [" + std::to_string(d.low) + ", " +
                       std::to_string(d.high) + "] in 10000 draws");
    case Dist::lognormal: return std::exp(d.a + d.b * normal(0));
  }
  return 0.0;
}

// The parameters of a distribution are usable (any values may be drawn).
void check_parameters(const Distribution& d, const std::string& what) {
  const double params[] = {d.a, d.b};
  for (double v : params) {
    if (!std::isfinite(v)) throw GraphError(what + ": parameters must be finite");
  }
  if (std::isnan(d.low) || std::isnan(d.high) || d.low > d.high) throw GraphError(what + ": low must be <= high");
  if ((d.kind == Dist::normal || d.kind == Dist::normal_redrawn || d.kind == Dist::lognormal) && d.b < 0.0) {
    throw GraphError(what + ": the standard deviation must be >= 0");
  }
  if (d.kind == Dist::uniform && !(d.a <= d.b)) throw GraphError(what + ": uniform needs low <= high");
}

void check_distribution(const Distribution& d, const std::string& what) {
  check_parameters(d, what);
  double lo = 0.0, hi = 0.0;
  value_range(d, lo, hi);
  if (lo < 0.0) {
    throw GraphError(what + " can draw negative values (its lowest is " + std::to_string(lo) +
                     "): give a lower bound >= 0 (the edge kind gives the sign)");
  }
}

}  // namespace

NetworkBuilder::NetworkBuilder(std::uint64_t seed, double dt_ms) : seed_(seed), dt_(dt_ms) {
  if (!(dt_ms > 0.0) || !std::isfinite(dt_ms)) throw GraphError("NetworkBuilder: dt must be finite and > 0");
}

const Population& NetworkBuilder::add_population(const std::string& name, NodeType type, std::int64_t size) {
  const std::string what = "add_population('" + name + "')";
  if (name.empty()) throw GraphError("add_population: the population needs a name");
  for (const auto& p : populations_) {
    if (p.name == name) throw GraphError(what + ": a population of that name exists");
  }
  const std::uint64_t total = num_nodes();
  if (size < 1 || total + static_cast<std::uint64_t>(size) > 0xfffffffeull) {
    throw GraphError(what + ": size must be >= 1 and the network at most 2^32 - 2 nodes, got " +
                     std::to_string(size));
  }
  if (static_cast<int>(type) >= kNodeTypeCount) throw GraphError(what + ": unknown node type");
  populations_.push_back(Population{name, type, static_cast<index_t>(total), static_cast<index_t>(size)});
  return populations_.back();
}

namespace {
std::size_t population_index(const std::vector<Population>& pops, const std::string& name, const std::string& what) {
  for (std::size_t k = 0; k < pops.size(); ++k) {
    if (pops[k].name == name) return k;
  }
  throw GraphError(what + ": no population named '" + name + "'");
}

void check_initial_variable(const std::string& variable, const std::string& what) {
  const NodeVarInfo* row = find_node_var(variable);
  if (!row) throw GraphError(what + ": " + unknown_node_var_message(variable));
  if (row->id == NodeVar::alive) throw GraphError(what + ": 'alive' has no initial value (every node starts alive)");
}
}  // namespace

void NetworkBuilder::set_initial(const std::string& population, const std::string& variable,
                                 const Distribution& value) {
  const std::string what = "set_initial('" + population + "', '" + variable + "')";
  const std::size_t p = population_index(populations_, population, what);
  check_initial_variable(variable, what);
  check_parameters(value, what);
  put_initial(Initial{p, variable, value, {}});
}

void NetworkBuilder::set_initial(const std::string& population, const std::string& variable,
                                 std::vector<double> values) {
  const std::string what = "set_initial('" + population + "', '" + variable + "')";
  const std::size_t p = population_index(populations_, population, what);
  check_initial_variable(variable, what);
  if (values.size() != populations_[p].size) {
    throw GraphError(what + ": " + std::to_string(values.size()) + " values for " +
                     std::to_string(populations_[p].size) + " nodes");
  }
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (!std::isfinite(values[k])) throw GraphError(what + ": value " + std::to_string(k) + " is not finite");
  }
  put_initial(Initial{p, variable, {}, std::move(values)});
}

void NetworkBuilder::put_initial(Initial initial) {
  for (auto& i : initial_) {
    if (i.population == initial.population && i.variable == initial.variable) {
      i = std::move(initial);
      return;
    }
  }
  initial_.push_back(std::move(initial));
}

std::map<std::string, std::vector<double>> NetworkBuilder::initial_state() const {
  std::map<std::string, std::vector<double>> out;
  const std::size_t n = populations_.empty() ? 0 : populations_.back().first + populations_.back().size;
  for (const Initial& i : initial_) {
    auto& values = out[i.variable];
    if (values.empty()) values.assign(n, std::numeric_limits<double>::quiet_NaN());
    const Population& pop = populations_[i.population];
    if (!i.values.empty()) {
      std::copy(i.values.begin(), i.values.end(), values.begin() + pop.first);
      continue;
    }
    // One key per population and variable; element k of the population is draw index k.
    const RngKey key = kernels::make_key(
        kernels::mix64(seed_ ^ (0x9e3779b97f4a7c15ull * (i.population + 1)) ^
                       (0xc2b2ae3d27d4eb4full * (static_cast<std::uint64_t>(find_node_var(i.variable)->id) + 1))),
        static_cast<std::uint64_t>(kernels::RngStream::population_initial));
    const std::string what = "set_initial('" + pop.name + "', '" + i.variable + "')";
    for (index_t k = 0; k < pop.size; ++k) values[pop.first + k] = sample(i.value, key, k, what);
  }
  return out;
}

const Population& NetworkBuilder::population(const std::string& name) const {
  for (const auto& p : populations_) {
    if (p.name == name) return p;
  }
  throw GraphError("no population named '" + name + "'");
}

void NetworkBuilder::connect(const std::string& pre, const std::string& post, const ConnectionRule& rule,
                             const Distribution& weight, const Distribution& delay_ms, EdgeKind kind, bool plastic) {
  const std::string what = "connect('" + pre + "' -> '" + post + "', " + rule_name(rule.kind) + ")";
  const std::size_t a = population_index(populations_, pre, what);
  const std::size_t b = population_index(populations_, post, what);
  const std::int64_t n_pre = populations_[a].size, n_post = populations_[b].size;
  // Sources a node can have without an autapse.
  const std::int64_t self = (a == b && !rule.autapses) ? 1 : 0;
  switch (rule.kind) {
    case Rule::one_to_one:
      if (n_pre != n_post) throw GraphError(what + ": the populations differ in size");
      if (a == b && !rule.autapses) throw GraphError(what + ": within one population every pair is an autapse");
      break;
    case Rule::fixed_indegree:
    case Rule::fixed_outdegree: {
      const std::int64_t avail = (rule.kind == Rule::fixed_indegree ? n_pre : n_post) - self;
      if (rule.n < 0 || rule.n > 0xffffffffll) throw GraphError(what + ": n must be in [0, 2^32)");
      if (!rule.multapses && rule.n > avail) {
        throw GraphError(what + ": n = " + std::to_string(rule.n) + " without multapses, but only " +
                         std::to_string(avail) + " candidates");
      }
      if (rule.n > 0 && avail < 1) throw GraphError(what + ": no candidates without autapses");
      break;
    }
    case Rule::fixed_total_number: {
      const double pairs = static_cast<double>(n_pre) * static_cast<double>(n_post) - (self ? n_pre : 0);
      if (rule.n < 0 || rule.n > 0xffffffffll) throw GraphError(what + ": n must be in [0, 2^32)");
      if (!rule.multapses && static_cast<double>(rule.n) > pairs) {
        throw GraphError(what + ": n = " + std::to_string(rule.n) + " without multapses, but only " +
                         std::to_string(static_cast<std::int64_t>(pairs)) + " pairs");
      }
      if (rule.n > 0 && pairs < 1) throw GraphError(what + ": no pairs without autapses");
      break;
    }
    case Rule::pairwise_bernoulli:
      if (!(rule.p >= 0.0 && rule.p <= 1.0)) throw GraphError(what + ": p must be in [0, 1]");
      break;
    case Rule::from_list:
      if (rule.pre.size() != rule.post.size()) {
        throw GraphError(what + ": " + std::to_string(rule.pre.size()) + " pre indices but " +
                         std::to_string(rule.post.size()) + " post indices");
      }
      for (std::size_t k = 0; k < rule.pre.size(); ++k) {
        if (rule.pre[k] >= n_pre || rule.post[k] >= n_post) {
          throw GraphError(what + ": pair " + std::to_string(k) + " (" + std::to_string(rule.pre[k]) + ", " +
                           std::to_string(rule.post[k]) + ") is outside the populations (" + std::to_string(n_pre) +
                           " and " + std::to_string(n_post) + " nodes)");
        }
        if (a == b && !rule.autapses && rule.pre[k] == rule.post[k]) {
          throw GraphError(what + ": pair " + std::to_string(k) + " is an autapse");
        }
      }
      break;
    case Rule::all_to_all: break;
  }
  check_distribution(weight, what + ": weight");
  check_distribution(delay_ms, what + ": delay");
  if (static_cast<int>(kind) >= kEdgeKindCount) throw GraphError(what + ": unknown edge kind");
  projections_.push_back(Projection{a, b, rule, weight, delay_ms, kind, plastic});
}

namespace {

// Runs fn(first, last) over [0, n) in parallel parts on `threads` threads when n is long
// enough to pay for waking them; each element lands at its own index.
template <class F>
void each_part(int threads, std::size_t n, F&& fn) {
  cpu::parallel_parts(cpu::parts_for(threads, n, 1u << 16), n, [&](int, std::size_t b, std::size_t e) { fn(b, e); });
}

}  // namespace

std::string NetworkBuilder::projection_name(std::size_t q) const {
  const Projection& pr = projections_[q];
  return "build: projection " + std::to_string(q) + " ('" + populations_[pr.pre].name + "' -> '" +
         populations_[pr.post].name + "', " + rule_name(pr.rule.kind) + ")";
}

void NetworkBuilder::draw_pairs(std::size_t q, int threads, std::vector<index_t>& src,
                                std::vector<index_t>& tgt) const {
  auto each = [threads](std::size_t n, auto&& fn) { each_part(threads, n, fn); };
  const Projection& pr = projections_[q];
  const Population& A = populations_[pr.pre];
  const Population& B = populations_[pr.post];
  const ConnectionRule& r = pr.rule;
  const std::string what = projection_name(q);
  const bool same = pr.pre == pr.post;
  const RngKey key = projection_key(seed_, q, kernels::RngStream::projection_pairs);
  const std::size_t begin = src.size();
  auto add = [&](index_t s, index_t t) {
    src.push_back(A.first + s);
    tgt.push_back(B.first + t);
  };
    switch (r.kind) {
      case Rule::all_to_all:
        for (index_t t = 0; t < B.size; ++t) {
          for (index_t s = 0; s < A.size; ++s) {
            if (!(same && !r.autapses && s == t)) add(s, t);
          }
        }
        break;
      case Rule::one_to_one:
        for (index_t i = 0; i < A.size; ++i) add(i, i);
        break;
      case Rule::from_list:
        for (std::size_t k = 0; k < r.pre.size(); ++k) add(r.pre[k], r.post[k]);
        break;
      case Rule::fixed_indegree:
      case Rule::fixed_outdegree: {
        // Owner o's n partners come from draws keyed by o alone: owners are independent.
        const bool in = r.kind == Rule::fixed_indegree;
        const index_t owners = in ? B.size : A.size;  // each gets n partners
        const std::uint64_t partners = in ? A.size : B.size;
        const auto n = static_cast<std::size_t>(r.n);
        src.resize(begin + owners * n);
        tgt.resize(begin + owners * n);
        each(owners, [&](std::size_t first, std::size_t last) {
          std::vector<index_t> chosen;
          for (auto o = static_cast<index_t>(first); o < last; ++o) {
            chosen.clear();
            std::uint64_t draw = 0;
            const std::uint64_t limit = 64 * static_cast<std::uint64_t>(r.n) + 4096;
            while (chosen.size() < n) {
              if (draw >= limit) throw GraphError(what + ": could not draw " + std::to_string(r.n) + " partners");
              const index_t c = below(key, o, draw++, partners);
              if (same && !r.autapses && c == o) continue;
              if (!r.multapses && std::find(chosen.begin(), chosen.end(), c) != chosen.end()) continue;
              chosen.push_back(c);
            }
            for (std::size_t j = 0; j < n; ++j) {
              const std::size_t at = begin + o * n + j;
              src[at] = A.first + (in ? chosen[j] : o);
              tgt[at] = B.first + (in ? o : chosen[j]);
            }
          }
        });
        break;
      }
      case Rule::fixed_total_number: {
        // Pair k is drawn from attempts keyed by k; only the multapse check (a set of
        // the pairs so far) makes the draws depend on each other.
        auto draw_pair = [&](std::uint32_t k, index_t& s, index_t& t, auto&& accept) {
          for (std::uint64_t attempt = 0;; ++attempt) {
            if (attempt > 100000) throw GraphError(what + ": could not draw pair " + std::to_string(k));
            s = below(key, k, 2 * attempt, A.size);
            t = below(key, k, 2 * attempt + 1, B.size);
            if (same && !r.autapses && s == t) continue;
            if (accept(s, t)) return;
          }
        };
        const auto n = static_cast<std::size_t>(r.n);
        if (r.multapses) {
          src.resize(begin + n);
          tgt.resize(begin + n);
          each(n, [&](std::size_t first, std::size_t last) {
            for (std::size_t k = first; k < last; ++k) {
              index_t s, t;
              draw_pair(static_cast<std::uint32_t>(k), s, t, [](index_t, index_t) { return true; });
              src[begin + k] = A.first + s;
              tgt[begin + k] = B.first + t;
            }
          });
        } else {
          std::unordered_set<std::uint64_t> seen;
          for (std::size_t k = 0; k < n; ++k) {
            index_t s, t;
            draw_pair(static_cast<std::uint32_t>(k), s, t, [&](index_t a, index_t b) {
              return seen.insert(static_cast<std::uint64_t>(a) * B.size + b).second;
            });
            add(s, t);
          }
        }
        break;
      }
      case Rule::pairwise_bernoulli:
        for (index_t t = 0; t < B.size; ++t) {
          for (index_t s = 0; s < A.size; ++s) {
            if (same && !r.autapses && s == t) continue;
            if (kernels::draw_uniform(key, t, s) < r.p) add(s, t);
          }
        }
        break;
    }
  if (src.size() > 0xffffffffull) throw GraphError(what + ": the network would exceed 2^32 - 1 edges");
}

void NetworkBuilder::draw_values(std::size_t q, int threads, std::size_t count, float* weights,
                                 std::uint16_t* delays) const {
  const Projection& pr = projections_[q];
  const RngKey wkey = projection_key(seed_, q, kernels::RngStream::projection_weights);
  const RngKey dkey = projection_key(seed_, q, kernels::RngStream::projection_delays);
  const std::string what = projection_name(q);
  const std::string weight_what = what + ": weight", delay_what = what + ": delay";
  each_part(threads, count, [&](std::size_t first, std::size_t last) {
    for (std::size_t e = first; e < last; ++e) {
      const auto idx = static_cast<std::uint32_t>(e);
      weights[e] = static_cast<float>(sample(pr.weight, wkey, idx, weight_what));
      const double steps = std::llround(sample(pr.delay, dkey, idx, delay_what) / dt_);
      if (steps > 65535) throw GraphError(what + ": a delay exceeds 65535 steps of dt");
      delays[e] = static_cast<std::uint16_t>(std::max(1.0, steps));
    }
  });
}

std::size_t NetworkBuilder::num_nodes() const {
  // Populations are consecutive id ranges.
  return populations_.empty() ? 0 : std::size_t{populations_.back().first} + populations_.back().size;
}

std::vector<std::uint8_t> NetworkBuilder::node_types() const {
  std::vector<std::uint8_t> types;
  for (const auto& p : populations_) types.insert(types.end(), p.size, static_cast<std::uint8_t>(p.type));
  return types;
}

std::shared_ptr<const Graph> NetworkBuilder::build(int threads) const {
  if (threads <= 0) threads = std::max(1, cpu::hardware_threads());
  std::vector<index_t> src, tgt;
  std::vector<float> w;
  std::vector<std::uint16_t> delay;
  std::vector<std::uint8_t> kinds, plastic;
  bool any_plastic = false;
  for (std::size_t q = 0; q < projections_.size(); ++q) {
    const Projection& pr = projections_[q];
    const std::size_t begin = src.size();
    draw_pairs(q, threads, src, tgt);
    const std::size_t count = src.size() - begin;
    w.resize(begin + count);
    delay.resize(begin + count);
    draw_values(q, threads, count, w.data() + begin, delay.data() + begin);
    kinds.insert(kinds.end(), count, static_cast<std::uint8_t>(pr.kind));
    plastic.insert(plastic.end(), count, pr.plastic ? 1 : 0);
    any_plastic = any_plastic || (pr.plastic && count > 0);
  }
  if (!any_plastic) plastic.clear();
  return GraphBuilder::from_validated(node_types(), src, tgt, w, delay, kinds, plastic);
}

std::vector<std::uint64_t> NetworkBuilder::in_degrees(int threads) const {
  if (threads <= 0) threads = std::max(1, cpu::hardware_threads());
  std::vector<std::uint64_t> degree(node_types().size(), 0);
  std::vector<index_t> ps, pt;
  for (std::size_t q = 0; q < projections_.size(); ++q) {
    ps.clear();
    pt.clear();
    draw_pairs(q, threads, ps, pt);
    for (index_t t : pt) ++degree[t];
  }
  return degree;
}

std::shared_ptr<const Graph> NetworkBuilder::build_part(index_t begin, index_t end, bool source_rows,
                                                        std::vector<std::uint64_t>& row_base,
                                                        std::uint64_t& total_edges, int threads) const {
  if (threads <= 0) threads = std::max(1, cpu::hardware_threads());
  std::vector<std::uint8_t> types = node_types();
  const std::size_t n = types.size();
  if (begin > end || end > n) throw GraphError("build_part: the range [begin, end) is not within the nodes");
  const auto stored = [&](index_t s, index_t t) {
    return (t >= begin && t < end) || (source_rows && s >= begin && s < end);
  };
  // Each whole row's length, and its edges into nodes before `begin` (rows are sorted by
  // target, so a row's edges into [begin, end) follow those).
  std::vector<std::uint64_t> row_length(n, 0), before(n, 0);
  std::vector<index_t> src, tgt;
  std::vector<float> w;
  std::vector<std::uint16_t> delay;
  std::vector<std::uint8_t> kinds, plastic;
  bool any_plastic = false;
  std::uint16_t max_delay = 0;
  std::vector<index_t> ps, pt;  // one projection's pairs at a time
  std::vector<std::uint32_t> kept;
  std::vector<float> pw;
  std::vector<std::uint16_t> pd;
  for (std::size_t q = 0; q < projections_.size(); ++q) {
    const Projection& pr = projections_[q];
    ps.clear();
    pt.clear();
    draw_pairs(q, threads, ps, pt);
    kept.clear();
    for (std::size_t e = 0; e < ps.size(); ++e) {
      ++row_length[ps[e]];
      before[ps[e]] += pt[e] < begin ? 1 : 0;
      if (stored(ps[e], pt[e])) kept.push_back(static_cast<std::uint32_t>(e));
    }
    // Every edge's delay: the graph's maximum sizes every rank's delay ring alike.
    pw.resize(ps.size());
    pd.resize(ps.size());
    draw_values(q, threads, ps.size(), pw.data(), pd.data());
    for (std::uint16_t d : pd) max_delay = std::max(max_delay, d);
    for (std::uint32_t e : kept) {
      src.push_back(ps[e]);
      tgt.push_back(pt[e]);
      w.push_back(pw[e]);
      delay.push_back(pd[e]);
    }
    kinds.insert(kinds.end(), kept.size(), static_cast<std::uint8_t>(pr.kind));
    plastic.insert(plastic.end(), kept.size(), pr.plastic ? 1 : 0);
    any_plastic = any_plastic || (pr.plastic && !ps.empty());
  }
  std::uint64_t whole = 0;
  for (std::uint64_t len : row_length) whole += len;
  if (whole > 0xffffffffull) throw GraphError("build_part: the network would exceed 2^32 - 1 edges");
  // One process keeps plastic flags when any edge of the whole graph is plastic.
  if (!any_plastic) plastic.clear();
  row_base.assign(n, 0);
  total_edges = 0;
  for (std::size_t s = 0; s < n; ++s) {
    const bool whole_row = source_rows && s >= begin && s < end;
    row_base[s] = total_edges + (whole_row ? 0 : before[s]);
    total_edges += row_length[s];
  }
  const auto part = GraphBuilder::from_validated(types, src, tgt, w, delay, kinds, plastic);
  std::vector<std::uint8_t> flags = part->edge_plastic();
  if (any_plastic && flags.empty()) flags.assign(part->num_edges(), 0);  // as GraphBuilder::part keeps them
  return GraphBuilder::from_csr(std::move(types), part->out_offsets(), part->edge_target(), part->edge_weight(),
                                part->edge_delay(), part->edge_kind(), std::move(flags), max_delay);
}

}  // namespace spikegraph
