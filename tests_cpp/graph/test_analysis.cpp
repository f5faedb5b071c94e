// graph/analysis.hpp: validation reports and structure metrics on hand-built graphs
// with known answers, random graphs against independent reference computations
// (and dense eigenvalues with Eigen where it is installed), thread-count independence.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#if defined(SPIKEGRAPH_TEST_HAVE_EIGEN)
// Scalar code is plenty for 50 x 50 matrices, and keeps GCC's AVX-512 intrinsics
// (-march=native) from warning inside Eigen.
#define EIGEN_DONT_VECTORIZE 1
#include <Eigen/Dense>
#endif

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/analysis.hpp"
#include "spikegraph/graph/graph.hpp"
#include "support/test_util.hpp"

using namespace spikegraph;
using sgtest::E;
using sgtest::small_graph;

namespace {

constexpr std::int64_t kExc = 0, kInh = 1, kMod = 2, kGated = 3;

/// A weight as the graph stores it (float32), in double.
double f32(double x) { return static_cast<double>(static_cast<float>(x)); }

AnalysisOptions exact(int threads = 1) {
  AnalysisOptions o;
  o.samples = 0;
  o.threads = threads;
  return o;
}

std::vector<E> cycle(std::int64_t n, double w, std::int64_t first = 0) {
  std::vector<E> e;
  for (std::int64_t i = 0; i < n; ++i) e.push_back(E{first + i, first + (i + 1) % n, w});
  return e;
}

bool contains(const ValidationReport& r, const std::string& text) {
  for (const auto& p : r.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

/// Random edges (multi-edges and self-loops possible), kinds with the given weights.
std::vector<E> random_edges(std::int64_t n, std::size_t m, std::uint64_t seed, double inhibitory = 0.2,
                            double modulatory = 0.0) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> node(0, n - 1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<E> e;
  for (std::size_t k = 0; k < m; ++k) {
    const double r = u(rng);
    const std::int64_t kind = r < inhibitory ? kInh : (r < inhibitory + modulatory ? kMod : kExc);
    const std::int64_t s = node(rng), t = node(rng);
    e.push_back(E{s, t, 0.1 + u(rng), 1 + static_cast<std::int64_t>(k % 3), kind});
  }
  return e;
}

// ---- independent reference computations (small graphs only)

struct Reference {
  std::size_t weak = 0, strong = 0, largest_weak = 0, largest_strong = 0;
  double clustering = 0.0, mean_path = 0.0, reachable_fraction = 0.0;
  std::vector<std::size_t> in_deg, out_deg;
};

Reference reference(const Graph& g, const std::vector<std::uint8_t>& alive) {
  const std::size_t n = g.num_nodes();
  auto live = [&](std::size_t i) { return alive.empty() || alive[i] != 0; };
  std::vector<std::vector<std::size_t>> out(n);
  std::vector<std::set<std::size_t>> und(n);
  Reference r;
  r.in_deg.assign(n, 0);
  r.out_deg.assign(n, 0);
  const auto src = g.edge_sources();
  for (std::size_t e = 0; e < g.num_edges(); ++e) {
    const std::size_t s = src[e], t = g.edge_target()[e];
    if (!live(s) || !live(t)) continue;
    out[s].push_back(t);
    ++r.out_deg[s];
    ++r.in_deg[t];
    if (s != t) {
      und[s].insert(t);
      und[t].insert(s);
    }
  }
  // Reachability by BFS from every node.
  std::vector<std::vector<char>> reach(n, std::vector<char>(n, 0));
  std::size_t alive_count = 0, pairs = 0, dist_sum = 0;
  for (std::size_t s = 0; s < n; ++s) {
    if (!live(s)) continue;
    ++alive_count;
    std::vector<long> d(n, -1);
    std::queue<std::size_t> q;
    d[s] = 0;
    q.push(s);
    while (!q.empty()) {
      const std::size_t v = q.front();
      q.pop();
      reach[s][v] = 1;
      for (std::size_t t : out[v]) {
        if (d[t] < 0) {
          d[t] = d[v] + 1;
          q.push(t);
        }
      }
    }
    for (std::size_t t = 0; t < n; ++t) {
      if (t != s && d[t] > 0) {
        ++pairs;
        dist_sum += static_cast<std::size_t>(d[t]);
      }
    }
  }
  r.mean_path = pairs ? static_cast<double>(dist_sum) / static_cast<double>(pairs) : 0.0;
  r.reachable_fraction = static_cast<double>(pairs) / static_cast<double>(alive_count * (alive_count - 1));
  // Strong: mutual reachability; weak: BFS on the undirected graph.
  std::vector<long> scc(n, -1), wcc(n, -1);
  for (std::size_t i = 0; i < n; ++i) {
    if (!live(i) || scc[i] >= 0) continue;
    std::size_t size = 0;
    for (std::size_t j = 0; j < n; ++j) {
      if (live(j) && reach[i][j] && reach[j][i]) {
        scc[j] = static_cast<long>(r.strong);
        ++size;
      }
    }
    ++r.strong;
    r.largest_strong = std::max(r.largest_strong, size);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!live(i) || wcc[i] >= 0) continue;
    std::size_t size = 0;
    std::queue<std::size_t> q;
    wcc[i] = static_cast<long>(r.weak);
    q.push(i);
    while (!q.empty()) {
      const std::size_t v = q.front();
      q.pop();
      ++size;
      for (std::size_t t : und[v]) {
        if (wcc[t] < 0) {
          wcc[t] = wcc[i];
          q.push(t);
        }
      }
    }
    ++r.weak;
    r.largest_weak = std::max(r.largest_weak, size);
  }
  double csum = 0.0;
  for (std::size_t v = 0; v < n; ++v) {
    if (!live(v)) continue;
    const std::size_t d = und[v].size();
    if (d < 2) continue;
    std::size_t links = 0;
    for (std::size_t a : und[v]) {
      for (std::size_t b : und[v]) {
        if (a < b && und[a].count(b)) ++links;
      }
    }
    csum += 2.0 * static_cast<double>(links) / static_cast<double>(d * (d - 1));
  }
  r.clustering = csum / static_cast<double>(alive_count);
  return r;
}

void same_metrics(const GraphMetrics& a, const GraphMetrics& b) {
  CHECK(a.degrees.in_histogram == b.degrees.in_histogram);
  CHECK(a.degrees.out_histogram == b.degrees.out_histogram);
  CHECK(a.degrees.edges == b.degrees.edges);
  for (int k = 0; k < kEdgeKindCount; ++k) {
    CHECK(a.weights[k].count == b.weights[k].count);
    CHECK(sgtest::ulp_distance(a.weights[k].mean, b.weights[k].mean) == 0);
    CHECK(sgtest::ulp_distance(a.weights[k].std, b.weights[k].std) == 0);
    CHECK(sgtest::ulp_distance(a.weights[k].min, b.weights[k].min) == 0);
    CHECK(sgtest::ulp_distance(a.weights[k].max, b.weights[k].max) == 0);
  }
  CHECK(a.weak.labels == b.weak.labels);
  CHECK(a.weak.sizes == b.weak.sizes);
  CHECK(a.strong.labels == b.strong.labels);
  CHECK(a.strong.sizes == b.strong.sizes);
  CHECK(sgtest::ulp_distance(a.clustering.average, b.clustering.average) == 0);
  CHECK(a.clustering.triangles == b.clustering.triangles);
  CHECK(sgtest::ulp_distance(a.paths.mean_length, b.paths.mean_length) == 0);
  CHECK(a.paths.reachable_pairs == b.paths.reachable_pairs);
  CHECK(a.paths.max_length == b.paths.max_length);
  CHECK(sgtest::ulp_distance(a.spectral.spectral_radius, b.spectral.spectral_radius) == 0);
  CHECK(sgtest::ulp_distance(a.spectral.perron_root, b.spectral.perron_root) == 0);
}

}  // namespace

TEST_CASE("analysis: a directed cycle", "[graph][analysis]") {
  const auto g = small_graph(5, cycle(5, 0.7));
  const GraphMetrics m = graph_metrics(GraphView(*g), exact());
  CHECK(m.degrees.nodes == 5);
  CHECK(m.degrees.edges == 5);
  CHECK(m.degrees.in_histogram == std::vector<std::uint64_t>{0, 5});
  CHECK(m.degrees.out_histogram == std::vector<std::uint64_t>{0, 5});
  CHECK(m.degrees.mean_in == 1.0);
  CHECK(m.weak.count == 1);
  CHECK(m.weak.largest == 5);
  CHECK(m.strong.count == 1);
  CHECK(m.strong.largest == 5);
  CHECK(m.clustering.average == 0.0);  // a 5-cycle has no triangle
  CHECK(m.clustering.exact);
  // From every node the others are 1, 2, 3, 4 steps away.
  CHECK(m.paths.mean_length == 2.5);
  CHECK(m.paths.reachable_fraction == 1.0);
  CHECK(m.paths.max_length == 4);
  CHECK(m.paths.sources == 5);
  // W is 0.7 times a permutation: every eigenvalue has modulus 0.7.
  CHECK(m.spectral.spectral_radius == Approx(f32(0.7)).epsilon(1e-12));
  CHECK(m.spectral.perron_root == Approx(f32(0.7)).epsilon(1e-12));
  CHECK(m.spectral.iterations == 30);  // converged at once: stops at the second check
  CHECK(m.weights[0].count == 5);
  CHECK(m.weights[0].mean == Approx(0.7));
  CHECK(m.weights[0].std == Approx(0.0).margin(1e-7));
  CHECK(m.weights[1].count == 0);
  CHECK(std::isnan(m.weights[1].mean));

  const auto tri = small_graph(3, cycle(3, 2.0));
  const ClusteringStats c = clustering(GraphView(*tri), exact());
  CHECK(c.average == 1.0);
  CHECK(c.triangles == 1);
}

TEST_CASE("analysis: two disjoint triangles", "[graph][analysis]") {
  auto edges = cycle(3, 1.0);
  for (const E& e : cycle(3, 1.0, 3)) edges.push_back(e);
  const auto g = small_graph(6, edges);
  const GraphView v(*g);
  const Components weak = weak_components(v, 1);
  CHECK(weak.count == 2);
  CHECK(weak.largest == 3);
  CHECK(weak.sizes == std::vector<index_t>{3, 3});
  CHECK(weak.labels == std::vector<index_t>{0, 0, 0, 1, 1, 1});
  const Components strong = strong_components(v);
  CHECK(strong.count == 2);
  CHECK(strong.labels == std::vector<index_t>{0, 0, 0, 1, 1, 1});
  const ClusteringStats c = clustering(v, exact());
  CHECK(c.average == 1.0);
  CHECK(c.triangles == 2);
  const PathStats p = shortest_paths(v, exact());
  CHECK(p.mean_length == 1.5);
  CHECK(p.reachable_pairs == 12);
  CHECK(p.reachable_fraction == Approx(12.0 / 30.0));
  CHECK(p.max_length == 2);
}

TEST_CASE("analysis: a star with one chord, a DAG", "[graph][analysis]") {
  // 0 -> 1..4, and 1 -> 2 closes one triangle (0, 1, 2).
  const auto g = small_graph(5, {{0, 1, 1.0}, {0, 2, 1.0}, {0, 3, 1.0}, {0, 4, 1.0}, {1, 2, 1.0}});
  const GraphView v(*g);
  const ClusteringStats c = clustering(v, exact());
  CHECK(c.average == Approx((1.0 / 6.0 + 1.0 + 1.0) / 5.0).epsilon(1e-15));
  CHECK(c.triangles == 1);
  const Components strong = strong_components(v);
  CHECK(strong.count == 5);
  CHECK(strong.largest == 1);
  CHECK(weak_components(v, 1).count == 1);
  const DegreeStats d = degree_stats(v, 1);
  CHECK(d.out_histogram == std::vector<std::uint64_t>{3, 1, 0, 0, 1});
  CHECK(d.in_histogram == std::vector<std::uint64_t>{1, 3, 1});
  CHECK(d.max_out == 4);
  CHECK(d.max_in == 2);
  CHECK(d.mean_out == 1.0);
  const PathStats p = shortest_paths(v, exact());
  CHECK(p.reachable_pairs == 5);
  CHECK(p.mean_length == 1.0);
  CHECK(p.reachable_fraction == 0.25);
  // A DAG is nilpotent: both radii are 0.
  const SpectralStats s = spectral_radius(v, exact());
  CHECK(s.spectral_radius == 0.0);
  CHECK(s.perron_root == 0.0);
  CHECK(s.iterations == 3);  // the longest path has 2 edges: W^3 x = 0

  // Chain 0 -> 1 -> 2 -> 3 with the shortcut 0 -> 2.
  const auto dag = small_graph(4, {{0, 1, 1.0}, {1, 2, 1.0}, {2, 3, 1.0}, {0, 2, 1.0}});
  const PathStats dp = shortest_paths(GraphView(*dag), exact());
  CHECK(dp.reachable_pairs == 6);
  CHECK(dp.mean_length == Approx(8.0 / 6.0).epsilon(1e-15));
  CHECK(dp.max_length == 2);
  CHECK(strong_components(GraphView(*dag)).count == 4);
}

TEST_CASE("analysis: dead nodes and their edges are left out", "[graph][analysis]") {
  // 0 -> 1 -> 2 -> 0 and 2 -> 3; node 1 is dead, so only 2 -> 0 and 2 -> 3 are live.
  const auto g = small_graph(4, {{0, 1, 1.0}, {1, 2, 1.0}, {2, 0, 1.0}, {2, 3, 1.0}});
  const std::vector<std::uint8_t> alive = {1, 0, 1, 1};
  GraphView v(*g);
  v.alive = alive.data();
  const DegreeStats d = degree_stats(v, 1);
  CHECK(d.nodes == 3);
  CHECK(d.edges == 2);
  CHECK(d.out_histogram == std::vector<std::uint64_t>{2, 0, 1});
  CHECK(d.in_histogram == std::vector<std::uint64_t>{1, 2});
  const Components weak = weak_components(v, 1);
  CHECK(weak.count == 1);
  CHECK(weak.largest == 3);
  CHECK(weak.labels == std::vector<index_t>{0, kNoComponent, 0, 0});
  const Components strong = strong_components(v);
  CHECK(strong.count == 3);
  CHECK(strong.labels[1] == kNoComponent);
  CHECK(spectral_radius(v, exact()).spectral_radius == 0.0);  // the cycle is broken
  const PathStats p = shortest_paths(v, exact());
  CHECK(p.sources == 3);
  CHECK(p.reachable_pairs == 2);
  CHECK(p.reachable_fraction == Approx(2.0 / 6.0));
  CHECK(weight_stats(v, 1)[0].count == 2);
  // The validation names the edges into and out of the dead node.
  const ValidationReport r = validate_graph(v, 1);
  CHECK_FALSE(r.ok);
  CHECK(r.problem_count == 2);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("edge 0 (0 -> 1) touches dead node 1") != std::string::npos);
  CHECK(r.problems[0].find("structure step") != std::string::npos);
  CHECK(r.problems[0].find("2 such problems") != std::string::npos);
  CHECK(validate_graph(GraphView(*g), 1).ok);
}

