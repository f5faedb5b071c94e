// Partitions, graph parts and the per-rank Brunel generator (no MPI needed), and what
// a build without MPI answers.
#include <catch2/catch.hpp>

#include <cstdint>
#include <numeric>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/dist/partition.hpp"
#include "spikegraph/graph/builder.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/graph/graph.hpp"

namespace sg = spikegraph;
namespace dist = spikegraph::dist;

TEST_CASE("partition by nodes: contiguous, equal within one, covering every node", "[dist]") {
  const dist::NodePartition p = dist::partition_by_nodes(10, 4);
  CHECK(p.starts == std::vector<sg::index_t>{0, 3, 6, 8, 10});
  CHECK(p.ranks() == 4);
  CHECK(p.owner(0) == 0);
  CHECK(p.owner(5) == 1);
  CHECK(p.owner(9) == 3);
  const dist::NodePartition more = dist::partition_by_nodes(2, 3);  // more ranks than nodes
  CHECK(more.starts.back() == 2);
  CHECK(more.ranks() == 3);
}

TEST_CASE("partition by in-edges balances incoming edges plus nodes", "[dist]") {
  // Node 0 has 90 of 100 edges in: it is a rank of its own.
  std::vector<std::uint64_t> in_degree(11, 1);
  in_degree[0] = 90;
  const dist::NodePartition p = dist::partition_by_in_edges(in_degree, 2);
  CHECK(p.starts.front() == 0);
  CHECK(p.starts[1] == 1);
  CHECK(p.starts.back() == 11);
  const auto g = sg::make_brunel(sg::BrunelParams{});
  CHECK(dist::make_partition(*g, 3, "edges").starts.back() == g->num_nodes());
  CHECK(dist::make_partition(*g, 3, "nodes").starts == dist::partition_by_nodes(g->num_nodes(), 3).starts);
  CHECK_THROWS_AS(dist::make_partition(*g, 3, "diagonal"), sg::InputError);
}

namespace {

// A part drawn per rank holds the edges of the part cut from the whole graph, and the
// whole graph's longest delay.
void check_same_part(const sg::Graph& drawn, const sg::Graph& cut, std::uint16_t max_delay) {
  CHECK(drawn.out_offsets() == cut.out_offsets());
  CHECK(drawn.edge_target() == cut.edge_target());
  CHECK(drawn.edge_weight() == cut.edge_weight());
  CHECK(drawn.edge_delay() == cut.edge_delay());
  CHECK(drawn.edge_kind() == cut.edge_kind());
  CHECK(drawn.edge_plastic() == cut.edge_plastic());
  CHECK(drawn.max_delay() == max_delay);
}

}  // namespace

TEST_CASE("graph parts: the edges into (and out of) a range, with their whole-graph ids", "[dist]") {
  sg::BrunelParams p;
  p.n = 500;
  p.k_in = 20;
  p.plastic_exc_exc = true;
  const auto whole = sg::make_brunel(p);
  for (const bool rows : {false, true}) {
    for (const int ranks : {1, 2, 3, 4}) {
      const dist::NodePartition part = dist::partition_by_nodes(whole->num_nodes(), ranks);
      std::vector<int> into(whole->num_edges(), 0);
      for (int r = 0; r < ranks; ++r) {
        INFO("ranks " << ranks << " rank " << r << " source rows " << rows);
        const dist::GraphPart cut = dist::graph_part(*whole, part.begin(r), part.end(r), rows);
        const sg::Graph& g = *cut.graph;
        CHECK(g.num_nodes() == whole->num_nodes());
        CHECK(g.max_delay() == whole->max_delay());
        // Every edge is the whole graph's edge with that id, and is kept for a reason.
        bool same = true;
        const auto& off = g.out_offsets();
        for (sg::index_t s = 0; s < g.num_nodes(); ++s) {
          for (sg::offset_t e = off[s]; e < off[s + 1]; ++e) {
            const std::uint64_t id = cut.edge_id(s, e);
            const sg::index_t t = g.edge_target()[e];
            same = same && whole->edge_target()[id] == t && whole->edge_weight()[id] == g.edge_weight()[e] &&
                   whole->edge_plastic()[id] == g.edge_plastic()[e] && id >= whole->out_offsets()[s] &&
                   id < whole->out_offsets()[s + 1];
            const bool target_here = t >= part.begin(r) && t < part.end(r);
            same = same && (target_here || (rows && s >= part.begin(r) && s < part.end(r)));
            if (target_here) ++into[id];
          }
        }
        CHECK(same);
        // The per-rank generator draws the same part without the whole graph.
        std::vector<std::uint64_t> ids;
        const auto drawn = sg::make_brunel_part(p, part.begin(r), part.end(r), rows, ids);
        // Row bases agree wherever the part's row has edges (elsewhere they are unused).
        bool bases = true;
        for (sg::index_t s = 0; s < g.num_nodes(); ++s) {
          if (off[s + 1] > off[s]) bases = bases && ids[s] == cut.row_base[s];
        }
        CHECK(bases);
        check_same_part(*drawn, g, g.max_delay());
      }
      // Each edge goes into exactly one rank's nodes.
      CHECK(std::all_of(into.begin(), into.end(), [](int c) { return c == 1; }));
    }
  }
  CHECK(sg::brunel_edges(p) == whole->num_edges());
  std::vector<std::uint64_t> ids;
  CHECK_THROWS_AS(sg::make_brunel_part(p, 400, 600, false, ids), sg::GraphError);
}

