// Graph analysis (spikegraph/graph/analysis.hpp): validation report, degrees,
// weights by kind, weak/strong components, clustering, BFS path lengths, spectral
// radius. Every parallel loop either writes per-index results or adds integers, and
// floating-point sums run in a fixed order (per node, or per fixed-size block with
// the blocks combined in order), so results do not depend on the thread count.
#include "spikegraph/graph/analysis.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

#include "../backend/cpu/parallel.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/kernels/rng.hpp"

namespace spikegraph {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Blocks of fixed size for deterministic floating-point reductions.
constexpr std::size_t kBlock = 4096;

int resolve_threads(int threads) { return threads > 0 ? threads : std::max(1, cpu::hardware_threads()); }

const Graph& graph_of(const GraphView& view, const char* op) {
  if (!view.graph) throw InputError(std::string(op) + ": the view has no graph");
  return *view.graph;
}

/// Runs fn(thread, begin, end) over chunks of [0, n) handed out dynamically to
/// `threads` workers; `thread` < threads identifies the worker's scratch space.
/// Use only for loops whose result does not depend on which worker ran a chunk.
template <class Fn>
void dynamic_chunks(int threads, std::size_t n, std::size_t chunk, Fn&& fn) {
  if (n == 0) return;
  chunk = std::max<std::size_t>(chunk, 1);
  const int parts = cpu::parts_for(threads, n, chunk);
  if (parts <= 1) {
    fn(0, std::size_t{0}, n);
    return;
  }
  std::atomic<std::size_t> next{0};
  cpu::parallel_parts(parts, static_cast<std::size_t>(parts), [&](int p, std::size_t, std::size_t) {
    for (;;) {
      const std::size_t b = next.fetch_add(chunk, std::memory_order_relaxed);
      if (b >= n) break;
      fn(p, b, std::min(n, b + chunk));
    }
  });
}

/// Static contiguous parts of [0, n): fn(part, begin, end).
template <class Fn>
void static_parts(int threads, std::size_t n, std::size_t min_per_part, Fn&& fn) {
  cpu::parallel_parts(cpu::parts_for(threads, n, min_per_part), n, fn);
}

struct Alive {
  const std::uint8_t* flags;
  bool operator()(std::size_t i) const { return !flags || flags[i] != 0; }
};

std::size_t count_alive(const Alive& alive, std::size_t n) {
  if (!alive.flags) return n;
  std::size_t c = 0;
  for (std::size_t i = 0; i < n; ++i) c += alive.flags[i] != 0;
  return c;
}

std::string fmt_value(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// ------------------------------------------------------------------ validation

/// Problems grouped by kind: the first message of each kind and how many there are.
class Problems {
 public:
  template <class MakeMessage>
  void add(int kind, MakeMessage&& make) {
    for (auto& e : entries_) {
      if (e.kind == kind) {
        ++e.count;
        return;
      }
    }
    entries_.push_back(Entry{kind, make(), 1});
  }
  /// Append another collector's entries (from a later index range).
  void merge(const Problems& later) {
    for (const auto& o : later.entries_) {
      bool found = false;
      for (auto& e : entries_) {
        if (e.kind == o.kind) {
          e.count += o.count;
          found = true;
          break;
        }
      }
      if (!found) entries_.push_back(o);
    }
  }
  void into(ValidationReport& r) const {
    for (const auto& e : entries_) {
      r.problems.push_back(e.count > 1 ? e.message + " (" + std::to_string(e.count) + " such problems in all)"
                                       : e.message);
      r.problem_count += e.count;
    }
    r.ok = r.problem_count == 0;
  }
  bool has(int kind) const {
    for (const auto& e : entries_) {
      if (e.kind == kind) return true;
    }
    return false;
  }

 private:
  struct Entry {
    int kind;
    std::string message;
    std::size_t count;
  };
  std::vector<Entry> entries_;
};

enum ProblemKind : int {
  kTypeInvalid = 1,
  kTargetRange,
  kRowOrder,
  kWeightStored,
  kWeightCurrent,
  kDelay,
  kKind,
  kPlasticFlag,
  kDeadEndpoint,
  kAliveFlag,
  kIndexEntry,
  kIndexOrder,
};

/// Runs a per-range check over [0, n) in static parts with one collector per part,
/// merged in part order (so the report is the same for any thread count).
template <class Fn>
void check_parts(int threads, std::size_t n, Problems& out, Fn&& fn) {
  const int parts = cpu::parts_for(threads, n, 1 << 12);
  std::vector<Problems> per(static_cast<std::size_t>(parts));
  cpu::parallel_parts(parts, n, [&](int p, std::size_t b, std::size_t e) { fn(per[static_cast<std::size_t>(p)], b, e); });
  for (const auto& p : per) out.merge(p);
}

}  // namespace

GraphView GraphView::with_config(const Graph& g, const config::Config& cfg) {
  GraphView v(g);
  v.modulatory_gain = cfg.real("edge.modulatory_gain");
  for (int t = 0; t < kNodeTypeCount; ++t) {
    if (kNodeTypes[t].scales_outgoing) {
      v.out_gain[static_cast<std::size_t>(t)] = cfg.real(std::string("node.") + kNodeTypes[t].name + ".gain");
    }
  }
  return v;
}

ValidationReport validate_graph(const GraphView& view, int threads) {
  const Graph& g = graph_of(view, "validate");
  threads = resolve_threads(threads);
  ValidationReport report;
  Problems problems;
  const std::size_t n = g.num_nodes();
  const std::size_t m = g.num_edges();
  const auto& off = g.out_offsets();
  const auto& tgt = g.edge_target();
  const auto& w = g.edge_weight();
  const auto& delay = g.edge_delay();
  const auto& kind = g.edge_kind();
  const auto& plastic = g.edge_plastic();
  const auto& types = g.node_type();

  // Array shapes first: nothing below is safe to index otherwise.
  std::size_t fatal = 0;
  auto shape_problem = [&](const std::string& msg) {
    report.problems.push_back(msg);
    ++fatal;
  };
  if (off.size() != n + 1) {
    shape_problem("out_offsets has " + std::to_string(off.size()) + " entries, expected nodes + 1 = " +
                  std::to_string(n + 1));
  } else if (off.front() != 0 || off.back() != m) {
    shape_problem("out_offsets spans [" + std::to_string(off.front()) + ", " + std::to_string(off.back()) +
                  "), expected [0, " + std::to_string(m) + ") (the edges)");
  }
  if (w.size() != m || delay.size() != m || kind.size() != m || (!plastic.empty() && plastic.size() != m)) {
    shape_problem("edge arrays differ in length (targets " + std::to_string(m) + ", weights " +
                  std::to_string(w.size()) + ", delays " + std::to_string(delay.size()) + ", kinds " +
                  std::to_string(kind.size()) + ", plastic " + std::to_string(plastic.size()) + ")");
  }
  if (fatal == 0) {
    for (std::size_t s = 0; s < n; ++s) {
      if (off[s] > off[s + 1]) {
        shape_problem("out_offsets decreases at node " + std::to_string(s) + " (out_offsets[" + std::to_string(s) +
                      "] = " + std::to_string(off[s]) + " > out_offsets[" + std::to_string(s + 1) +
                      "] = " + std::to_string(off[s + 1]) + ")");
        break;
      }
    }
  }
  if (fatal > 0) {
    report.problem_count = fatal;
    report.ok = false;
    return report;
  }

  const Alive alive{view.alive};
  const float* current = view.weights;
  const std::uint16_t max_delay = g.max_delay();

  // Nodes: types and alive flags.
  check_parts(threads, n, problems, [&](Problems& pr, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      if (types[i] >= kNodeTypeCount) {
        pr.add(kTypeInvalid, [&] {
          return "node_type[" + std::to_string(i) + "] = " + std::to_string(types[i]) + " is not a node type (0.." +
                 std::to_string(kNodeTypeCount - 1) + ")";
        });
      }
      if (view.alive && view.alive[i] > 1) {
        pr.add(kAliveFlag, [&] {
          return "state 'alive'[" + std::to_string(i) + "] = " + std::to_string(view.alive[i]) + " is not 0 or 1";
        });
      }
    }
  });

