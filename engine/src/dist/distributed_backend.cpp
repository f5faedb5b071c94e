#include "distributed_backend.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "../backend/cpu/cpu_backend.hpp"
#include "../backend/cpu/parallel.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph::dist {

int threads_per_rank(const config::Config& cfg, int ranks) {
  const std::int64_t threads = cfg.integer("sim.threads");
  if (threads > 0) return static_cast<int>(threads);
  return std::max(1, cpu::hardware_threads() / std::max(1, ranks));
}

std::vector<std::string> unsupported_on_ranks(const config::Config& cfg, int ranks) {
  std::vector<std::string> out;
  if (ranks <= 1) return out;
  const std::string backend = cfg.string("sim.backend");
  if (backend == "cuda") out.push_back("sim.backend = cuda (several ranks run the CPU backend)");
  return out;
}

bool needs_source_rows(const config::Config& cfg) {
  // Not only when energy.conductance > 0: it is live, and a flow switched on during a
  // run needs the rows as much as one on from the start.
  return cfg.boolean("energy.enabled");
}

bool DistributedBackend::owner_only(const std::string& name) const {
  for (const auto& row : kNodeVars) {
    // last_spike is written by the neuron update, and every rank sets it for every
    // spike it receives: it is current everywhere, except within an exchange window.
    if (name != row.name) continue;
    if (row.id == NodeVar::last_spike) return window_ > 1;
    return std::string(row.written_by) == "neuron_update";
  }
  return false;
}

DistributedBackend::DistributedBackend(const Graph& local_graph, const config::Config& cfg,
                                       std::shared_ptr<Communicator> comm, NodePartition partition,
                                       std::vector<std::uint64_t> row_base, std::uint64_t global_edges)
    : graph_(&local_graph),
      comm_(std::move(comm)),
      partition_(std::move(partition)),
      row_base_(std::move(row_base)),
      global_edges_(global_edges),
      source_rows_(needs_source_rows(cfg)) {
  if (!comm_) throw InputError("distributed backend: communicator is null");
  if (partition_.ranks() != comm_->size()) {
    throw InputError("distributed backend: the partition has " + std::to_string(partition_.ranks()) +
                     " ranks, the communicator " + std::to_string(comm_->size()));
  }
  if (partition_.starts.back() != local_graph.num_nodes() || row_base_.size() != local_graph.num_nodes()) {
    throw InputError("distributed backend: the partition or the edge ids do not match the rank's graph");
  }
  CpuOwnership own;
  own.begin = partition_.begin(comm_->rank());
  own.end = partition_.end(comm_->rank());
  own.exchange = [this](step_t t, std::vector<index_t>& spikes, const std::exception_ptr& failure) {
    return exchange(t, spikes, failure);
  };
  own.share = [this](void* data, std::size_t width) { share_owned(data, width); };
  inner_ = make_cpu_backend(local_graph, cfg, threads_per_rank(cfg, comm_->size()), own);
  count_edge_state_names();
  count_min_delay();
}

void DistributedBackend::count_min_delay() {
  // The smallest delay of the whole graph: a part without edges counts as no limit.
  std::vector<index_t> mine{std::numeric_limits<index_t>::max()}, all;
  for (std::uint16_t d : graph_->edge_delay()) mine[0] = std::min<index_t>(mine[0], d);
  comm_->allgather(mine, all);
  min_delay_ = all.empty() ? 1 : *std::min_element(all.begin(), all.end());
}

void DistributedBackend::set_exchange_window(std::int64_t steps) {
  if (steps < 1 || static_cast<std::uint64_t>(steps) > min_delay_) {
    throw InputError("exchange window: " + std::to_string(steps) + " steps is not within [1, " +
                     std::to_string(min_delay_) + "], the smallest delay in steps");
  }
  window_ = steps;
  late_.clear();  // spikes of an earlier window are not handed on again
}

