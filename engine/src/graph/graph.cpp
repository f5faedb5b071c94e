#include "spikegraph/graph/graph.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>

#include "spikegraph/core/error.hpp"

namespace spikegraph {

namespace {

template <class T>
std::size_t bytes_of(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

[[noreturn]] void fail(const std::string& op, const std::string& what) {
  throw GraphError(op + ": " + what);
}

}  // namespace

Graph::Graph(const Graph& other)
    : node_type_(other.node_type_),
      out_offsets_(other.out_offsets_),
      edge_target_(other.edge_target_),
      edge_weight_(other.edge_weight_),
      edge_delay_(other.edge_delay_),
      edge_kind_(other.edge_kind_),
      edge_plastic_(other.edge_plastic_),
      max_delay_(other.max_delay_) {}

std::vector<index_t> Graph::edge_sources() const {
  std::vector<index_t> src(num_edges());
  for (index_t s = 0; s < num_nodes(); ++s) {
    for (offset_t e = out_offsets_[s]; e < out_offsets_[s + 1]; ++e) src[e] = s;
  }
  return src;
}

bool Graph::has_target_index() const {
  std::lock_guard<std::mutex> lock(target_index_mutex_);
  return target_index_ != nullptr;
}

const TargetIndex& Graph::by_target() const {
  std::lock_guard<std::mutex> lock(target_index_mutex_);
  if (target_index_) return *target_index_;
  auto idx = std::make_unique<TargetIndex>();
  const index_t n = num_nodes();
  const std::size_t m = num_edges();
  idx->in_offsets.assign(static_cast<std::size_t>(n) + 1, 0);
  for (std::size_t e = 0; e < m; ++e) ++idx->in_offsets[edge_target_[e] + 1];
  for (index_t j = 0; j < n; ++j) idx->in_offsets[j + 1] += idx->in_offsets[j];
  idx->in_edges.resize(m);
  idx->in_sources.resize(m);
  std::vector<offset_t> cursor(idx->in_offsets.begin(), idx->in_offsets.end() - 1);
  // Walking edges in by-source order keeps each target's list in source order.
  for (index_t s = 0; s < n; ++s) {
    for (offset_t e = out_offsets_[s]; e < out_offsets_[s + 1]; ++e) {
      offset_t slot = cursor[edge_target_[e]]++;
      idx->in_edges[slot] = static_cast<index_t>(e);
      idx->in_sources[slot] = s;
    }
  }
  target_index_ = std::move(idx);
  return *target_index_;
}

std::size_t Graph::memory_bytes() const {
  std::size_t b = bytes_of(node_type_) + bytes_of(out_offsets_) + bytes_of(edge_target_) +
                  bytes_of(edge_weight_) + bytes_of(edge_delay_) + bytes_of(edge_kind_) +
                  bytes_of(edge_plastic_);
  std::lock_guard<std::mutex> lock(target_index_mutex_);
  if (target_index_) {
    b += bytes_of(target_index_->in_offsets) + bytes_of(target_index_->in_edges) +
         bytes_of(target_index_->in_sources);
  }
  return b;
}

GraphStats Graph::stats() const {
  GraphStats st;
  st.num_nodes = num_nodes();
  st.num_edges = num_edges();
  st.max_delay = max_delay_;
  for (auto t : node_type_) ++st.nodes_by_type[t];
  for (auto k : edge_kind_) ++st.edges_by_kind[k];
  std::vector<std::size_t> in_degree(num_nodes(), 0);
  for (index_t s = 0; s < num_nodes(); ++s) {
    st.max_out_degree =
        std::max<std::size_t>(st.max_out_degree, out_offsets_[s + 1] - out_offsets_[s]);
  }
  for (auto t : edge_target_) ++in_degree[t];
  for (auto d : in_degree) st.max_in_degree = std::max(st.max_in_degree, d);
  double sum = 0.0;
  for (float w : edge_weight_) sum += w;
  st.mean_weight = num_edges() ? sum / static_cast<double>(num_edges()) : 0.0;
  return st;
}

void Graph::validate() const {
  const std::string op = "validate graph";
  const index_t n = num_nodes();
  const std::size_t m = num_edges();
  if (out_offsets_.size() != static_cast<std::size_t>(n) + 1) fail(op, "row pointer count != nodes + 1");
  if (out_offsets_.front() != 0 || out_offsets_.back() != m) fail(op, "row pointers do not span the edges");
  if (edge_weight_.size() != m || edge_delay_.size() != m || edge_kind_.size() != m ||
      (!edge_plastic_.empty() && edge_plastic_.size() != m)) {
    fail(op, "edge arrays differ in length");
  }
  for (index_t i = 0; i < n; ++i) {
    if (node_type_[i] >= kNodeTypeCount) fail(op, "node " + std::to_string(i) + " has an invalid type");
  }
  for (index_t s = 0; s < n; ++s) {
    if (out_offsets_[s] > out_offsets_[s + 1]) fail(op, "row pointers decrease at node " + std::to_string(s));
    for (offset_t e = out_offsets_[s]; e < out_offsets_[s + 1]; ++e) {
      const std::string at = "edge " + std::to_string(e) + " (source " + std::to_string(s) + ")";
      if (edge_target_[e] >= n) fail(op, at + " has target out of range");
      if (e > out_offsets_[s] && edge_target_[e] < edge_target_[e - 1]) fail(op, at + " breaks the target order of its row");
      if (!std::isfinite(edge_weight_[e]) || edge_weight_[e] < 0.0f) fail(op, at + " has an invalid weight");
      if (edge_delay_[e] < 1 || edge_delay_[e] > max_delay_) fail(op, at + " has an invalid delay");
      if (edge_kind_[e] >= kEdgeKindCount) fail(op, at + " has an invalid kind");
      if (!edge_plastic_.empty() && edge_plastic_[e] > 1) fail(op, at + " has an invalid plastic flag");
    }
  }
  std::lock_guard<std::mutex> lock(target_index_mutex_);
  if (target_index_) {
    const TargetIndex& t = *target_index_;
    if (t.in_offsets.size() != static_cast<std::size_t>(n) + 1 || t.in_edges.size() != m ||
        t.in_sources.size() != m || t.in_offsets.back() != m) {
      fail(op, "by-target index has the wrong size");
    }
    for (index_t j = 0; j < n; ++j) {
      for (offset_t k = t.in_offsets[j]; k < t.in_offsets[j + 1]; ++k) {
        index_t e = t.in_edges[k];
        index_t s = t.in_sources[k];
        if (e >= m || edge_target_[e] != j || s >= n || e < out_offsets_[s] || e >= out_offsets_[s + 1]) {
          fail(op, "by-target index entry " + std::to_string(k) + " is inconsistent");
        }
      }
    }
  }
}

// ---------------------------------------------------------------- builders

std::shared_ptr<const Graph> GraphBuilder::from_validated(
    std::vector<std::uint8_t> node_types, const std::vector<index_t>& sources,
    const std::vector<index_t>& targets, const std::vector<float>& weights,
    const std::vector<std::uint16_t>& delays, const std::vector<std::uint8_t>& kinds,
    const std::vector<std::uint8_t>& plastic, std::vector<index_t>* order) {
  auto g = std::make_shared<Graph>();
  const std::size_t n = node_types.size();
  const std::size_t m = sources.size();
  g->node_type_ = std::move(node_types);
  // Two stable counting sorts (by target, then by source) give (source, target) order
  // in O(n + m), stable for multapses.
  std::vector<std::size_t> count(n + 1, 0);
  for (std::size_t e = 0; e < m; ++e) ++count[targets[e] + 1];
  for (std::size_t j = 0; j < n; ++j) count[j + 1] += count[j];
  std::vector<index_t> by_target(m);
  for (std::size_t e = 0; e < m; ++e) by_target[count[targets[e]]++] = static_cast<index_t>(e);
  g->out_offsets_.assign(n + 1, 0);
  for (std::size_t e = 0; e < m; ++e) ++g->out_offsets_[sources[e] + 1];
  for (std::size_t s = 0; s < n; ++s) g->out_offsets_[s + 1] += g->out_offsets_[s];
  std::vector<offset_t> cursor(g->out_offsets_.begin(), g->out_offsets_.end() - 1);
  g->edge_target_.resize(m);
  g->edge_weight_.resize(m);
  g->edge_delay_.resize(m);
  g->edge_kind_.resize(m);
  const bool any_plastic = std::any_of(plastic.begin(), plastic.end(), [](std::uint8_t p) { return p != 0; });
  if (any_plastic) g->edge_plastic_.resize(m);
  std::uint16_t max_delay = 0;
  if (order) order->assign(m, 0);
  for (index_t e : by_target) {
    offset_t slot = cursor[sources[e]]++;
    if (order) (*order)[slot] = e;
    g->edge_target_[slot] = targets[e];
    g->edge_weight_[slot] = weights[e];
    g->edge_delay_[slot] = delays[e];
    g->edge_kind_[slot] = kinds[e];
    if (any_plastic) g->edge_plastic_[slot] = plastic[e];
    max_delay = std::max(max_delay, delays[e]);
  }
  g->max_delay_ = max_delay;
  return g;
}

std::shared_ptr<const Graph> with_spare_nodes(const Graph& graph, std::size_t spare) {
  if (graph.num_nodes() + spare > std::numeric_limits<index_t>::max() - 1) {
    fail("add spare nodes", "too many nodes");
  }
  std::vector<std::uint8_t> types = graph.node_type();
  types.resize(types.size() + spare, static_cast<std::uint8_t>(NodeType::dynamic));
  // Empty rows after the others; the edges, their order and the graph's max delay (a
  // rank's part keeps the whole graph's, which sizes every rank's delay ring) as they are.
  std::vector<offset_t> offsets = graph.out_offsets();
  offsets.resize(offsets.size() + spare, offsets.back());
  return GraphBuilder::from_csr(std::move(types), std::move(offsets), graph.edge_target(), graph.edge_weight(),
                                graph.edge_delay(), graph.edge_kind(), graph.edge_plastic(), graph.max_delay());
}

std::shared_ptr<const Graph> GraphBuilder::from_csr(std::vector<std::uint8_t> node_types,
                                                    std::vector<offset_t> out_offsets, std::vector<index_t> targets,
                                                    std::vector<float> weights, std::vector<std::uint16_t> delays,
                                                    std::vector<std::uint8_t> kinds, std::vector<std::uint8_t> plastic,
                                                    std::uint16_t max_delay) {
  auto g = std::make_shared<Graph>();
  g->node_type_ = std::move(node_types);
  g->out_offsets_ = std::move(out_offsets);
  g->edge_target_ = std::move(targets);
  g->edge_weight_ = std::move(weights);
  g->edge_delay_ = std::move(delays);
  g->edge_kind_ = std::move(kinds);
  g->edge_plastic_ = std::move(plastic);
  g->max_delay_ = max_delay;
  return g;
}

std::shared_ptr<const Graph> GraphBuilder::part(const Graph& graph, index_t begin, index_t end, bool source_rows,
                                                std::vector<std::uint64_t>& row_base) {
  auto g = std::make_shared<Graph>();
  const index_t n = graph.num_nodes();
  g->node_type_ = graph.node_type_;
  g->out_offsets_.assign(static_cast<std::size_t>(n) + 1, 0);
  row_base.assign(n, 0);
  const bool plastic = !graph.edge_plastic_.empty();
  for (index_t s = 0; s < n; ++s) {
    // Rows are sorted by target: the kept edges of a row are one run (or all of it).
    const auto* row = graph.edge_target_.data();
    offset_t first = graph.out_offsets_[s], last = graph.out_offsets_[s + 1];
    if (!source_rows || s < begin || s >= end) {
      first = static_cast<offset_t>(std::lower_bound(row + first, row + last, begin) - row);
      last = static_cast<offset_t>(std::lower_bound(row + first, row + last, end) - row);
    }
    row_base[s] = first;
    for (offset_t e = first; e < last; ++e) {
      g->edge_target_.push_back(graph.edge_target_[e]);
      g->edge_weight_.push_back(graph.edge_weight_[e]);
      g->edge_delay_.push_back(graph.edge_delay_[e]);
      g->edge_kind_.push_back(graph.edge_kind_[e]);
      if (plastic) g->edge_plastic_.push_back(graph.edge_plastic_[e]);
    }
    g->out_offsets_[s + 1] = static_cast<offset_t>(g->edge_target_.size());
  }
  // Exact sizes: memory_bytes() reports capacity, and parts are built by appending.
  g->edge_target_.shrink_to_fit();
  g->edge_weight_.shrink_to_fit();
  g->edge_delay_.shrink_to_fit();
  g->edge_kind_.shrink_to_fit();
  g->edge_plastic_.shrink_to_fit();
  g->max_delay_ = graph.max_delay_;
  return g;
}

std::shared_ptr<const Graph> GraphBuilder::from_arrays(std::size_t num_nodes,
                                                       const std::int64_t* node_types,
                                                       const EdgeArrays& a) {
  const std::string op = "build graph";
  if (num_nodes == 0) fail(op, "a graph needs at least one node");
  if (num_nodes > std::numeric_limits<index_t>::max() - 1) {
    fail(op, "too many nodes (" + std::to_string(num_nodes) + "; at most 4294967294)");
  }
  if (a.num_edges > std::numeric_limits<index_t>::max() - 1) {
    fail(op, "too many edges (" + std::to_string(a.num_edges) + "; at most 4294967294)");
  }
  const std::size_t m = a.num_edges;
  if (m > 0 && (!a.sources || !a.targets || !a.weights)) fail(op, "sources, targets and weights are required");
  std::vector<std::uint8_t> types(num_nodes, static_cast<std::uint8_t>(NodeType::dynamic));
  if (node_types) {
    for (std::size_t i = 0; i < num_nodes; ++i) {
      if (node_types[i] < 0 || node_types[i] >= kNodeTypeCount) {
        fail(op, "node_types[" + std::to_string(i) + "] = " + std::to_string(node_types[i]) +
                     " is not a node type (0.." + std::to_string(kNodeTypeCount - 1) + ")");
      }
      types[i] = static_cast<std::uint8_t>(node_types[i]);
    }
  }
  const auto nn = static_cast<std::int64_t>(num_nodes);
  std::vector<index_t> src(m), tgt(m);
  std::vector<float> w(m);
  std::vector<std::uint16_t> d(m, 1);
  std::vector<std::uint8_t> k(m, static_cast<std::uint8_t>(EdgeKind::excitatory));
  std::vector<std::uint8_t> pl(m, 0);
  auto range_msg = [&](const char* name, std::size_t e, std::int64_t v) {
    return std::string(name) + "[" + std::to_string(e) + "] = " + std::to_string(v) +
           " is out of range [0, " + std::to_string(nn) + ")";
  };
  for (std::size_t e = 0; e < m; ++e) {
    if (a.sources[e] < 0 || a.sources[e] >= nn) fail(op, range_msg("sources", e, a.sources[e]));
    if (a.targets[e] < 0 || a.targets[e] >= nn) fail(op, range_msg("targets", e, a.targets[e]));
    src[e] = static_cast<index_t>(a.sources[e]);
    tgt[e] = static_cast<index_t>(a.targets[e]);
    const double wv = a.weights[e];
    if (!std::isfinite(wv)) {
      std::ostringstream os;
      os << "weights[" << e << "] = " << wv << " is not finite";
      fail(op, os.str());
    }
    if (wv < 0.0) {
      std::ostringstream os;
      os << "weights[" << e << "] = " << wv
         << " is negative (weights are magnitudes; use kind 'inhibitory' for negative effect)";
      fail(op, os.str());
    }
    if (wv > std::numeric_limits<float>::max()) fail(op, "weights[" + std::to_string(e) + "] overflows float32");
    w[e] = static_cast<float>(wv);
    if (a.delays) {
      if (a.delays[e] < 1 || a.delays[e] > 65535) {
        fail(op, "delays[" + std::to_string(e) + "] = " + std::to_string(a.delays[e]) +
                     " steps is out of range [1, 65535]");
      }
      d[e] = static_cast<std::uint16_t>(a.delays[e]);
    }
    if (a.kinds) {
      if (a.kinds[e] < 0 || a.kinds[e] >= kEdgeKindCount) {
        fail(op, "kinds[" + std::to_string(e) + "] = " + std::to_string(a.kinds[e]) +
                     " is not an edge kind (0 excitatory, 1 inhibitory, 2 modulatory, 3 gated)");
      }
      k[e] = static_cast<std::uint8_t>(a.kinds[e]);
    }
    if (a.plastic) {
      if (a.plastic[e] > 1) fail(op, "plastic[" + std::to_string(e) + "] must be 0 or 1");
      pl[e] = a.plastic[e];
    }
  }
  return from_validated(std::move(types), src, tgt, w, d, k, pl);
}

}  // namespace spikegraph