  // Edges, by source rows.
  bool targets_ok = true;
  {
    Problems edge_problems;
    check_parts(threads, n, edge_problems, [&](Problems& pr, std::size_t b, std::size_t e) {
      for (std::size_t s = b; s < e; ++s) {
        for (offset_t k = off[s]; k < off[s + 1]; ++k) {
          const index_t t = tgt[k];
          auto at = [&] { return std::to_string(k) + " (" + std::to_string(s) + " -> " + std::to_string(t) + ")"; };
          if (t >= n) {
            pr.add(kTargetRange, [&] {
              return "targets[" + std::to_string(k) + "] = " + std::to_string(t) + " (source " + std::to_string(s) +
                     ") is out of range [0, " + std::to_string(n) + ")";
            });
          } else if (!alive(s) || !alive(t)) {
            pr.add(kDeadEndpoint, [&] {
              const std::size_t dead = !alive(s) ? s : t;
              return "edge " + at() + " touches dead node " + std::to_string(dead) + " (alive[" +
                     std::to_string(dead) +
                     "] = 0): a killed node keeps its edges until the next structure step compacts the graph";
            });
          }
          if (k > off[s] && t < tgt[k - 1]) {
            pr.add(kRowOrder, [&] {
              return "targets[" + std::to_string(k) + "] = " + std::to_string(t) + " breaks the target order of row " +
                     std::to_string(s) + " (previous target " + std::to_string(tgt[k - 1]) + ")";
            });
          }
          if (!std::isfinite(w[k]) || w[k] < 0.0f) {
            pr.add(kWeightStored, [&] {
              return "graph weights[" + std::to_string(k) + "] = " + fmt_value(w[k]) + " is not finite and >= 0";
            });
          }
          if (current && (!std::isfinite(current[k]) || current[k] < 0.0f)) {
            pr.add(kWeightCurrent, [&] {
              return "edge state 'weight'[" + std::to_string(k) + "] = " + fmt_value(current[k]) +
                     " is not finite and >= 0";
            });
          }
          if (delay[k] < 1 || delay[k] > max_delay) {
            pr.add(kDelay, [&] {
              return "delays[" + std::to_string(k) + "] = " + std::to_string(delay[k]) + " is out of range [1, " +
                     std::to_string(max_delay) + "]";
            });
          }
          if (kind[k] >= kEdgeKindCount) {
            pr.add(kKind, [&] {
              return "kinds[" + std::to_string(k) + "] = " + std::to_string(kind[k]) + " is not an edge kind (0..3)";
            });
          }
          if (!plastic.empty() && plastic[k] > 1) {
            pr.add(kPlasticFlag, [&] {
              return "plastic[" + std::to_string(k) + "] = " + std::to_string(plastic[k]) + " is not 0 or 1";
            });
          }
        }
      }
    });
    targets_ok = !edge_problems.has(kTargetRange);
    problems.merge(edge_problems);
  }

