// graph/graph.hpp: GraphBuilder::from_arrays validation, CSR layout, by-target
// index, stats and memory accounting.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "support/test_util.hpp"

using spikegraph::EdgeArrays;
using spikegraph::GraphBuilder;
using spikegraph::GraphError;

namespace {

// Mutable input arrays with a valid default: 4 nodes, 3 edges.
struct Input {
  std::size_t n = 4;
  std::vector<std::int64_t> types{1, 1, 1, 1};
  std::vector<std::int64_t> src{0, 1, 2};
  std::vector<std::int64_t> tgt{1, 2, 3};
  std::vector<double> w{0.5, 1.0, 2.0};
  std::vector<std::int64_t> delay{1, 2, 3};
  std::vector<std::int64_t> kind{0, 1, 2};
  std::vector<std::uint8_t> plastic{0, 1, 0};
  std::shared_ptr<const spikegraph::Graph> build() const {
    EdgeArrays a;
    a.num_edges = src.size();
    a.sources = src.data();
    a.targets = tgt.data();
    a.weights = w.data();
    a.delays = delay.data();
    a.kinds = kind.data();
    a.plastic = plastic.data();
    return GraphBuilder::from_arrays(n, types.data(), a);
  }
};

// Expects build() to throw GraphError whose message contains every string in `parts`.
void expect_error(const Input& in, const std::vector<std::string>& parts) {
  try {
    in.build();
    FAIL("no GraphError thrown; expected a message with '" << parts.front() << "'");
  } catch (const GraphError& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK(msg.rfind("build graph", 0) == 0);  // messages start with the operation
    for (const auto& p : parts) CHECK_THAT(msg, Catch::Contains(p));
  }
}

}  // namespace

TEST_CASE("from_arrays accepts valid input", "[graph]") {
  Input in;
  auto g = in.build();
  REQUIRE(g);
  CHECK(g->num_nodes() == 4);
  CHECK(g->num_edges() == 3);
  CHECK(g->max_delay() == 3);
  CHECK(g->edge_plastic() == std::vector<std::uint8_t>{0, 1, 0});
  CHECK_NOTHROW(g->validate());
}

TEST_CASE("from_arrays rejects every invalid input with a GraphError naming array and index", "[graph]") {
  Input in;
  SECTION("no nodes") {
    in.n = 0;
    in.src.clear();
    in.tgt.clear();
    in.w.clear();
    in.delay.clear();
    in.kind.clear();
    in.plastic.clear();
    expect_error(in, {"at least one node"});
  }
  SECTION("source out of range") {
    in.src[1] = 4;
    expect_error(in, {"sources[1]", "= 4", "[0, 4)"});
  }
  SECTION("negative source") {
    in.src[0] = -1;
    expect_error(in, {"sources[0]", "-1"});
  }
  SECTION("target out of range") {
    in.tgt[2] = 70;
    expect_error(in, {"targets[2]", "70", "[0, 4)"});
  }
  SECTION("negative target") {
    in.tgt[2] = -3;
    expect_error(in, {"targets[2]", "-3"});
  }
  SECTION("huge target that would wrap in 32 bits") {
    in.tgt[1] = (std::int64_t{1} << 32) + 1;
    expect_error(in, {"targets[1]"});
  }
  SECTION("NaN weight") {
    in.w[1] = std::nan("");
    expect_error(in, {"weights[1]", "not finite"});
  }
  SECTION("+inf weight") {
    in.w[2] = std::numeric_limits<double>::infinity();
    expect_error(in, {"weights[2]", "not finite"});
  }
  SECTION("-inf weight") {
    in.w[0] = -std::numeric_limits<double>::infinity();
    expect_error(in, {"weights[0]"});
  }
  SECTION("negative weight") {
    in.w[2] = -0.5;
    expect_error(in, {"weights[2]", "negative"});
  }
  SECTION("weight too large for float32") {
    in.w[1] = 1e300;
    expect_error(in, {"weights[1]"});
  }
  SECTION("delay 0") {
    in.delay[1] = 0;
    expect_error(in, {"delays[1]", "[1, 65535]"});
  }
  SECTION("delay 65536") {
    in.delay[2] = 65536;
    expect_error(in, {"delays[2]", "65536"});
  }
  SECTION("negative delay") {
    in.delay[0] = -5;
    expect_error(in, {"delays[0]"});
  }
  SECTION("bad kind 4") {
    in.kind[2] = 4;
    expect_error(in, {"kinds[2]", "4"});
  }
  SECTION("bad kind -1") {
    in.kind[0] = -1;
    expect_error(in, {"kinds[0]"});
  }
  SECTION("bad plastic flag") {
    in.plastic[1] = 2;
    expect_error(in, {"plastic[1]"});
  }
  SECTION("bad node type 7") {
    in.types[3] = 7;
    expect_error(in, {"node_types[3]", "7"});
  }
  SECTION("negative node type") {
    in.types[0] = -1;
    expect_error(in, {"node_types[0]"});
  }
  SECTION("the first error in array order is the one reported") {
    in.w[2] = -1.0;
    in.tgt[1] = 9;
    expect_error(in, {"targets[1]"});
  }
}