ExchangeResult DistributedBackend::exchange(step_t t, std::vector<index_t>& spikes,
                                            const std::exception_ptr& failure) {
  std::vector<index_t> all;
  if (window_ == 1) {
    comm_->allgather(spikes, all, !failure, failure);
    spikes.swap(all);  // ranks own ascending ranges: concatenated in rank order is ascending
    return {};
  }
  // A window: this rank's spikes are held, as what it will send, until its last step,
  // and a failure with them. The message is the number of held steps, then [count,
  // ids...] per step. Every rank holds the same steps when every rank makes the same
  // run_steps calls; a rank that did not is an error on every rank, not a hang.
  if (held_.empty()) held_.push_back(0);
  ++held_[0];
  held_.push_back(static_cast<index_t>(spikes.size()));
  held_.insert(held_.end(), spikes.begin(), spikes.end());
  if (failure && !held_failure_) held_failure_ = failure;
  if (!window_end_) return ExchangeResult{false, nullptr};
  const std::size_t steps = held_[0];
  std::vector<index_t> mine;
  mine.swap(held_);
  std::exception_ptr held_failure = held_failure_;
  held_failure_ = nullptr;
  // An exchange that throws leaves no spikes of this or an earlier window to hand on.
  late_.clear();
  comm_->allgather(mine, all, !held_failure, held_failure);
  std::vector<StepSpikes> window(steps);
  for (std::size_t k = 0; k < steps; ++k) window[k].step = t - static_cast<step_t>(steps - 1 - k);
  std::size_t at = 0;
  for (int r = 0; r < comm_->size(); ++r) {
    if (all.at(at++) != steps) {
      throw BackendError("spike exchange: rank " + std::to_string(r) + " ended an exchange window after " +
                         std::to_string(all[at - 1]) + " steps, this rank after " + std::to_string(steps) +
                         ": every rank must make the same run_steps calls");
    }
    for (std::size_t k = 0; k < steps; ++k) {
      const std::size_t count = all.at(at);
      window[k].nodes.insert(window[k].nodes.end(), all.begin() + static_cast<std::ptrdiff_t>(at + 1),
                             all.begin() + static_cast<std::ptrdiff_t>(at + 1 + count));
      at += 1 + count;
    }
  }
  spikes.swap(window.back().nodes);
  window.pop_back();  // the held steps before this one
  late_.swap(window);
  return ExchangeResult{true, &late_};
}

bool DistributedBackend::part_has_eligibility() const {
  const auto names = inner_->edge_state_names();
  return std::find(names.begin(), names.end(), "eligibility") != names.end();
}

void DistributedBackend::count_edge_state_names() {
  // A part without plastic edges has no eligibility while other parts have it; the
  // whole network has it when any part does.
  std::vector<std::uint64_t> has{part_has_eligibility() ? 1u : 0u};
  comm_->sum_counts(has);
  any_eligibility_ = has[0] > 0;
}

ArrayRef DistributedBackend::edge_state(const std::string& name) {
  if (name == "eligibility" && any_eligibility_ && !part_has_eligibility()) {
    no_eligibility_.assign(graph_->num_edges(), 0.0f);
    return ArrayRef{no_eligibility_.data(), no_eligibility_.size(), DType::f32};
  }
  return inner_->edge_state(name);
}

std::vector<std::string> DistributedBackend::edge_state_names() const {
  std::vector<std::string> names = inner_->edge_state_names();
  if (any_eligibility_ && !part_has_eligibility()) names.push_back("eligibility");
  return names;
}

void DistributedBackend::replace_graph(const Graph& new_graph, const std::vector<index_t>& order) {
  // A local error (memory for the new part's state) reaches every rank before the
  // collective calls below.
  std::exception_ptr failure;
  try {
    inner_->replace_graph(new_graph, order);
  } catch (...) {
    failure = std::current_exception();
  }
  comm_->agree(failure);
  graph_ = &new_graph;
  count_edge_state_names();
  count_min_delay();
  // Where each row now lies in the whole graph. Rows are sorted by target and ranks own
  // ascending ranges, so whole row s is rank 0's edges into its nodes, then rank 1's, and
  // so on: the sum of the ranks' counts per row gives each row's length, and the sum
  // over the ranks below this one where this rank's run starts in it.
  const index_t n = new_graph.num_nodes();
  const auto& off = new_graph.out_offsets();
  std::vector<std::uint64_t> length(n, 0), before;
  for (index_t s = 0; s < n; ++s) {
    for (offset_t k = off[s]; k < off[s + 1]; ++k) length[s] += owns_edge(k) ? 1 : 0;
  }
  comm_->sum_counts(length, &before);
  std::uint64_t total = 0;
  for (index_t s = 0; s < n; ++s) {
    // A row stored whole (an own node's, with source rows) starts where the whole row does.
    row_base_[s] = total + (source_rows_ && owns_node(s) ? 0 : before[s]);
    total += length[s];
  }
  global_edges_ = total;
}