TEST_CASE("analysis: weight statistics by kind use the current weights", "[graph][analysis]") {
  const auto g = small_graph(3, {{0, 1, 1.0, 1, kExc}, {0, 2, 3.0, 1, kExc}, {1, 2, 2.0, 1, kInh},
                                 {2, 0, 0.5, 1, kMod}, {2, 1, 0.25, 1, kGated}, {1, 0, 5.0, 1, kInh}});
  auto s = weight_stats(GraphView(*g), 1);
  CHECK(s[0].count == 2);
  CHECK(s[0].mean == 2.0);
  CHECK(s[0].std == 1.0);
  CHECK(s[0].min == 1.0);
  CHECK(s[0].max == 3.0);
  CHECK(s[1].count == 2);
  CHECK(s[1].mean == 3.5);
  CHECK(s[1].std == 1.5);
  CHECK(s[2].count == 1);
  CHECK(s[2].mean == 0.5);
  CHECK(s[2].std == 0.0);
  CHECK(s[3].max == 0.25);
  // Current weights (graph edge order: rows by source, sorted by target).
  std::vector<float> w(g->num_edges(), 4.0f);
  GraphView v(*g);
  v.weights = w.data();
  s = weight_stats(v, 1);
  CHECK(s[0].mean == 4.0);
  CHECK(s[0].std == 0.0);
  CHECK(s[1].min == 4.0);
}