  // The by-target index (built now if it was not): each target's entries name edges
  // into it, from the row of the named source, in ascending edge order, and there is
  // one entry per edge.
  if (targets_ok) {
    const TargetIndex& ti = g.by_target();
    if (ti.in_offsets.size() != n + 1 || ti.in_edges.size() != m || ti.in_sources.size() != m ||
        ti.in_offsets.front() != 0 || ti.in_offsets.back() != m) {
      problems.add(kIndexEntry, [&] {
        return "by-target index has the wrong shape (in_offsets " + std::to_string(ti.in_offsets.size()) +
               ", in_edges " + std::to_string(ti.in_edges.size()) + ", in_sources " +
               std::to_string(ti.in_sources.size()) + " entries; nodes " + std::to_string(n) + ", edges " +
               std::to_string(m) + ")";
      });
    } else {
      bool monotone = true;
      for (std::size_t j = 0; j < n; ++j) monotone = monotone && ti.in_offsets[j] <= ti.in_offsets[j + 1];
      if (!monotone) {
        problems.add(kIndexEntry, [&] { return std::string("by-target index: in_offsets decrease"); });
      } else {
        check_parts(threads, n, problems, [&](Problems& pr, std::size_t b, std::size_t e) {
          for (std::size_t j = b; j < e; ++j) {
            for (offset_t k = ti.in_offsets[j]; k < ti.in_offsets[j + 1]; ++k) {
              const index_t edge = ti.in_edges[k];
              const index_t s = ti.in_sources[k];
              if (edge >= m || tgt[edge] != j || s >= n || edge < off[s] || edge >= off[s + 1]) {
                pr.add(kIndexEntry, [&] {
                  return "by-target index entry " + std::to_string(k) + " (target " + std::to_string(j) + ", edge " +
                         std::to_string(edge) + ", source " + std::to_string(s) +
                         ") does not match the edge arrays";
                });
              } else if (k > ti.in_offsets[j] && edge <= ti.in_edges[k - 1]) {
                pr.add(kIndexOrder, [&] {
                  return "by-target index entry " + std::to_string(k) + " (target " + std::to_string(j) +
                         ") repeats or breaks the ascending edge order";
                });
              }
            }
          }
        });
      }
    }
  }
  problems.into(report);
  return report;
}

// ------------------------------------------------------------------ degrees

namespace {

/// Live out- and in-degree of every node (0 for dead nodes).
void live_degrees(const Graph& g, const Alive& alive, int threads, std::vector<index_t>& out_deg,
                  std::vector<index_t>& in_deg) {
  const std::size_t n = g.num_nodes();
  const auto& off = g.out_offsets();
  const auto& tgt = g.edge_target();
  const TargetIndex& ti = g.by_target();
  out_deg.assign(n, 0);
  in_deg.assign(n, 0);
  static_parts(threads, n, 1 << 12, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t v = b; v < e; ++v) {
      if (!alive(v)) continue;
      if (!alive.flags) {
        out_deg[v] = static_cast<index_t>(off[v + 1] - off[v]);
        in_deg[v] = static_cast<index_t>(ti.in_offsets[v + 1] - ti.in_offsets[v]);
        continue;
      }
      index_t c = 0;
      for (offset_t k = off[v]; k < off[v + 1]; ++k) c += alive.flags[tgt[k]] != 0;
      out_deg[v] = c;
      c = 0;
      for (offset_t k = ti.in_offsets[v]; k < ti.in_offsets[v + 1]; ++k) c += alive.flags[ti.in_sources[k]] != 0;
      in_deg[v] = c;
    }
  });
}

std::vector<std::uint64_t> histogram(const std::vector<index_t>& deg, const Alive& alive, std::size_t& max_out) {
  index_t mx = 0;
  for (std::size_t i = 0; i < deg.size(); ++i) {
    if (alive(i)) mx = std::max(mx, deg[i]);
  }
  std::vector<std::uint64_t> h(static_cast<std::size_t>(mx) + 1, 0);
  for (std::size_t i = 0; i < deg.size(); ++i) {
    if (alive(i)) ++h[deg[i]];
  }
  max_out = mx;
  return h;
}

}  // namespace

DegreeStats degree_stats(const GraphView& view, int threads) {
  const Graph& g = graph_of(view, "degree_stats");
  threads = resolve_threads(threads);
  const Alive alive{view.alive};
  std::vector<index_t> out_deg, in_deg;
  live_degrees(g, alive, threads, out_deg, in_deg);
  DegreeStats d;
  d.nodes = count_alive(alive, g.num_nodes());
  if (d.nodes == 0) return d;
  std::uint64_t edges = 0;
  for (index_t x : out_deg) edges += x;
  d.edges = edges;
  d.in_histogram = histogram(in_deg, alive, d.max_in);
  d.out_histogram = histogram(out_deg, alive, d.max_out);
  d.mean_in = d.mean_out = static_cast<double>(edges) / static_cast<double>(d.nodes);
  return d;
}

// ------------------------------------------------------------------ weights

std::array<WeightStats, kEdgeKindCount> weight_stats(const GraphView& view, int threads) {
  const Graph& g = graph_of(view, "weight_stats");
  threads = resolve_threads(threads);
  const Alive alive{view.alive};
  const std::size_t n = g.num_nodes();
  const auto& off = g.out_offsets();
  const auto& tgt = g.edge_target();
  const auto& kind = g.edge_kind();
  const float* w = view.weights ? view.weights : g.edge_weight().data();
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  struct Acc {
    std::uint64_t count[kEdgeKindCount] = {0, 0, 0, 0};
    double sum[kEdgeKindCount] = {0, 0, 0, 0};
    double sq[kEdgeKindCount] = {0, 0, 0, 0};
    double min[kEdgeKindCount];
    double max[kEdgeKindCount];
    Acc() {
      for (int k = 0; k < kEdgeKindCount; ++k) {
        min[k] = std::numeric_limits<double>::infinity();
        max[k] = -std::numeric_limits<double>::infinity();
      }
    }
  };
  std::vector<Acc> acc(blocks);
  auto for_live_edges = [&](std::size_t block, auto&& fn) {
    const std::size_t b = block * kBlock, e = std::min(n, b + kBlock);
    for (std::size_t s = b; s < e; ++s) {
      if (!alive(s)) continue;
      for (offset_t k = off[s]; k < off[s + 1]; ++k) {
        if (kind[k] < kEdgeKindCount && alive(tgt[k])) fn(kind[k], static_cast<double>(w[k]));
      }
    }
  };
  // Pass 1: count, sum, min, max per block; pass 2: squared deviations from the mean.
  dynamic_chunks(threads, blocks, 1, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t blk = b; blk < e; ++blk) {
      Acc& a = acc[blk];
      for_live_edges(blk, [&](int k, double x) {
        ++a.count[k];
        a.sum[k] += x;
        a.min[k] = std::min(a.min[k], x);
        a.max[k] = std::max(a.max[k], x);
      });
    }
  });
  std::array<WeightStats, kEdgeKindCount> out{};
  double mean[kEdgeKindCount];
  for (int k = 0; k < kEdgeKindCount; ++k) {
    std::uint64_t c = 0;
    double sum = 0.0, mn = std::numeric_limits<double>::infinity(), mx = -mn;
    for (const Acc& a : acc) {
      c += a.count[k];
      sum += a.sum[k];
      mn = std::min(mn, a.min[k]);
      mx = std::max(mx, a.max[k]);
    }
    out[k].count = c;
    mean[k] = c ? sum / static_cast<double>(c) : kNaN;
    out[k].mean = mean[k];
    out[k].min = c ? mn : kNaN;
    out[k].max = c ? mx : kNaN;
  }
  dynamic_chunks(threads, blocks, 1, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t blk = b; blk < e; ++blk) {
      Acc& a = acc[blk];
      for_live_edges(blk, [&](int k, double x) { a.sq[k] += (x - mean[k]) * (x - mean[k]); });
    }
  });
  for (int k = 0; k < kEdgeKindCount; ++k) {
    double sq = 0.0;
    for (const Acc& a : acc) sq += a.sq[k];
    out[k].std = out[k].count ? std::sqrt(sq / static_cast<double>(out[k].count)) : kNaN;
  }
  return out;
}