bool DistributedBackend::owns_node(index_t node) const {
  return node >= partition_.begin(comm_->rank()) && node < partition_.end(comm_->rank());
}

bool DistributedBackend::stores_edge(index_t source, index_t target) const {
  return owns_node(target) || (source_rows_ && owns_node(source));
}

void DistributedBackend::gather_owned(const ArrayRef& a) const { share_owned(a.data, dtype_size(a.dtype)); }

void DistributedBackend::share_owned(void* data, std::size_t width) const {
  auto* base = static_cast<unsigned char*>(data);
  const index_t b = partition_.begin(comm_->rank()), e = partition_.end(comm_->rank());
  std::vector<unsigned char> mine(base + b * width, base + e * width), all;
  std::vector<std::uint64_t> offsets;
  comm_->allgather_bytes(mine, all, offsets);
  // Rank r's block is its owned range, so the blocks in rank order are the whole array.
  if (!all.empty()) std::memcpy(base, all.data(), all.size());
}

bool DistributedBackend::owns_edge(std::size_t k) const { return owns_node(graph_->edge_target()[k]); }

ArrayRef DistributedBackend::state(const std::string& name) {
  ArrayRef a = inner_->state(name);
  if (comm_->size() > 1 && owner_only(name)) gather_owned(a);
  return a;
}

std::vector<float> DistributedBackend::gather_edge_state(const std::string& name, bool root_only) const {
  // Eligibility exists on plastic edges only: a part without any has none to send
  // (its edges' entries are 0, as in one process).
  const bool held = name != "eligibility" || part_has_eligibility();
  const ArrayRef a = held ? inner_->edge_state(name) : ArrayRef{nullptr, 0, DType::f32};
  const auto* values = static_cast<const float*>(a.data);
  // Each rank sends (global id, value) of the edges into its nodes (an edge out of
  // its nodes into another rank's is that rank's to send); every rank places them.
  std::vector<unsigned char> mine, all;
  mine.reserve(a.size * (sizeof(std::uint64_t) + sizeof(float)));
  for_each_edge([&](index_t, offset_t k, std::uint64_t id) {
    if (!held || !owns_edge(k)) return;
    const auto* id_bytes = reinterpret_cast<const unsigned char*>(&id);
    const auto* value = reinterpret_cast<const unsigned char*>(&values[k]);
    mine.insert(mine.end(), id_bytes, id_bytes + sizeof(std::uint64_t));
    mine.insert(mine.end(), value, value + sizeof(float));
  });
  std::vector<std::uint64_t> offsets;
  if (root_only) {
    comm_->gather_bytes(mine, all, offsets);
    if (comm_->rank() != 0) return {};
  } else {
    comm_->allgather_bytes(mine, all, offsets);
  }
  std::vector<float> out(static_cast<std::size_t>(global_edges_), 0.0f);
  constexpr std::size_t kPair = sizeof(std::uint64_t) + sizeof(float);
  for (std::size_t at = 0; at + kPair <= all.size(); at += kPair) {
    std::uint64_t id = 0;
    std::memcpy(&id, all.data() + at, sizeof(id));
    std::memcpy(&out[static_cast<std::size_t>(id)], all.data() + at + sizeof(id), sizeof(float));
  }
  return out;
}

void DistributedBackend::set_global_weights(const float* weights, std::size_t count) {
  if (count != global_edges_) throw InputError("set_weights: wrong number of weights");
  std::vector<float> mine(graph_->num_edges());
  for_each_edge([&](index_t, offset_t k, std::uint64_t id) { mine[k] = weights[id]; });
  inner_->set_weights(mine.data(), mine.size());
}