TEST_CASE("analysis: spectral radius with gains and complex eigenvalues", "[graph][analysis]") {
  // W = [[a, -b], [b, a]]: eigenvalues a +- ib (a self-loop on each node, 1 -> 0
  // inhibitory, 0 -> 1 excitatory).
  const double a = 0.6, b = 0.8;
  const auto rot = small_graph(2, {{0, 0, a}, {1, 1, a}, {1, 0, b, 1, kInh}, {0, 1, b}});
  SpectralStats s = spectral_radius(GraphView(*rot), exact());
  CHECK(s.spectral_radius == Approx(std::hypot(f32(a), f32(b))).epsilon(1e-12));
  CHECK(s.perron_root == Approx(f32(a) + f32(b)).epsilon(1e-12));
  // A complex pair of modulus 2 dominating a real eigenvalue 1.5 (a separate 1-cycle).
  const auto mix = small_graph(3, {{0, 0, 1.2}, {1, 1, 1.2}, {1, 0, 1.6, 1, kInh}, {0, 1, 1.6}, {2, 2, 1.5}});
  AnalysisOptions o = exact();
  o.power_iterations = 400;
  s = spectral_radius(GraphView(*mix), o);
  CHECK(s.spectral_radius == Approx(std::hypot(f32(1.2), f32(1.6))).epsilon(1e-9));
  // Relay gain on the source of 0 -> 1 and modulatory gain on 1 -> 0: the 2-cycle's
  // eigenvalues are +-sqrt(w01 * relay * w10 * modulatory).
  const auto two = small_graph(2, {{0, 1, 2.0}, {1, 0, 1.0, 1, kMod}}, {4, 1});
  GraphView v(*two);
  v.set_outgoing_gain(1.5);  // the relays
  v.modulatory_gain = 0.5;
  s = spectral_radius(v, exact());
  CHECK(s.spectral_radius == Approx(std::sqrt(2.0 * 1.5 * 1.0 * 0.5)).epsilon(1e-12));
  v.out_gain[static_cast<int>(NodeType::relay)] = 2.0;
  CHECK(spectral_radius(v, exact()).spectral_radius == Approx(std::sqrt(2.0 * 2.0 * 0.5)).epsilon(1e-12));
  // A 3-cycle with a heavy tail: |W^k x| oscillates with period 3 around 0.8^k, and
  // the slope of log |W^k x| still finds the rate.
  const auto tail = small_graph(4, {{0, 1, 0.8}, {1, 2, 0.8}, {2, 0, 0.8}, {2, 3, 3.0}});
  s = spectral_radius(GraphView(*tail), exact());
  CHECK(s.spectral_radius == Approx(f32(0.8)).epsilon(1e-3));
  CHECK(s.spread > 0.1);  // the oscillation shows
  o.power_iterations = 1000;
  CHECK(spectral_radius(GraphView(*tail), o).spectral_radius == Approx(f32(0.8)).epsilon(1e-5));
  // A directed cycle of weight w: radius w for any length, including a long one.
  const auto big = small_graph(1000, cycle(1000, 0.9));
  CHECK(spectral_radius(GraphView(*big), exact()).spectral_radius == Approx(f32(0.9)).epsilon(1e-12));
  o.power_iterations = 0;
  CHECK_THROWS_AS(spectral_radius(GraphView(*big), o), InputError);
}

