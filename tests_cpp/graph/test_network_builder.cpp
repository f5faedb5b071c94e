// NetworkBuilder: populations, connection rules, distributions, determinism, errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/builder.hpp"
#include "spikegraph/sim/simulation.hpp"

using spikegraph::ConnectionRule;
using spikegraph::Distribution;
using spikegraph::EdgeKind;
using spikegraph::NetworkBuilder;
using spikegraph::NodeType;
using Rule = ConnectionRule::Kind;

namespace {

ConnectionRule rule(Rule k, std::int64_t n = 0, double p = 0.0, bool autapses = true, bool multapses = true) {
  ConnectionRule r;
  r.kind = k;
  r.n = n;
  r.p = p;
  r.autapses = autapses;
  r.multapses = multapses;
  return r;
}

const Distribution kOne = Distribution::constant_value(1.0);

std::vector<std::pair<spikegraph::index_t, spikegraph::index_t>> pairs(const spikegraph::Graph& g) {
  std::vector<std::pair<spikegraph::index_t, spikegraph::index_t>> out;
  const auto src = g.edge_sources();
  for (std::size_t e = 0; e < g.num_edges(); ++e) out.emplace_back(src[e], g.edge_target()[e]);
  return out;
}

}  // namespace

TEST_CASE("network builder: each rule connects what it says", "[graph][builder]") {
  NetworkBuilder b(7, 0.1);
  const auto& a = b.add_population("A", NodeType::dynamic, 30);
  CHECK(a.first == 0);
  CHECK(b.add_population("B", NodeType::relay, 20).first == 30);
  SECTION("all_to_all without autapses") {
    b.connect("A", "A", rule(Rule::all_to_all, 0, 0, false), kOne, kOne);
    const auto g = b.build();
    CHECK(g->num_edges() == 30 * 29);
    for (const auto& [s, t] : pairs(*g)) CHECK(s != t);
  }
  SECTION("one_to_one") {
    NetworkBuilder c(1, 1.0);
    c.add_population("X", NodeType::dynamic, 10);
    c.add_population("Y", NodeType::dynamic, 10);
    c.connect("X", "Y", rule(Rule::one_to_one), kOne, kOne);
    const auto g = c.build();
    REQUIRE(g->num_edges() == 10);
    for (const auto& [s, t] : pairs(*g)) CHECK(t == s + 10);
  }
  SECTION("fixed in-degree and out-degree, with and without multapses") {
    const bool multapses = GENERATE(true, false);
    b.connect("A", "B", rule(Rule::fixed_indegree, 25, 0, true, multapses), kOne, kOne);
    b.connect("B", "A", rule(Rule::fixed_outdegree, 12, 0, true, multapses), kOne, kOne);
    const auto g = b.build();
    std::map<spikegraph::index_t, int> in_b, out_b;
    std::set<std::pair<spikegraph::index_t, spikegraph::index_t>> distinct;
    for (const auto& [s, t] : pairs(*g)) {
      if (t >= 30) ++in_b[t];
      if (s >= 30) ++out_b[s];
      distinct.insert({s, t});
    }
    CHECK(in_b.size() == 20);
    CHECK(out_b.size() == 20);
    for (const auto& [node, k] : in_b) CHECK(k == 25);
    for (const auto& [node, k] : out_b) CHECK(k == 12);
    if (!multapses) CHECK(distinct.size() == g->num_edges());
  }
  SECTION("fixed total number without multapses or autapses") {
    b.connect("A", "A", rule(Rule::fixed_total_number, 800, 0, false, false), kOne, kOne);
    const auto g = b.build();
    const auto p = pairs(*g);
    CHECK(p.size() == 800);
    CHECK(std::set<std::pair<spikegraph::index_t, spikegraph::index_t>>(p.begin(), p.end()).size() == 800);
    for (const auto& [s, t] : p) CHECK(s != t);
  }
  SECTION("pairwise Bernoulli: the count is binomial") {
    NetworkBuilder c(3, 0.1);
    c.add_population("X", NodeType::dynamic, 200);
    c.connect("X", "X", rule(Rule::pairwise_bernoulli, 0, 0.1), kOne, kOne);
    const double n = c.build()->num_edges(), mean = 40000 * 0.1, sd = std::sqrt(40000 * 0.1 * 0.9);
    CHECK(std::abs(n - mean) < 5 * sd);
  }
}