void DistributedBackend::save_state(io::SnapshotWriter& out) const {
  // Owner-only node variables first (the inner backend then writes current values).
  for (const auto& name : inner_->state_names()) {
    if (owner_only(name)) gather_owned(inner_->state(name));
  }
  io::SnapshotWriter local;
  inner_->save_state(local);
  const io::SnapshotReader in = io::SnapshotReader::from_bytes(local.bytes(), "rank state");
  const index_t n = partition_.starts.back();
  const bool root = comm_->rank() == 0;  // writes the whole; other ranks only send
  for (const io::SnapshotSection& s : in.sections()) {
    const std::size_t width = dtype_size(s.dtype);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(s.count) * width);
    in.read_into(s.name, s.dtype, bytes.data(), static_cast<std::size_t>(s.count));
    if (s.name == "backend/ring") {
      // Each rank's ring has rows (channel x slot) of its own nodes' input; the
      // checkpoint's has rows of all n nodes, each rank's columns from that rank.
      std::vector<unsigned char> all;
      std::vector<std::uint64_t> offsets;
      comm_->gather_bytes(bytes, all, offsets);
      if (!root) continue;
      const std::size_t rows = n == 0 ? 0 : all.size() / (static_cast<std::size_t>(n) * width);
      std::vector<unsigned char> whole(rows * n * width, 0);
      for (int rank = 0; rank < comm_->size(); ++rank) {
        const std::size_t rb = partition_.begin(rank), cols = partition_.end(rank) - rb;
        const unsigned char* src = all.data() + offsets[static_cast<std::size_t>(rank)];
        for (std::size_t r = 0; r < rows && cols > 0; ++r) {
          std::memcpy(whole.data() + (r * n + rb) * width, src + r * cols * width, cols * width);
        }
      }
      out.add(s.name, s.dtype, whole.data(), rows * n);
      continue;
    }
    if (s.name == "backend/weights" || s.name == "backend/eligibility") {
      // A rank whose part has no plastic edge (left so by a structure step) keeps no
      // copy of these while others do: whether to gather is every rank's decision.
      std::vector<std::uint64_t> stored{s.count};
      comm_->sum_counts(stored);
      if (stored[0] == 0) {
        if (root) out.add(s.name, std::vector<float>{});
        continue;
      }
      const std::vector<float> whole =
          gather_edge_state(s.name == "backend/weights" ? "weight" : "eligibility", true);
      if (root) out.add(s.name, whole);
      continue;
    }
    if (root) out.add(s.name, s.dtype, bytes.data(), static_cast<std::size_t>(s.count));
  }
}

void DistributedBackend::load_state(const io::SnapshotReader& in) {
  // The one-process sections, with this rank's edges of the per-edge arrays.
  io::SnapshotWriter local;
  for (const io::SnapshotSection& s : in.sections()) {
    if (s.name.rfind("backend/", 0) != 0) continue;
    if ((s.name == "backend/weights" || s.name == "backend/eligibility") && s.count > 0) {
      const auto whole = in.array<float>(s.name, static_cast<std::size_t>(global_edges_));
      std::vector<float> mine(graph_->num_edges());
      for_each_edge([&](index_t, offset_t k, std::uint64_t id) { mine[k] = whole[id]; });
      local.add(s.name, mine);
      continue;
    }
    const std::size_t width = dtype_size(s.dtype);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(s.count) * width);
    in.read_into(s.name, s.dtype, bytes.data(), static_cast<std::size_t>(s.count));
    if (s.name == "backend/ring") {
      // This rank's columns of each row (channel x slot) of all n nodes; a ring of
      // another shape is passed on whole for the backend to refuse by its size.
      const std::size_t n = partition_.starts.back();
      const index_t b = partition_.begin(comm_->rank()), e = partition_.end(comm_->rank());
      if (n > 0 && s.count % n == 0) {
        const std::size_t rows = static_cast<std::size_t>(s.count) / n;
        std::vector<unsigned char> mine;
        mine.reserve(rows * (e - b) * width);
        for (std::size_t r = 0; r < rows; ++r) {
          const unsigned char* row = bytes.data() + r * n * width;
          mine.insert(mine.end(), row + b * width, row + e * width);
        }
        local.add(s.name, s.dtype, mine.data(), mine.size() / width);
        continue;
      }
    }
    local.add(s.name, s.dtype, bytes.data(), static_cast<std::size_t>(s.count));
  }
  inner_->load_state(io::SnapshotReader::from_bytes(local.bytes(), in.source()));
}

}  // namespace spikegraph::dist