TEST_CASE("analysis: random graphs agree with reference computations", "[graph][analysis]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const std::int64_t n = 60;
    const auto g = small_graph(static_cast<std::size_t>(n), random_edges(n, 150 + 40 * seed, seed));
    std::vector<std::uint8_t> alive(static_cast<std::size_t>(n), 1);
    if (seed == 3) alive[5] = alive[17] = alive[40] = 0;
    GraphView v(*g);
    if (seed == 3) v.alive = alive.data();
    const Reference ref = reference(*g, seed == 3 ? alive : std::vector<std::uint8_t>{});
    const GraphMetrics m = graph_metrics(v, exact(2));
    CAPTURE(seed);
    CHECK(m.weak.count == ref.weak);
    CHECK(m.weak.largest == ref.largest_weak);
    CHECK(m.strong.count == ref.strong);
    CHECK(m.strong.largest == ref.largest_strong);
    CHECK(m.clustering.average == Approx(ref.clustering).epsilon(1e-12));
    CHECK(m.paths.mean_length == Approx(ref.mean_path).epsilon(1e-12));
    CHECK(m.paths.reachable_fraction == Approx(ref.reachable_fraction).epsilon(1e-12));
    std::vector<std::uint64_t> in_h(m.degrees.in_histogram.size(), 0), out_h(m.degrees.out_histogram.size(), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      if (!alive[static_cast<std::size_t>(i)] && seed == 3) continue;
      REQUIRE(ref.in_deg[static_cast<std::size_t>(i)] < in_h.size());
      ++in_h[ref.in_deg[static_cast<std::size_t>(i)]];
      ++out_h[ref.out_deg[static_cast<std::size_t>(i)]];
    }
    CHECK(m.degrees.in_histogram == in_h);
    CHECK(m.degrees.out_histogram == out_h);
  }
}