TEST_CASE("network builder: distributions, delays, kinds and the seed", "[graph][builder]") {
  auto make = [](std::uint64_t seed) {
    NetworkBuilder b(seed, 0.1);
    b.add_population("E", NodeType::dynamic, 400);
    Distribution w{Distribution::Kind::normal, 0.5, 0.2, 0.3, 0.7};
    Distribution d{Distribution::Kind::uniform, 0.1, 2.0};
    b.connect("E", "E", rule(Rule::fixed_indegree, 50), w, d, EdgeKind::inhibitory, true);
    Distribution redrawn{Distribution::Kind::normal_redrawn, 0.5, 0.2, 0.45, 0.55};
    Distribution logn{Distribution::Kind::lognormal, 0.0, 0.5};
    b.connect("E", "E", rule(Rule::fixed_total_number, 5000), redrawn, logn);
    return b.build();
  };
  const auto g = make(1);
  const auto& w = g->edge_weight();
  int clipped_low = 0, in_band = 0;
  for (std::size_t e = 0; e < g->num_edges(); ++e) {
    if (g->edge_kind()[e] == static_cast<std::uint8_t>(EdgeKind::inhibitory)) {
      CHECK(w[e] >= 0.3f);
      CHECK(w[e] <= 0.7f);
      clipped_low += w[e] == 0.3f;
      CHECK(g->edge_delay()[e] >= 1);
      CHECK(g->edge_delay()[e] <= 20);
      CHECK(g->edge_plastic()[e] == 1);
    } else {
      in_band += w[e] >= 0.45f && w[e] <= 0.55f;
    }
  }
  CHECK(clipped_low > 0);        // clipping puts mass on the bound
  CHECK(in_band == 5000);        // redrawing never leaves the band
  const auto again = make(1);
  CHECK(again->edge_target() == g->edge_target());
  CHECK(again->edge_weight() == g->edge_weight());
  CHECK(again->edge_delay() == g->edge_delay());
  CHECK(make(2)->edge_target() != g->edge_target());
}

TEST_CASE("network builder: bad descriptions are refused by name and add nothing", "[graph][builder]") {
  NetworkBuilder b(1, 0.1);
  b.add_population("A", NodeType::dynamic, 5);
  CHECK_THROWS_WITH(b.add_population("A", NodeType::dynamic, 3), Catch::Contains("exists"));
  CHECK_THROWS_WITH(b.add_population("Z", NodeType::dynamic, 0), Catch::Contains("size must be >= 1"));
  CHECK_THROWS_WITH(b.add_population("", NodeType::dynamic, 3), Catch::Contains("needs a name"));
  CHECK_THROWS_WITH(b.connect("A", "Q", rule(Rule::all_to_all), kOne, kOne), Catch::Contains("no population named 'Q'"));
  CHECK_THROWS_WITH(b.connect("A", "A", rule(Rule::fixed_indegree, 5, 0, false, false), kOne, kOne),
                    Catch::Contains("only 4 candidates"));
  CHECK_THROWS_WITH(b.connect("A", "A", rule(Rule::fixed_total_number, 21, 0, false, false), kOne, kOne),
                    Catch::Contains("only 20 pairs"));
  CHECK_THROWS_WITH(b.connect("A", "A", rule(Rule::pairwise_bernoulli, 0, 1.5), kOne, kOne), Catch::Contains("p must"));
  CHECK_THROWS_WITH(b.connect("A", "A", rule(Rule::one_to_one, 0, 0, false), kOne, kOne), Catch::Contains("autapse"));
  Distribution negative{Distribution::Kind::normal, 0.1, 0.05};
  CHECK_THROWS_WITH(b.connect("A", "A", rule(Rule::all_to_all), negative, kOne), Catch::Contains("lower bound >= 0"));
  Distribution nan{Distribution::Kind::uniform, std::nan(""), 1.0};
  CHECK_THROWS_WITH(b.connect("A", "A", rule(Rule::all_to_all), kOne, nan), Catch::Contains("finite"));
  CHECK(b.num_projections() == 0);
  Distribution impossible{Distribution::Kind::normal_redrawn, 0.0, 1e-9, 5.0, 6.0};
  b.connect("A", "A", rule(Rule::all_to_all), impossible, kOne);
  CHECK_THROWS_WITH(b.build(), Catch::Contains("no value in"));
  NetworkBuilder c(1, 0.001);
  c.add_population("A", NodeType::dynamic, 2);
  c.connect("A", "A", rule(Rule::all_to_all), kOne, Distribution::constant_value(100.0));
  CHECK_THROWS_WITH(c.build(), Catch::Contains("65535"));
  CHECK_THROWS_AS(NetworkBuilder(1, 0.0), spikegraph::GraphError);
  CHECK_THROWS_WITH(c.population("nope"), Catch::Contains("no population named"));
}