// ------------------------------------------------------------------ components

namespace {

// Union-find whose root is always the smallest node of its set.
index_t find_root(std::vector<index_t>& parent, index_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];  // path halving
    x = parent[x];
  }
  return x;
}

void unite(std::vector<index_t>& parent, index_t a, index_t b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a == b) return;
  if (a < b) {
    parent[b] = a;
  } else {
    parent[a] = b;
  }
}

/// Labels numbered by smallest member from any per-node component id (`root` gives
/// the representative of a node), and the sizes, largest first.
template <class RootOf>
Components finish_components(std::size_t n, const Alive& alive, RootOf&& root) {
  Components c;
  c.labels.assign(n, kNoComponent);
  std::vector<index_t> label_of_root(n, kNoComponent);
  for (std::size_t i = 0; i < n; ++i) {
    if (!alive(i)) continue;
    const index_t r = root(static_cast<index_t>(i));
    if (label_of_root[r] == kNoComponent) {
      label_of_root[r] = static_cast<index_t>(c.sizes.size());
      c.sizes.push_back(0);
    }
    c.labels[i] = label_of_root[r];
    ++c.sizes[label_of_root[r]];
  }
  c.count = c.sizes.size();
  std::sort(c.sizes.begin(), c.sizes.end(), [](index_t a, index_t b) { return a > b; });
  c.largest = c.sizes.empty() ? 0 : c.sizes.front();
  return c;
}

}  // namespace

Components weak_components(const GraphView& view, int threads) {
  const Graph& g = graph_of(view, "weak_components");
  threads = resolve_threads(threads);
  const Alive alive{view.alive};
  const std::size_t n = g.num_nodes();
  const auto& off = g.out_offsets();
  const auto& tgt = g.edge_target();
  auto identity = [n] {
    std::vector<index_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<index_t>(i);
    return p;
  };
  // Each part unites the edges of its source rows in its own forest; the forests are
  // then merged. The partition into components is unique, so the result does not
  // depend on how the edges were split.
  const int parts = cpu::parts_for(threads, g.num_edges(), 1 << 16);
  std::vector<std::vector<index_t>> forests(static_cast<std::size_t>(parts));
  cpu::parallel_parts(parts, n, [&](int p, std::size_t b, std::size_t e) {
    std::vector<index_t> parent = identity();
    for (std::size_t s = b; s < e; ++s) {
      if (!alive(s)) continue;
      for (offset_t k = off[s]; k < off[s + 1]; ++k) {
        if (alive(tgt[k])) unite(parent, static_cast<index_t>(s), tgt[k]);
      }
    }
    forests[static_cast<std::size_t>(p)] = std::move(parent);
  });
  std::vector<index_t> parent = std::move(forests[0]);
  for (std::size_t p = 1; p < forests.size(); ++p) {
    const auto& f = forests[p];
    for (std::size_t i = 0; i < n; ++i) {
      if (f[i] != i) unite(parent, static_cast<index_t>(i), f[i]);
    }
  }
  return finish_components(n, alive, [&](index_t i) { return find_root(parent, i); });
}