TEST_CASE("from_arrays: required arrays and optional defaults", "[graph]") {
  std::vector<std::int64_t> s{0}, t{1};
  std::vector<double> w{0.25};
  EdgeArrays a;
  a.num_edges = 1;
  a.sources = s.data();
  a.targets = t.data();
  SECTION("missing weights") { CHECK_THROWS_AS(GraphBuilder::from_arrays(2, nullptr, a), GraphError); }
  SECTION("optional arrays default to delay 1, excitatory, not plastic, dynamic nodes") {
    a.weights = w.data();
    auto g = GraphBuilder::from_arrays(2, nullptr, a);
    CHECK(g->edge_delay() == std::vector<std::uint16_t>{1});
    CHECK(g->edge_kind() == std::vector<std::uint8_t>{0});
    CHECK(g->edge_plastic().empty());
    CHECK(g->node_type() == std::vector<std::uint8_t>{1, 1});
    CHECK(g->edge_weight() == std::vector<float>{0.25f});
  }
  SECTION("a graph without edges") {
    EdgeArrays none;
    auto g = GraphBuilder::from_arrays(3, nullptr, none);
    CHECK(g->num_edges() == 0);
    CHECK(g->max_delay() == 0);
    CHECK(g->out_offsets() == std::vector<spikegraph::offset_t>{0, 0, 0, 0});
    CHECK_NOTHROW(g->validate());
    CHECK(g->by_target().in_offsets == std::vector<spikegraph::offset_t>{0, 0, 0, 0});
  }
}

TEST_CASE("from_arrays: size limits are checked before anything is read or allocated", "[graph]") {
  EdgeArrays none;
  CHECK_THROWS_WITH(GraphBuilder::from_arrays(std::size_t{1} << 32, nullptr, none),
                    Catch::Contains("too many nodes"));
  std::int64_t dummy_i = 0;
  double dummy_w = 0.0;
  EdgeArrays huge;
  huge.num_edges = std::size_t{1} << 32;  // the pointers are never dereferenced
  huge.sources = &dummy_i;
  huge.targets = &dummy_i;
  huge.weights = &dummy_w;
  CHECK_THROWS_WITH(GraphBuilder::from_arrays(2, nullptr, huge), Catch::Contains("too many edges"));
}