TEST_CASE("network builder: the same graph on any thread count", "[graph][builder]") {
  // Projections long enough to be drawn in parallel parts (64 Ki draws each at least).
  NetworkBuilder b(7, 0.1);
  b.add_population("E", NodeType::dynamic, 3000);
  b.add_population("I", NodeType::dynamic, 700);
  Distribution w{Distribution::Kind::normal, 0.5, 0.2, 0.0, 1.0};
  Distribution d{Distribution::Kind::normal_redrawn, 1.5, 0.75, 0.1, 5.0};
  b.connect("E", "E", rule(Rule::fixed_indegree, 60, 0.0, false), w, d);
  b.connect("E", "I", rule(Rule::fixed_outdegree, 50, 0.0, true, false), w, d);
  b.connect("I", "E", rule(Rule::fixed_total_number, 200000), w, d, EdgeKind::inhibitory);
  b.connect("I", "I", rule(Rule::fixed_total_number, 20000, 0.0, false, false), w, d);
  b.connect("E", "I", rule(Rule::pairwise_bernoulli, 0, 0.05), w, kOne);
  const auto one = b.build(1);
  REQUIRE(one->num_edges() > 600000);
  for (int threads : {2, 3}) {
    const auto g = b.build(threads);
    CHECK(pairs(*g) == pairs(*one));
    CHECK(g->edge_weight() == one->edge_weight());
    CHECK(g->edge_delay() == one->edge_delay());
    CHECK(g->edge_kind() == one->edge_kind());
  }
  // A failure inside a parallel part reaches the caller.
  NetworkBuilder bad(1, 0.1);
  bad.add_population("E", NodeType::dynamic, 1000);
  bad.connect("E", "E", rule(Rule::fixed_total_number, 200000), kOne, Distribution::constant_value(1e4));
  CHECK_THROWS_AS(bad.build(2), spikegraph::GraphError);
}