Components strong_components(const GraphView& view) {
  const Graph& g = graph_of(view, "strong_components");
  const Alive alive{view.alive};
  const std::size_t n = g.num_nodes();
  const auto& off = g.out_offsets();
  const auto& tgt = g.edge_target();
  constexpr index_t kUnvisited = 0xFFFFFFFFu;
  // Iterative Tarjan: `order` is the discovery index, `low` the lowest index reachable
  // through the DFS subtree and at most one back/cross edge to the stack; `comp` the
  // component id in completion order.
  std::vector<index_t> order(n, kUnvisited), low(n, 0), comp(n, kUnvisited);
  std::vector<std::uint8_t> on_stack(n, 0);
  std::vector<index_t> stack;
  struct Frame {
    index_t node;
    offset_t next;
  };
  std::vector<Frame> calls;
  index_t counter = 0, comps = 0;
  auto visit = [&](index_t v) {
    order[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = 1;
    calls.push_back(Frame{v, off[v]});
  };
  for (std::size_t root = 0; root < n; ++root) {
    if (!alive(root) || order[root] != kUnvisited) continue;
    visit(static_cast<index_t>(root));
    while (!calls.empty()) {
      Frame& f = calls.back();
      const index_t v = f.node;
      if (f.next < off[v + 1]) {
        const index_t t = tgt[f.next++];
        if (!alive(t)) continue;
        if (order[t] == kUnvisited) {
          visit(t);  // invalidates f
        } else if (on_stack[t]) {
          low[v] = std::min(low[v], order[t]);
        }
        continue;
      }
      calls.pop_back();
      if (low[v] == order[v]) {
        index_t x;
        do {
          x = stack.back();
          stack.pop_back();
          on_stack[x] = 0;
          comp[x] = comps;
        } while (x != v);
        ++comps;
      }
      if (!calls.empty()) {
        const index_t parent = calls.back().node;
        low[parent] = std::min(low[parent], low[v]);
      }
    }
  }
  return finish_components(n, alive, [&](index_t i) { return comp[i]; });
}

// ------------------------------------------------------------------ sampling

namespace {

enum SamplePurpose : std::uint64_t { kSampleClustering = 1, kSamplePaths = 2, kStartVector = 3 };

/// `k` alive nodes drawn without replacement (a partial Fisher-Yates shuffle driven by
/// the counter-based generator), ascending; every alive node when k is 0 or too large.
std::vector<index_t> sample_nodes(const Alive& alive, std::size_t n, std::size_t k, std::uint64_t seed,
                                  SamplePurpose purpose, bool& exact) {
  std::vector<index_t> nodes;
  nodes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (alive(i)) nodes.push_back(static_cast<index_t>(i));
  }
  exact = k == 0 || k >= nodes.size();
  if (exact) return nodes;
  const auto key = kernels::make_key(seed, static_cast<std::uint64_t>(kernels::RngStream::analysis));
  const std::size_t total = nodes.size();
  for (std::size_t i = 0; i < k; ++i) {
    const double u = kernels::draw_uniform(key, static_cast<std::uint32_t>(i), purpose);
    const std::size_t left = total - i;
    const std::size_t j = i + std::min(left - 1, static_cast<std::size_t>(u * static_cast<double>(left)));
    std::swap(nodes[i], nodes[j]);
  }
  nodes.resize(k);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

/// The undirected simple graph of the alive nodes: for each node the sorted distinct
/// neighbours (out-targets and in-sources), without itself.
struct Undirected {
  std::vector<offset_t> offsets;
  std::vector<index_t> nbrs;
  index_t degree(std::size_t v) const { return static_cast<index_t>(offsets[v + 1] - offsets[v]); }
};

/// Calls emit(x) for each distinct alive neighbour x != v of an alive node v. Both the
/// out-row (targets) and the in-row (sources, in edge order) are sorted, so a merge
/// gives them in ascending order without duplicates.
template <class Emit>
void for_each_neighbour(const Graph& g, const TargetIndex& ti, const Alive& alive, std::size_t v, Emit&& emit) {
  if (!alive(v)) return;
  const auto& off = g.out_offsets();
  const auto& tgt = g.edge_target();
  offset_t a = off[v], ae = off[v + 1], b = ti.in_offsets[v], be = ti.in_offsets[v + 1];
  index_t last = kNoComponent;
  while (a < ae || b < be) {
    index_t x;
    if (b >= be || (a < ae && tgt[a] <= ti.in_sources[b])) {
      x = tgt[a++];
    } else {
      x = ti.in_sources[b++];
    }
    if (x == last || x == v || !alive(x)) continue;
    last = x;
    emit(x);
  }
}

Undirected undirected(const Graph& g, const Alive& alive, int threads) {
  const std::size_t n = g.num_nodes();
  const TargetIndex& ti = g.by_target();
  Undirected u;
  u.offsets.assign(n + 1, 0);
  static_parts(threads, n, 1 << 12, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t v = b; v < e; ++v) {
      offset_t c = 0;
      for_each_neighbour(g, ti, alive, v, [&](index_t) { ++c; });
      u.offsets[v + 1] = c;
    }
  });
  for (std::size_t v = 0; v < n; ++v) u.offsets[v + 1] += u.offsets[v];
  u.nbrs.resize(u.offsets[n]);
  static_parts(threads, n, 1 << 12, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t v = b; v < e; ++v) {
      offset_t pos = u.offsets[v];
      for_each_neighbour(g, ti, alive, v, [&](index_t x) { u.nbrs[pos++] = x; });
    }
  });
  return u;
}

double local_clustering(std::uint64_t triangles, index_t degree) {
  if (degree < 2) return 0.0;
  return 2.0 * static_cast<double>(triangles) / (static_cast<double>(degree) * static_cast<double>(degree - 1));
}

}  // namespace