TEST_CASE("from_arrays sorts rows by (source, target), stable for multapses", "[graph]") {
  // 5 nodes; edges given out of order, with multapses 3->1 (weights 0.1, 0.2, 0.3 in
  // input order) and 0->4 (weights 1.5, 1.25).
  std::vector<std::int64_t> s{3, 0, 3, 2, 0, 3, 0, 4};
  std::vector<std::int64_t> t{1, 4, 1, 0, 2, 1, 4, 4};
  std::vector<double> w{0.1, 1.5, 0.2, 0.7, 0.9, 0.3, 1.25, 2.0};
  std::vector<std::int64_t> d{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<std::int64_t> k{0, 1, 2, 3, 0, 1, 2, 3};
  std::vector<std::uint8_t> pl{0, 0, 0, 0, 0, 0, 0, 0};
  EdgeArrays a;
  a.num_edges = s.size();
  a.sources = s.data();
  a.targets = t.data();
  a.weights = w.data();
  a.delays = d.data();
  a.kinds = k.data();
  a.plastic = pl.data();
  auto g = GraphBuilder::from_arrays(5, nullptr, a);
  CHECK(g->out_offsets() == std::vector<spikegraph::offset_t>{0, 3, 3, 4, 7, 8});
  CHECK(g->edge_target() == std::vector<spikegraph::index_t>{2, 4, 4, 0, 1, 1, 1, 4});
  CHECK(g->edge_weight() == std::vector<float>{0.9f, 1.5f, 1.25f, 0.7f, 0.1f, 0.2f, 0.3f, 2.0f});
  CHECK(g->edge_delay() == std::vector<std::uint16_t>{5, 2, 7, 4, 1, 3, 6, 8});
  CHECK(g->edge_kind() == std::vector<std::uint8_t>{0, 1, 2, 3, 0, 2, 1, 3});
  CHECK(g->edge_sources() == std::vector<spikegraph::index_t>{0, 0, 0, 2, 3, 3, 3, 4});
  CHECK(g->max_delay() == 8);
  CHECK(g->edge_plastic().empty());  // all-zero plastic flags: no array
  CHECK_NOTHROW(g->validate());

  SECTION("plastic flags follow their edges") {
    pl = {0, 0, 1, 0, 0, 0, 1, 0};
    auto gp = GraphBuilder::from_arrays(5, nullptr, a);
    CHECK(gp->edge_plastic() == std::vector<std::uint8_t>{0, 0, 1, 0, 0, 1, 0, 0});
  }
}

TEST_CASE("by_target index on a hand-made graph", "[graph]") {
  using sgtest::E;
  // 0->2, 0->1, 1->2, 2->0, 3->2 (twice), 1->1 (autapse)
  auto g = sgtest::small_graph(4, {E{0, 2, 1.0}, E{0, 1, 2.0}, E{1, 2, 3.0}, E{2, 0, 4.0}, E{3, 2, 5.0},
                                   E{3, 2, 6.0}, E{1, 1, 7.0}});
  // by source: 0:[1(2.0), 2(1.0)] 1:[1(7.0), 2(3.0)] 2:[0(4.0)] 3:[2(5.0), 2(6.0)]
  CHECK(g->edge_target() == std::vector<spikegraph::index_t>{1, 2, 1, 2, 0, 2, 2});
  CHECK_FALSE(g->has_target_index());
  const std::size_t before = g->memory_bytes();
  const auto& t = g->by_target();
  CHECK(g->has_target_index());
  CHECK(&t == &g->by_target());  // built once
  CHECK(t.in_offsets == std::vector<spikegraph::offset_t>{0, 1, 3, 7, 7});
  CHECK(t.in_sources == std::vector<spikegraph::index_t>{2, 0, 1, 0, 1, 3, 3});
  CHECK(t.in_edges == std::vector<spikegraph::index_t>{4, 0, 2, 1, 3, 5, 6});
  for (std::size_t i = 0; i < t.in_edges.size(); ++i) {
    const auto e = t.in_edges[i];
    CHECK(g->edge_sources()[e] == t.in_sources[i]);
  }
  CHECK(g->edge_weight()[t.in_edges[5]] == 5.0f);  // multapse order kept
  CHECK(g->edge_weight()[t.in_edges[6]] == 6.0f);
  CHECK_NOTHROW(g->validate());
  // memory accounting includes the index once it exists: (n+1) offsets + 2 m ids at least
  CHECK(g->memory_bytes() >= before + 5 * sizeof(spikegraph::offset_t) + 2 * 7 * sizeof(spikegraph::index_t));
  // A copy does not share (or copy) the lazily built index but can build its own.
  spikegraph::Graph copy(*g);
  CHECK_FALSE(copy.has_target_index());
  CHECK(copy.by_target().in_edges == t.in_edges);
}

TEST_CASE("Graph::stats", "[graph]") {
  using sgtest::E;
  auto g = sgtest::small_graph(5,
                               {E{0, 1, 1.0, 1, 0}, E{0, 2, 2.0, 4, 1}, E{0, 3, 3.0, 2, 1}, E{1, 3, 4.0, 1, 2},
                                E{2, 3, 5.0, 1, 3}},
                               {0, 1, 1, 4, 2});
  const auto st = g->stats();
  CHECK(st.num_nodes == 5);
  CHECK(st.num_edges == 5);
  CHECK(st.edges_by_kind[0] == 1);
  CHECK(st.edges_by_kind[1] == 2);
  CHECK(st.edges_by_kind[2] == 1);
  CHECK(st.edges_by_kind[3] == 1);
  CHECK(st.nodes_by_type[0] == 1);
  CHECK(st.nodes_by_type[1] == 2);
  CHECK(st.nodes_by_type[2] == 1);
  CHECK(st.nodes_by_type[4] == 1);
  CHECK(st.nodes_by_type[3] == 0);
  CHECK(st.max_delay == 4);
  CHECK(st.max_out_degree == 3);
  CHECK(st.max_in_degree == 3);
  CHECK(st.mean_weight == Approx(3.0));
}

TEST_CASE("node and edge names round-trip", "[graph][types]") {
  for (int i = 0; i < spikegraph::kNodeTypeCount; ++i) {
    spikegraph::NodeType t;
    REQUIRE(spikegraph::parse_node_type(spikegraph::node_type_name(static_cast<spikegraph::NodeType>(i)), t));
    CHECK(static_cast<int>(t) == i);
  }
  for (int i = 0; i < spikegraph::kEdgeKindCount; ++i) {
    spikegraph::EdgeKind k;
    REQUIRE(spikegraph::parse_edge_kind(spikegraph::edge_kind_name(static_cast<spikegraph::EdgeKind>(i)), k));
    CHECK(static_cast<int>(k) == i);
  }
  spikegraph::NodeType t;
  CHECK_FALSE(spikegraph::parse_node_type("neuron", t));
  CHECK(std::string(spikegraph::node_type_name(spikegraph::NodeType::relay)) == "relay");
  CHECK(std::string(spikegraph::edge_kind_name(spikegraph::EdgeKind::gated)) == "gated");
}