TEST_CASE("network builder: initial values per population, drawn or given, applied by the simulation",
          "[graph][builder]") {
  NetworkBuilder b(7, 0.1);
  b.add_population("E", NodeType::dynamic, 3000);
  b.add_population("I", NodeType::dynamic, 5);
  b.add_population("X", NodeType::dynamic, 4);
  Distribution v;
  v.kind = Distribution::Kind::normal;
  v.a = -58.0;
  v.b = 10.0;
  b.set_initial("E", "v", v);
  b.set_initial("E", "poisson_rate", Distribution::constant_value(12800.0));
  b.set_initial("I", "drive", std::vector<double>{1, 2, 3, 4, 5});
  b.set_initial("I", "drive", std::vector<double>{5, 4, 3, 2, 1});  // replaces the first
  const auto init = b.initial_state();
  REQUIRE(init.size() == 3);
  const auto& v0 = init.at("v");
  REQUIRE(v0.size() == 3009);
  double mean = 0.0, sq = 0.0;
  for (std::size_t i = 0; i < 3000; ++i) {
    mean += v0[i] / 3000.0;
    sq += v0[i] * v0[i] / 3000.0;
  }
  CHECK(mean == Approx(-58.0).margin(0.6));
  CHECK(std::sqrt(sq - mean * mean) == Approx(10.0).margin(0.5));
  CHECK(std::isnan(v0[3000]));  // populations that did not set it
  CHECK(init.at("drive")[3000] == 5.0);
  CHECK(init.at("drive")[3004] == 1.0);
  CHECK(init.at("poisson_rate")[2999] == 12800.0);
  const auto again = b.initial_state().at("v");  // a function of the seed
  CHECK(std::equal(v0.begin(), v0.begin() + 3000, again.begin()));
  NetworkBuilder other(8, 0.1);
  other.add_population("E", NodeType::dynamic, 3000);
  other.set_initial("E", "v", v);
  CHECK(other.initial_state().at("v")[0] != v0[0]);
  // Refused by name, nothing changed.
  CHECK_THROWS_WITH(b.set_initial("Y", "v", v), Catch::Contains("no population named 'Y'"));
  CHECK_THROWS_WITH(b.set_initial("E", "voltage", v), Catch::Contains("unknown variable 'voltage'"));
  CHECK_THROWS_WITH(b.set_initial("E", "alive", v), Catch::Contains("every node starts alive"));
  CHECK_THROWS_WITH(b.set_initial("I", "v", std::vector<double>{1, 2}), Catch::Contains("2 values for 5 nodes"));
  CHECK_THROWS_WITH(b.set_initial("I", "v", std::vector<double>{1, 2, NAN, 4, 5}), Catch::Contains("not finite"));
  Distribution bad = v;
  bad.b = -1.0;
  CHECK_THROWS_WITH(b.set_initial("E", "v", bad), Catch::Contains("standard deviation"));
  CHECK(b.initial_state().size() == 3);
  // A simulation starts from them; nodes without a value keep the configuration's.
  spikegraph::Simulation sim(b.build(1), spikegraph::config::Config());
  sim.set_initial_state(init);
  CHECK(sim.state("v").size == 3009);
  CHECK(spikegraph::read_element(sim.state("v"), 17) == Approx(v0[17]));
  CHECK(spikegraph::read_element(sim.state("drive"), 3001) == 4.0);
  CHECK(spikegraph::read_element(sim.state("drive"), 0) == 0.0);
  CHECK(spikegraph::read_element(sim.state("poisson_rate"), 3008) == 0.0);
  auto negative = init;
  negative["poisson_rate"][0] = -1.0;
  CHECK_THROWS_WITH(sim.set_initial_state(negative), Catch::Contains("is negative"));
  CHECK(spikegraph::read_element(sim.state("poisson_rate"), 0) == 12800.0);
}

TEST_CASE("network builder: explicit pairs (from_list)", "[graph][builder]") {
  NetworkBuilder b(1, 1.0);
  b.add_population("A", NodeType::dynamic, 3);
  b.add_population("B", NodeType::relay, 2);
  ConnectionRule r;
  r.kind = Rule::from_list;
  r.pre = {2, 0, 2};
  r.post = {1, 1, 1};
  b.connect("A", "B", r, kOne, kOne);
  const auto g = b.build(1);
  REQUIRE(g->num_edges() == 3);
  CHECK(g->edge_sources() == std::vector<spikegraph::index_t>{0, 2, 2});
  CHECK(g->edge_target()[0] == 4);
  ConnectionRule bad = r;
  bad.post = {1, 1};
  CHECK_THROWS_WITH(b.connect("A", "B", bad, kOne, kOne), Catch::Contains("3 pre indices but 2 post"));
  bad.post = {1, 1, 2};
  CHECK_THROWS_WITH(b.connect("A", "B", bad, kOne, kOne), Catch::Contains("outside the populations"));
  ConnectionRule self;
  self.kind = Rule::from_list;
  self.autapses = false;
  self.pre = {1};
  self.post = {1};
  CHECK_THROWS_WITH(b.connect("A", "A", self, kOne, kOne), Catch::Contains("is an autapse"));
  CHECK(b.num_projections() == 1);
}