ClusteringStats clustering(const GraphView& view, const AnalysisOptions& options) {
  const Graph& g = graph_of(view, "clustering");
  const int threads = resolve_threads(options.threads);
  const Alive alive{view.alive};
  const std::size_t n = g.num_nodes();
  ClusteringStats out;
  bool exact = true;
  const std::vector<index_t> nodes = sample_nodes(alive, n, options.samples, options.seed, kSampleClustering, exact);
  out.exact = exact;
  out.nodes = nodes.size();
  if (nodes.empty()) return out;

  if (!exact) {
    // T(v) for each sampled node, from the rows themselves (no undirected copy of the
    // graph): the neighbours of v's neighbours that are neighbours of v, each triangle
    // seen from both of its other corners.
    const TargetIndex& ti = g.by_target();
    std::vector<std::uint64_t> tri(nodes.size(), 0);
    std::vector<index_t> degree(nodes.size(), 0);
    struct Scratch {
      std::vector<index_t> mark, nbrs;
    };
    std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
    dynamic_chunks(threads, nodes.size(), 4, [&](int p, std::size_t b, std::size_t e) {
      Scratch& sc = scratch[static_cast<std::size_t>(p)];
      if (sc.mark.empty()) sc.mark.assign(n, kNoComponent);
      for (std::size_t i = b; i < e; ++i) {
        const index_t v = nodes[i];
        sc.nbrs.clear();
        for_each_neighbour(g, ti, alive, v, [&](index_t x) { sc.nbrs.push_back(x); });
        for (index_t x : sc.nbrs) sc.mark[x] = v;
        std::uint64_t t = 0;
        for (index_t x : sc.nbrs) {
          for_each_neighbour(g, ti, alive, x, [&](index_t y) { t += sc.mark[y] == v; });
        }
        tri[i] = t / 2;
        degree[i] = static_cast<index_t>(sc.nbrs.size());
        for (index_t x : sc.nbrs) sc.mark[x] = kNoComponent;
      }
    });
    double sum = 0.0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      sum += local_clustering(tri[i], degree[i]);
      out.triangles += tri[i];
    }
    out.average = sum / static_cast<double>(nodes.size());
    return out;
  }

  const Undirected u = undirected(g, alive, threads);
  // Exact: orient every undirected edge from the lower to the higher (degree, id)
  // rank, so each triangle is found once, from its lowest-ranked node.
  auto higher = [&](index_t a, index_t b) {  // rank(b) > rank(a)
    const index_t da = u.degree(a), db = u.degree(b);
    return db > da || (db == da && b > a);
  };
  std::vector<offset_t> fwd_off(n + 1, 0);
  static_parts(threads, n, 1 << 12, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t v = b; v < e; ++v) {
      offset_t c = 0;
      for (offset_t k = u.offsets[v]; k < u.offsets[v + 1]; ++k) c += higher(static_cast<index_t>(v), u.nbrs[k]);
      fwd_off[v + 1] = c;
    }
  });
  for (std::size_t v = 0; v < n; ++v) fwd_off[v + 1] += fwd_off[v];
  std::vector<index_t> fwd(fwd_off[n]);
  static_parts(threads, n, 1 << 12, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t v = b; v < e; ++v) {
      offset_t pos = fwd_off[v];
      for (offset_t k = u.offsets[v]; k < u.offsets[v + 1]; ++k) {
        if (higher(static_cast<index_t>(v), u.nbrs[k])) fwd[pos++] = u.nbrs[k];
      }
    }
  });
  // Integer counts: the order of the atomic additions does not change them.
  std::unique_ptr<std::atomic<std::uint64_t>[]> tri(new std::atomic<std::uint64_t>[n]);
  for (std::size_t v = 0; v < n; ++v) tri[v].store(0, std::memory_order_relaxed);
  std::vector<std::vector<index_t>> marks(static_cast<std::size_t>(threads));
  dynamic_chunks(threads, n, 64, [&](int p, std::size_t b, std::size_t e) {
    auto& mark = marks[static_cast<std::size_t>(p)];
    if (mark.empty()) mark.assign(n, kNoComponent);
    for (std::size_t v = b; v < e; ++v) {
      if (fwd_off[v + 1] - fwd_off[v] < 2) continue;
      for (offset_t k = fwd_off[v]; k < fwd_off[v + 1]; ++k) mark[fwd[k]] = static_cast<index_t>(v);
      std::uint64_t own = 0;
      for (offset_t k = fwd_off[v]; k < fwd_off[v + 1]; ++k) {
        const index_t x = fwd[k];
        std::uint64_t here = 0;
        for (offset_t q = fwd_off[x]; q < fwd_off[x + 1]; ++q) {
          const index_t y = fwd[q];
          if (mark[y] == v) {
            ++here;
            tri[y].fetch_add(1, std::memory_order_relaxed);
          }
        }
        if (here) tri[x].fetch_add(here, std::memory_order_relaxed);
        own += here;
      }
      if (own) tri[v].fetch_add(own, std::memory_order_relaxed);
      for (offset_t k = fwd_off[v]; k < fwd_off[v + 1]; ++k) mark[fwd[k]] = kNoComponent;
    }
  });
  double sum = 0.0;
  std::uint64_t corners = 0;
  for (index_t v : nodes) {
    const std::uint64_t t = tri[v].load(std::memory_order_relaxed);
    corners += t;
    sum += local_clustering(t, u.degree(v));
  }
  out.triangles = corners / 3;
  out.average = sum / static_cast<double>(nodes.size());
  return out;
}

// ------------------------------------------------------------------ paths

PathStats shortest_paths(const GraphView& view, const AnalysisOptions& options) {
  const Graph& g = graph_of(view, "shortest_paths");
  const int threads = resolve_threads(options.threads);
  const Alive alive{view.alive};
  const std::size_t n = g.num_nodes();
  const auto& off = g.out_offsets();
  const auto& tgt = g.edge_target();
  const TargetIndex& ti = g.by_target();
  PathStats out;
  bool exact = true;
  const std::vector<index_t> sources = sample_nodes(alive, n, options.samples, options.seed, kSamplePaths, exact);
  const std::size_t alive_count = count_alive(alive, n);
  out.exact = exact;
  out.sources = sources.size();
  std::vector<std::uint64_t> reached(sources.size(), 0), dist_sum(sources.size(), 0);
  std::vector<std::uint32_t> ecc(sources.size(), 0);
  struct Scratch {
    std::vector<std::int32_t> dist;
    std::vector<index_t> frontier, next;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
  const double total_edges = static_cast<double>(g.num_edges());
  // Direction-optimising BFS (top-down while the frontier is small, bottom-up over
  // the in-edges of the unvisited nodes while it is large); the distances are those
  // of a plain BFS either way.
  dynamic_chunks(threads, sources.size(), 1, [&](int p, std::size_t b, std::size_t e) {
    Scratch& sc = scratch[static_cast<std::size_t>(p)];
    if (sc.dist.size() != n) sc.dist.assign(n, -1);
    for (std::size_t i = b; i < e; ++i) {
      std::fill(sc.dist.begin(), sc.dist.end(), -1);
      const index_t s = sources[i];
      sc.dist[s] = 0;
      sc.frontier.assign(1, s);
      std::int32_t level = 0;
      double unexplored = total_edges;  // in-edges of unvisited nodes, roughly
      bool bottom_up = false;
      std::uint64_t count = 0, sum = 0;
      while (!sc.frontier.empty()) {
        double frontier_edges = 0.0;
        for (index_t v : sc.frontier) frontier_edges += static_cast<double>(off[v + 1] - off[v]);
        if (bottom_up) {
          bottom_up = static_cast<double>(sc.frontier.size()) * 24.0 > static_cast<double>(n);
        } else {
          bottom_up = frontier_edges * 14.0 > unexplored;
        }
        sc.next.clear();
        if (bottom_up) {
          for (std::size_t v = 0; v < n; ++v) {
            if (sc.dist[v] >= 0 || !alive(v)) continue;
            for (offset_t k = ti.in_offsets[v]; k < ti.in_offsets[v + 1]; ++k) {
              if (sc.dist[ti.in_sources[k]] == level) {
                sc.dist[v] = level + 1;
                sc.next.push_back(static_cast<index_t>(v));
                break;
              }
            }
          }
        } else {
          for (index_t v : sc.frontier) {
            for (offset_t k = off[v]; k < off[v + 1]; ++k) {
              const index_t t = tgt[k];
              if (sc.dist[t] < 0 && alive(t)) {
                sc.dist[t] = level + 1;
                sc.next.push_back(t);
              }
            }
          }
        }
        ++level;
        for (index_t v : sc.next) unexplored -= static_cast<double>(ti.in_offsets[v + 1] - ti.in_offsets[v]);
        count += sc.next.size();
        sum += static_cast<std::uint64_t>(level) * sc.next.size();
        if (!sc.next.empty()) ecc[i] = static_cast<std::uint32_t>(level);
        sc.frontier.swap(sc.next);
      }
      reached[i] = count;
      dist_sum[i] = sum;
    }
  });
  std::uint64_t pairs = 0, total = 0;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    pairs += reached[i];
    total += dist_sum[i];
    out.max_length = std::max(out.max_length, ecc[i]);
  }
  out.reachable_pairs = pairs;
  out.mean_length = pairs ? static_cast<double>(total) / static_cast<double>(pairs) : kNaN;
  const double possible = static_cast<double>(sources.size()) * static_cast<double>(alive_count ? alive_count - 1 : 0);
  out.reachable_fraction = possible > 0 ? static_cast<double>(pairs) / possible : 0.0;
  return out;
}