#if defined(SPIKEGRAPH_TEST_HAVE_EIGEN)
TEST_CASE("analysis: spectral radius of random graphs matches dense eigenvalues (Eigen)",
          "[graph][analysis][eigen]") {
  struct Case {
    std::uint64_t seed;
    double inhibitory, modulatory;
    int iterations;
    double tolerance;
  };
  // Excitation-dominated graphs have a well separated real outlier; the balanced
  // ones a crowd of eigenvalues of similar modulus (slower, looser).
  for (const Case c : {Case{11, 0.2, 0.1, 300, 1e-9}, Case{12, 0.25, 0.0, 300, 1e-9}, Case{13, 0.5, 0.0, 3000, 1e-3},
                       Case{14, 0.45, 0.1, 3000, 1e-3}}) {
    const int n = 50;
    const auto g = small_graph(n, random_edges(n, 400, c.seed, c.inhibitory, c.modulatory),
                               std::vector<std::int64_t>(static_cast<std::size_t>(n), 1));
    GraphView v(*g);
    v.modulatory_gain = 0.5;
    Eigen::MatrixXd w = Eigen::MatrixXd::Zero(n, n);
    const auto src = g->edge_sources();
    const double f[4] = {1.0, -1.0, 0.5, 1.0};
    for (std::size_t e = 0; e < g->num_edges(); ++e) {
      const double x = f[g->edge_kind()[e]] * g->edge_weight()[e];
      w(g->edge_target()[e], src[e]) += x;
    }
    const Eigen::MatrixXd a = w.cwiseAbs();  // |W|: entrywise, multapses summed first
    const double rho = w.eigenvalues().cwiseAbs().maxCoeff();
    const double perron = a.eigenvalues().cwiseAbs().maxCoeff();
    AnalysisOptions o = exact(2);
    o.power_iterations = c.iterations;
    const SpectralStats s = spectral_radius(v, o);
    CAPTURE(c.seed, rho, perron);
    CHECK(s.spectral_radius == Approx(rho).epsilon(c.tolerance));
    // |W| entries are rounded to float32 (relative 6e-8), which moves the Perron root by as much.
    CHECK(s.perron_root == Approx(perron).epsilon(1e-7));
  }
}
#endif

