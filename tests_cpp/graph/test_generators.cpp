// graph/generators.hpp: make_brunel and make_network.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "support/test_util.hpp"

using spikegraph::BrunelParams;
using spikegraph::make_brunel;

namespace {

BrunelParams small(std::uint64_t seed = 7) {
  BrunelParams p;
  p.n = 500;
  p.exc_fraction = 0.8;
  p.k_in = 40;
  p.j = 0.2;
  p.g = 4.5;
  p.delay_steps = 7;
  p.seed = seed;
  return p;
}

bool same_graph(const spikegraph::Graph& a, const spikegraph::Graph& b) {
  return a.node_type() == b.node_type() && a.out_offsets() == b.out_offsets() &&
         a.edge_target() == b.edge_target() && a.edge_weight() == b.edge_weight() &&
         a.edge_delay() == b.edge_delay() && a.edge_kind() == b.edge_kind();
}

}  // namespace

TEST_CASE("make_brunel: structure", "[graph][brunel]") {
  const auto p = small();
  auto g = make_brunel(p);
  REQUIRE(g);
  CHECK_NOTHROW(g->validate());
  const std::size_t n = 500, n_exc = 400, k = 40, k_exc = 32;
  CHECK(g->num_nodes() == n);
  CHECK(g->num_edges() == n * k);
  CHECK(g->max_delay() == 7);
  CHECK(g->edge_plastic().empty());
  for (auto t : g->node_type()) REQUIRE(t == static_cast<std::uint8_t>(spikegraph::NodeType::dynamic));
  const auto& idx = g->by_target();
  CHECK_NOTHROW(g->validate());
  const auto& w = g->edge_weight();
  const auto& kind = g->edge_kind();
  const float w_exc = 0.2f, w_inh = static_cast<float>(4.5 * 0.2);
  for (std::size_t t = 0; t < n; ++t) {
    INFO("target " << t);
    REQUIRE(idx.in_offsets[t + 1] - idx.in_offsets[t] == k);  // exactly k_in in-edges
    std::size_t n_e = 0, n_i = 0;
    for (auto e = idx.in_offsets[t]; e < idx.in_offsets[t + 1]; ++e) {
      const auto id = idx.in_edges[e];
      const auto src = idx.in_sources[e];
      if (kind[id] == static_cast<std::uint8_t>(spikegraph::EdgeKind::excitatory)) {
        ++n_e;
        REQUIRE(src < n_exc);
        REQUIRE(w[id] == w_exc);
      } else {
        REQUIRE(kind[id] == static_cast<std::uint8_t>(spikegraph::EdgeKind::inhibitory));
        ++n_i;
        REQUIRE(src >= n_exc);
        REQUIRE(src < n);
        REQUIRE(w[id] == w_inh);
      }
    }
    REQUIRE(n_e == k_exc);
    REQUIRE(n_i == k - k_exc);
  }
  for (auto d : g->edge_delay()) REQUIRE(d == 7);
  // Sources are spread over the whole populations (uniform draws): every excitatory
  // and inhibitory node is used at least once among 16000 / 4000 draws.
  std::set<spikegraph::index_t> used(idx.in_sources.begin(), idx.in_sources.end());
  CHECK(used.size() == n);
  // Excitatory out-degrees average k_exc * n / n_exc = 40.
  const auto st = g->stats();
  CHECK(st.edges_by_kind[0] == n * k_exc);
  CHECK(st.edges_by_kind[1] == n * (k - k_exc));
  CHECK(st.max_in_degree == k);
}

TEST_CASE("make_brunel: deterministic for a seed, different for another", "[graph][brunel]") {
  auto a = make_brunel(small(7));
  auto b = make_brunel(small(7));
  auto c = make_brunel(small(8));
  CHECK(same_graph(*a, *b));
  CHECK_FALSE(same_graph(*a, *c));
  CHECK(a->edge_target() != c->edge_target());
  // The graph does not depend on N in a hidden way either: k_in = 0 yields no edges.
  auto p = small();
  p.k_in = 0;
  auto empty = make_brunel(p);
  CHECK(empty->num_edges() == 0);
  CHECK(empty->num_nodes() == 500);
}