// ------------------------------------------------------------------ spectral radius

SpectralStats spectral_radius(const GraphView& view, const AnalysisOptions& options) {
  const Graph& g = graph_of(view, "spectral_radius");
  if (options.power_iterations < 1) {
    throw InputError("spectral_radius: power_iterations must be >= 1, got " + std::to_string(options.power_iterations));
  }
  const int threads = resolve_threads(options.threads);
  const Alive alive{view.alive};
  const std::size_t n = g.num_nodes();
  const TargetIndex& ti = g.by_target();
  const auto& kind = g.edge_kind();
  const auto& types = g.node_type();
  const float* w = view.weights ? view.weights : g.edge_weight().data();
  SpectralStats out;
  if (n == 0) return out;

  // Effective weight of each by-target entry (0 for edges touching a dead node).
  std::vector<float> ew(ti.in_edges.size()), aw(ti.in_edges.size());
  const double kind_factor[kEdgeKindCount] = {1.0, -1.0, view.modulatory_gain, 1.0};
  static_parts(threads, n, 1 << 12, [&](int, std::size_t b, std::size_t e) {
    for (std::size_t j = b; j < e; ++j) {
      for (offset_t k = ti.in_offsets[j]; k < ti.in_offsets[j + 1]; ++k) {
        const index_t s = ti.in_sources[k];
        const index_t edge = ti.in_edges[k];
        double f = 0.0;
        if (alive(j) && alive(s) && kind[edge] < kEdgeKindCount) {
          f = kind_factor[kind[edge]] * static_cast<double>(w[edge]);
          f *= view.out_gain[types[s]];
        }
        ew[k] = static_cast<float>(f);
      }
      // |W|: the magnitude of each matrix entry, i.e. of the sum over the multapses
      // s -> j (adjacent in the by-target order), kept on the first of them.
      for (offset_t k = ti.in_offsets[j]; k < ti.in_offsets[j + 1];) {
        const offset_t first = k;
        double sum = 0.0;
        for (; k < ti.in_offsets[j + 1] && ti.in_sources[k] == ti.in_sources[first]; ++k) {
          sum += static_cast<double>(ew[k]);
          aw[k] = 0.0f;
        }
        aw[first] = static_cast<float>(std::fabs(sum));
      }
    }
  });

  // Both iterations in one sweep: xa[2i] is x_i (for W), xa[2i + 1] is a_i (for |W|).
  const auto key = kernels::make_key(options.seed, static_cast<std::uint64_t>(kernels::RngStream::analysis));
  std::vector<double> xa(2 * n, 0.0), yz(2 * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    if (alive(i)) xa[2 * i] = xa[2 * i + 1] = 0.5 + kernels::draw_uniform(key, static_cast<std::uint32_t>(i), kStartVector);
  }
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part_x(blocks), part_a(blocks);
  // The two norms, each summed over fixed blocks combined in block order.
  auto norms = [&](const std::vector<double>& v, double& nx, double& na) {
    dynamic_chunks(threads, blocks, 4, [&](int, std::size_t b, std::size_t e) {
      for (std::size_t blk = b; blk < e; ++blk) {
        double sx = 0.0, sa = 0.0;
        for (std::size_t i = blk * kBlock, end = std::min(n, i + kBlock); i < end; ++i) {
          sx += v[2 * i] * v[2 * i];
          sa += v[2 * i + 1] * v[2 * i + 1];
        }
        part_x[blk] = sx;
        part_a[blk] = sa;
      }
    });
    nx = na = 0.0;
    for (std::size_t blk = 0; blk < blocks; ++blk) {
      nx += part_x[blk];
      na += part_a[blk];
    }
    nx = std::sqrt(nx);
    na = std::sqrt(na);
  };
  // xa <- v scaled by 1/sx (signed part) and 1/sa (magnitude part); a zero scale keeps xa.
  auto rescale = [&](const std::vector<double>& v, double sx, double sa) {
    static_parts(threads, n, 1 << 14, [&](int, std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        if (sx > 0.0) xa[2 * i] = v[2 * i] / sx;
        if (sa > 0.0) xa[2 * i + 1] = v[2 * i + 1] / sa;
      }
    });
  };
  double nx, na;
  norms(xa, nx, na);
  if (nx == 0.0) return out;  // no alive node
  rescale(xa, nx, na);
  // The growth rate: the least-squares slope of the cumulative log norm
  // S_k = log |W^k x_0| over the last half of the iterations. With one dominant real
  // eigenvalue S_k is linear in k; with several of equal modulus (a complex pair, a
  // cycle's roots of unity) it oscillates around a line, and the slope's error then
  // falls as 1/L^2 with the window length L (a mean of the last growth factors
  // telescopes to the two end points and errs as 1/L).
  auto slope_rate = [](const std::vector<double>& log_g) {
    const std::size_t k_end = log_g.size();
    const std::size_t win = std::max<std::size_t>(1, k_end / 2);
    std::vector<double> s(win + 1);
    double acc = 0.0;
    for (std::size_t i = 0; i < k_end - win; ++i) acc += log_g[i];
    s[0] = acc;
    for (std::size_t i = 0; i < win; ++i) s[i + 1] = (acc += log_g[k_end - win + i]);
    const double mean_k = static_cast<double>(win) / 2.0;
    double mean_s = 0.0;
    for (double v : s) mean_s += v;
    mean_s /= static_cast<double>(win + 1);
    double num = 0.0, den = 0.0;
    for (std::size_t i = 0; i <= win; ++i) {
      const double dk = static_cast<double>(i) - mean_k;
      num += dk * (s[i] - mean_s);
      den += dk * dk;
    }
    return std::exp(num / den);
  };
  std::vector<double> log_growth, log_growth_abs, growth;
  bool signed_zero = false, abs_zero = false;
  int it = 0;
  constexpr int kCheck = 10;
  double last_est = -1.0, last_est_abs = -1.0;
  while (it < options.power_iterations && !(signed_zero && abs_zero)) {
    ++it;
    static_parts(threads, n, 1 << 12, [&](int, std::size_t b, std::size_t e) {
      for (std::size_t j = b; j < e; ++j) {
        double sy = 0.0, sz = 0.0;
        for (offset_t k = ti.in_offsets[j]; k < ti.in_offsets[j + 1]; ++k) {
          const std::size_t s = ti.in_sources[k];
          sy += static_cast<double>(ew[k]) * xa[2 * s];
          sz += static_cast<double>(aw[k]) * xa[2 * s + 1];
        }
        yz[2 * j] = sy;
        yz[2 * j + 1] = sz;
      }
    });
    double ny, nz;
    norms(yz, ny, nz);  // |x| = |a| = 1, so these are the growth factors
    // W^k x = 0 means W is nilpotent on the start vector (for example a DAG): radius 0.
    if (!signed_zero && ny == 0.0) signed_zero = true;
    if (!abs_zero && nz == 0.0) abs_zero = true;
    if (!signed_zero) {
      log_growth.push_back(std::log(ny));
      growth.push_back(ny);
    }
    if (!abs_zero) log_growth_abs.push_back(std::log(nz));
    rescale(yz, signed_zero ? 0.0 : ny, abs_zero ? 0.0 : nz);
    // Every kCheck iterations (after 2 kCheck): stop once neither estimate moved by
    // more than 1e-12 relative since the last check (a converged real dominant
    // eigenvalue; an oscillating norm keeps moving the estimate and runs on).
    if (it >= 2 * kCheck && it % kCheck == 0) {
      const double est = signed_zero ? 0.0 : slope_rate(log_growth);
      const double est_abs = abs_zero ? 0.0 : slope_rate(log_growth_abs);
      const bool settled = std::fabs(est - last_est) <= 1e-12 * est &&
                           std::fabs(est_abs - last_est_abs) <= 1e-12 * est_abs;
      last_est = est;
      last_est_abs = est_abs;
      if (settled) break;
    }
  }
  out.iterations = it;
  out.spectral_radius = signed_zero || log_growth.empty() ? 0.0 : slope_rate(log_growth);
  out.perron_root = abs_zero || log_growth_abs.empty() ? 0.0 : slope_rate(log_growth_abs);
  if (!signed_zero && !growth.empty()) {
    const std::size_t win = std::max<std::size_t>(1, growth.size() / 2);
    const auto first = growth.end() - static_cast<std::ptrdiff_t>(win);
    const auto [mn, mx] = std::minmax_element(first, growth.end());
    out.spread = out.spectral_radius > 0.0 ? (*mx - *mn) / out.spectral_radius : 0.0;
  }
  return out;
}