TEST_CASE("analysis: results do not depend on the thread count", "[graph][analysis][threads]") {
  // Large enough that every thread count splits nodes and edges into uneven parts, small
  // enough for the sanitizer build.
  const std::int64_t n = 8000;
  const auto g = small_graph(static_cast<std::size_t>(n), random_edges(n, 80000, 99, 0.25, 0.1));
  std::vector<std::uint8_t> alive(static_cast<std::size_t>(n), 1);
  for (std::size_t i = 0; i < alive.size(); i += 97) alive[i] = 0;
  std::vector<float> w(g->num_edges());
  for (std::size_t e = 0; e < w.size(); ++e) w[e] = 0.05f + static_cast<float>(e % 101) / 100.0f;
  GraphView v(*g);
  v.alive = alive.data();
  v.weights = w.data();
  AnalysisOptions o;
  o.samples = 150;
  o.power_iterations = 50;
  o.seed = 5;
  o.threads = 1;
  const GraphMetrics one = graph_metrics(v, o);
  CHECK(one.degrees.nodes == alive.size() - (alive.size() + 96) / 97);
  for (int threads : {2, 3, 4}) {
    o.threads = threads;
    CAPTURE(threads);
    same_metrics(one, graph_metrics(v, o));
  }
  // Exact clustering with its triangle counting (atomic integer counts) as well.
  AnalysisOptions e1 = exact(1), e4 = exact(4);
  const ClusteringStats c1 = clustering(v, e1), c4 = clustering(v, e4);
  CHECK(c1.triangles == c4.triangles);
  CHECK(sgtest::ulp_distance(c1.average, c4.average) == 0);
  // And the validation report, with problems spread over the parts.
  std::vector<float> bad = w;
  bad[10] = std::numeric_limits<float>::quiet_NaN();
  bad[70000] = -1.0f;
  v.weights = bad.data();
  const ValidationReport r1 = validate_graph(v, 1), r4 = validate_graph(v, 4);
  CHECK(r1.problems == r4.problems);
  CHECK(r1.problem_count == r4.problem_count);
  CHECK(contains(r1, "edge state 'weight'[10] = nan is not finite and >= 0 (2 such problems in all)"));
}