TEST_CASE("make_brunel: corner populations", "[graph][brunel]") {
  auto p = small();
  SECTION("all excitatory") {
    p.exc_fraction = 1.0;
    auto g = make_brunel(p);
    CHECK(g->stats().edges_by_kind[1] == 0);
    CHECK(g->stats().edges_by_kind[0] == 500 * 40);
  }
  SECTION("all inhibitory") {
    p.exc_fraction = 0.0;
    auto g = make_brunel(p);
    CHECK(g->stats().edges_by_kind[0] == 0);
    CHECK(g->stats().edges_by_kind[1] == 500 * 40);
  }
  SECTION("single node: only autapses") {
    p.n = 1;
    p.exc_fraction = 1.0;
    p.k_in = 3;
    auto g = make_brunel(p);
    CHECK(g->edge_target() == std::vector<spikegraph::index_t>{0, 0, 0});
  }
}

TEST_CASE("make_brunel: invalid parameters throw GraphError", "[graph][brunel]") {
  auto p = small();
  SECTION("n = 0") { p.n = 0; }
  SECTION("n < 0") { p.n = -5; }
  SECTION("k_in < 0") { p.k_in = -1; }
  SECTION("exc_fraction > 1") { p.exc_fraction = 1.5; }
  SECTION("exc_fraction < 0") { p.exc_fraction = -0.1; }
  SECTION("exc_fraction NaN") { p.exc_fraction = std::nan(""); }
  SECTION("j NaN") { p.j = std::nan(""); }
  SECTION("j negative") { p.j = -0.1; }
  SECTION("g infinite") { p.g = std::numeric_limits<double>::infinity(); }
  SECTION("g negative") { p.g = -1.0; }
  SECTION("delay 0") { p.delay_steps = 0; }
  SECTION("delay 65536") { p.delay_steps = 65536; }
  SECTION("inhibitory edges but no inhibitory nodes") {
    p.n = 10;
    p.exc_fraction = 0.99;  // round(9.9) = 10 excitatory nodes, none inhibitory
    p.k_in = 100;           // k_exc = 99, k_inh = 1
  }
  SECTION("too many edges (checked before allocating)") {
    p.n = 100000;
    p.k_in = 100000;
  }
  CHECK_THROWS_AS(make_brunel(p), spikegraph::GraphError);
  CHECK_THROWS_WITH(make_brunel(p), Catch::StartsWith("make_brunel"));
}

TEST_CASE("make_network builds the [network] section", "[graph][brunel][config]") {
  const auto cfg = sgtest::config_from(R"(
[sim]
dt = 0.1
seed = 99
[network]
n = 300
k_in = 20
exc_fraction = 0.75
j = 0.3
g = 6.0
delay = 1.5
)");
  auto g = spikegraph::make_network(cfg);
  BrunelParams p;
  p.n = 300;
  p.k_in = 20;
  p.exc_fraction = 0.75;
  p.j = 0.3;
  p.g = 6.0;
  p.delay_steps = 15;  // 1.5 ms / 0.1 ms
  p.seed = 99;
  auto ref = make_brunel(p);
  CHECK(g->num_nodes() == 300);
  CHECK(g->num_edges() == 6000);
  CHECK(g->max_delay() == 15);
  CHECK(same_graph(*g, *ref));
  // A delay shorter than one step still gives a delay of 1 step.
  auto cfg2 = cfg;
  spikegraph::config::FlatTable ch;
  ch["network.delay"] = spikegraph::config::Value::real(0.01);
  cfg2.update(ch);
  CHECK(spikegraph::make_network(cfg2)->max_delay() == 1);
}