// ------------------------------------------------------------------ all of them

GraphMetrics graph_metrics(const GraphView& view, const AnalysisOptions& options) {
  graph_of(view, "graph_metrics");
  using clock = std::chrono::steady_clock;
  auto seconds_since = [](clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); };
  GraphMetrics m;
  view.graph->by_target();  // shared by several parts; built once, outside their timings
  auto t0 = clock::now();
  m.degrees = degree_stats(view, options.threads);
  m.seconds.degrees = seconds_since(t0);
  t0 = clock::now();
  m.weights = weight_stats(view, options.threads);
  m.seconds.weights = seconds_since(t0);
  t0 = clock::now();
  m.weak = weak_components(view, options.threads);
  m.seconds.weak_components = seconds_since(t0);
  t0 = clock::now();
  m.strong = strong_components(view);
  m.seconds.strong_components = seconds_since(t0);
  t0 = clock::now();
  m.clustering = clustering(view, options);
  m.seconds.clustering = seconds_since(t0);
  t0 = clock::now();
  m.paths = shortest_paths(view, options);
  m.seconds.paths = seconds_since(t0);
  t0 = clock::now();
  m.spectral = spectral_radius(view, options);
  m.seconds.spectral = seconds_since(t0);
  return m;
}

}  // namespace spikegraph