TEST_CASE("analysis: sampling", "[graph][analysis]") {
  const std::int64_t n = 3000;
  const auto g = small_graph(static_cast<std::size_t>(n), random_edges(n, 30000, 4));
  const GraphView v(*g);
  AnalysisOptions o;
  o.samples = 200;
  o.threads = 2;
  const ClusteringStats sc = clustering(v, o);
  CHECK_FALSE(sc.exact);
  CHECK(sc.nodes == 200);
  const ClusteringStats ec = clustering(v, exact(2));
  CHECK(ec.exact);
  CHECK(ec.nodes == 3000);
  // The sampled average estimates the exact one (fixed seed: a deterministic check).
  CHECK(sc.average == Approx(ec.average).epsilon(0.5));
  const PathStats sp = shortest_paths(v, o);
  CHECK(sp.sources == 200);
  CHECK_FALSE(sp.exact);
  const PathStats ep = shortest_paths(v, exact(2));
  CHECK(sp.mean_length == Approx(ep.mean_length).epsilon(0.05));
  // Same seed, same sample; another seed, another sample.
  CHECK(shortest_paths(v, o).mean_length == sp.mean_length);
  o.seed = 77;
  CHECK(shortest_paths(v, o).mean_length != sp.mean_length);
  // A sample as large as the graph is the exact computation.
  o.samples = 5000;
  CHECK(clustering(v, o).exact);
  CHECK(clustering(v, o).average == ec.average);
  // Sampled clustering of a graph where every node has C = 1.
  std::vector<E> triangles;
  for (std::int64_t t = 0; t < 100; ++t) {
    for (const E& e : cycle(3, 1.0, 3 * t)) triangles.push_back(e);
  }
  const auto tg = small_graph(300, triangles);
  o.samples = 17;
  const ClusteringStats tc = clustering(GraphView(*tg), o);
  CHECK(tc.nodes == 17);
  CHECK(tc.average == 1.0);
  CHECK(tc.triangles == 17);
}