TEST_CASE("a NetworkBuilder draws one rank's part as cut from its whole graph", "[dist]") {
  sg::NetworkBuilder b(5, 0.1);
  b.add_population("E", sg::NodeType::dynamic, 120);
  b.add_population("I", sg::NodeType::dynamic, 40);
  b.add_population("X", sg::NodeType::relay, 30);
  using Rule = sg::ConnectionRule;
  const sg::Distribution w{sg::Distribution::Kind::uniform, 0.1, 1.0};
  const sg::Distribution d{sg::Distribution::Kind::uniform, 0.1, 2.5};  // 1..25 steps
  Rule total;
  total.kind = Rule::Kind::fixed_total_number;
  total.n = 900;
  total.autapses = false;
  Rule unique = total;
  unique.multapses = false;
  unique.n = 300;
  Rule in;
  in.kind = Rule::Kind::fixed_indegree;
  in.n = 7;
  Rule bern;
  bern.kind = Rule::Kind::pairwise_bernoulli;
  bern.p = 0.1;
  b.connect("E", "E", total, w, d, sg::EdgeKind::excitatory, true);
  b.connect("E", "I", in, w, d, sg::EdgeKind::excitatory);
  b.connect("I", "E", unique, w, d, sg::EdgeKind::inhibitory);
  b.connect("X", "I", bern, w, d, sg::EdgeKind::excitatory);
  b.connect("I", "X", total, w, d, sg::EdgeKind::inhibitory);
  const auto whole = b.build(2);
  CHECK(b.num_nodes() == 190);
  std::vector<std::uint64_t> degree(whole->num_nodes(), 0);
  for (sg::index_t t : whole->edge_target()) ++degree[t];
  CHECK(b.in_degrees(2) == degree);
  for (const bool rows : {false, true}) {
    for (const int ranks : {1, 2, 3, 4}) {
      const dist::NodePartition part = dist::partition_by_in_edges(degree, ranks);
      for (int r = 0; r < ranks; ++r) {
        INFO("ranks " << ranks << " rank " << r << " source rows " << rows);
        const dist::GraphPart cut = dist::graph_part(*whole, part.begin(r), part.end(r), rows);
        std::vector<std::uint64_t> row_base;
        std::uint64_t edges = 0;
        const auto drawn = b.build_part(part.begin(r), part.end(r), rows, row_base, edges, 1 + r % 2);
        const sg::Graph& g = *cut.graph;
        CHECK(edges == whole->num_edges());
        CHECK(drawn->node_type() == g.node_type());
        check_same_part(*drawn, g, whole->max_delay());
        bool bases = true;
        for (sg::index_t s = 0; s < g.num_nodes(); ++s) {
          if (g.out_offsets()[s + 1] > g.out_offsets()[s]) bases = bases && row_base[s] == cut.row_base[s];
        }
        CHECK(bases);
      }
    }
  }
  std::vector<std::uint64_t> row_base;
  std::uint64_t edges = 0;
  CHECK_THROWS_AS(b.build_part(100, 200, false, row_base, edges), sg::GraphError);
}

TEST_CASE("the local communicator: one rank, collectives are copies, errors rethrown", "[dist]") {
  const auto c = dist::local_communicator();
  CHECK(c->rank() == 0);
  CHECK(c->size() == 1);
  CHECK(c->kind() == "local");
  std::vector<sg::index_t> all;
  c->allgather({3, 5}, all);
  CHECK(all == std::vector<sg::index_t>{3, 5});
  std::vector<unsigned char> bytes;
  std::vector<std::uint64_t> offsets;
  c->allgather_bytes({1, 2, 3}, bytes, offsets);
  CHECK(offsets == std::vector<std::uint64_t>{0, 3});
  c->gather_bytes({4, 5}, bytes, offsets);
  CHECK(bytes == std::vector<unsigned char>{4, 5});
  CHECK(offsets == std::vector<std::uint64_t>{0, 2});
  std::vector<double> sum{1.5};
  c->sum_in_rank_order(sum);
  CHECK(sum[0] == 1.5);
  std::vector<std::uint64_t> counts{7, 0, 9}, before{1};
  c->sum_counts(counts, &before);
  CHECK(counts == std::vector<std::uint64_t>{7, 0, 9});
  CHECK(before == std::vector<std::uint64_t>{0, 0, 0});
  c->agree(nullptr);
  CHECK_THROWS_AS(c->agree(std::make_exception_ptr(sg::InputError("x"))), sg::InputError);
  CHECK_THROWS_AS(c->allgather({1}, all, false, std::make_exception_ptr(sg::IoError("y"))), sg::IoError);
  c->abort(1);  // returns: the caller ends the one process
}

TEST_CASE("a build without MPI says so when asked for MPI", "[dist]") {
  if (dist::mpi_compiled()) {
    CHECK_FALSE(dist::mpi_library_version().empty());
    return;
  }
  CHECK(dist::mpi_library_version().empty());
  CHECK_THROWS_WITH(dist::mpi_world(), Catch::Contains("built without MPI"));
  CHECK_THROWS_WITH(dist::mpi_communicator_from_fortran(0), Catch::Contains("built without MPI"));
}
