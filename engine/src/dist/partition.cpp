#include "spikegraph/dist/partition.hpp"

#include <algorithm>

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"

namespace spikegraph::dist {

int NodePartition::owner(index_t node) const {
  // The last start <= node (empty ranges share a start; the owner is the rank whose range holds it).
  const auto it = std::upper_bound(starts.begin(), starts.end() - 1, node);
  return static_cast<int>(it - starts.begin()) - 1;
}

NodePartition partition_by_nodes(index_t num_nodes, int ranks) {
  if (ranks < 1) throw InputError("partition: ranks must be >= 1, got " + std::to_string(ranks));
  NodePartition p;
  p.starts.assign(static_cast<std::size_t>(ranks) + 1, 0);
  const index_t base = num_nodes / static_cast<index_t>(ranks);
  const index_t rem = num_nodes % static_cast<index_t>(ranks);
  for (int r = 0; r < ranks; ++r) {
    const auto ur = static_cast<index_t>(r);
    p.starts[static_cast<std::size_t>(r) + 1] = p.starts[static_cast<std::size_t>(r)] + base + (ur < rem ? 1 : 0);
  }
  return p;
}

NodePartition partition_by_in_edges(const std::vector<std::uint64_t>& in_degree, int ranks) {
  if (ranks < 1) throw InputError("partition: ranks must be >= 1, got " + std::to_string(ranks));
  const std::size_t n = in_degree.size();
  std::uint64_t total = 0;
  for (std::uint64_t d : in_degree) total += d + 1;
  NodePartition p;
  p.starts.assign(static_cast<std::size_t>(ranks) + 1, static_cast<index_t>(n));
  p.starts[0] = 0;
  // Rank r starts at the first node where the running work reaches r / ranks of the total.
  std::uint64_t work = 0;
  int r = 1;
  for (std::size_t i = 0; i < n && r < ranks; ++i) {
    while (r < ranks && work * static_cast<std::uint64_t>(ranks) >= total * static_cast<std::uint64_t>(r)) {
      p.starts[static_cast<std::size_t>(r++)] = static_cast<index_t>(i);
    }
    work += in_degree[i] + 1;
  }
  return p;
}

NodePartition make_partition(const Graph& graph, int ranks, const std::string& mode) {
  if (mode == "nodes") return partition_by_nodes(graph.num_nodes(), ranks);
  if (mode != "edges") throw InputError("partition: unknown mode '" + mode + "' (known: nodes, edges)");
  std::vector<std::uint64_t> in_degree(graph.num_nodes(), 0);
  for (index_t t : graph.edge_target()) ++in_degree[t];
  return partition_by_in_edges(in_degree, ranks);
}

std::uint64_t GraphPart::edge_id(index_t s, offset_t k) const {
  return row_base[s] + (k - graph->out_offsets()[s]);
}

GraphPart graph_part(const Graph& graph, index_t begin, index_t end, bool source_rows) {
  GraphPart part;
  part.graph = GraphBuilder::part(graph, begin, end, source_rows, part.row_base);
  return part;
}

}  // namespace spikegraph::dist