TEST_CASE("analysis: a million nodes without recursion", "[graph][analysis][large]") {
  // Still deep enough in slow builds to overflow the stack of a recursive search.
  const std::int64_t n = sgtest::kSlowBuild ? 250000 : 1000000;
  const auto ring = small_graph(static_cast<std::size_t>(n), cycle(n, 1.0));
  const Components s = strong_components(GraphView(*ring));
  CHECK(s.count == 1);
  CHECK(s.largest == static_cast<std::size_t>(n));
  std::vector<E> chain;
  for (std::int64_t i = 0; i + 1 < n; ++i) chain.push_back(E{i, i + 1, 1.0});
  const auto line = small_graph(static_cast<std::size_t>(n), chain);
  const Components sl = strong_components(GraphView(*line));
  CHECK(sl.count == static_cast<std::size_t>(n));
  CHECK(sl.largest == 1);
  CHECK(weak_components(GraphView(*line), 2).count == 1);
  AnalysisOptions o;
  o.samples = 1;
  o.threads = 2;
  const PathStats p = shortest_paths(GraphView(*ring), o);
  CHECK(p.max_length == n - 1);
  CHECK(p.mean_length == Approx(static_cast<double>(n) / 2.0));
}

TEST_CASE("analysis: validation reports each kind of problem once", "[graph][analysis][validate]") {
  const auto g = small_graph(4, {{0, 1, 1.0, 2}, {1, 2, 1.0, 3}, {2, 3, 0.5}, {3, 0, 0.5}});
  GraphView v(*g);
  ValidationReport r = validate_graph(v, 2);
  CHECK(r.ok);
  CHECK(r.problems.empty());
  CHECK(r.problem_count == 0);
  CHECK(g->has_target_index());  // the by-target index was built and checked
  std::vector<float> w = {1.0f, std::numeric_limits<float>::infinity(), -2.0f, 0.5f};
  std::vector<std::uint8_t> alive = {1, 1, 2, 0};
  v.weights = w.data();
  v.alive = alive.data();
  r = validate_graph(v, 2);
  CHECK_FALSE(r.ok);
  CHECK(contains(r, "state 'alive'[2] = 2 is not 0 or 1"));
  CHECK(contains(r, "edge state 'weight'[1] = inf is not finite and >= 0 (2 such problems in all)"));
  CHECK(contains(r, "edge 2 (2 -> 3) touches dead node 3"));
  CHECK(r.problem_count == 5);  // alive flag, 2 weights, 2 edges at node 3
  GraphView none;
  CHECK_THROWS_AS(validate_graph(none), InputError);
  CHECK_THROWS_AS(graph_metrics(none), InputError);
}
