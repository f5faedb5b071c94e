// The "structure" service: structural plasticity (docs/model.md step 7), on the host at
// structure steps. Node ids never change: a birth takes the lowest free slot, a node of
// a mortal type that is not alive (one that died at an earlier structure step, or a
// spare slot appended at construction: structure.spare_nodes). The graph is rebuilt
// (compacted) only here.
#include <algorithm>
#include <cmath>
#include <exception>
#include <string>
#include <utility>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/sim/events.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph {

namespace {

class StructureService final : public Service {
 public:
  std::string name() const override { return "structure"; }
  std::vector<Phase> phases() const override { return {Phase::structure}; }

  void configure(const config::Config& c) override {
    interval_ = c.integer("structure.interval");
    death_energy_ = c.real("structure.death_energy");
    birth_energy_ = c.real("structure.birth_energy");
    birth_cost_ = c.real("structure.birth_cost");
    child_frac_ = c.real("structure.child_energy_frac");
    child_out_ = c.integer("structure.child_out_degree");
    child_weight_ = static_cast<float>(c.real("structure.child_weight"));
    child_delay_ = static_cast<std::uint16_t>(c.steps("structure.child_delay", 1));
    prune_weight_ = static_cast<float>(c.real("structure.prune_weight"));
    v_rest_ = c.real("node.dynamic.v_rest");
    threshold_ = c.real("node.dynamic.threshold");
    poisson_rate_ = c.real("node.dynamic.poisson_rate");
    energy_enabled_ = c.boolean("energy.enabled");
    key_ = kernels::make_key(static_cast<std::uint64_t>(c.integer("sim.seed")),
                             static_cast<std::uint64_t>(kernels::RngStream::structure));
  }

  void initialize(StepContext& ctx) override { starving_.assign(ctx.graph.num_nodes(), 1); }

  // The free slots follow from `alive` and the types, so only the starvation marks are
  // state (checkpoints of earlier versions also hold a "next_slot", no longer needed).
  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override {
    out.add(prefix + "starving", starving_);
  }
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override {
    auto starving = in.array<std::uint8_t>(prefix + "starving", starving_.size());
    starving_.swap(starving);
  }

  void run(Phase, StepContext& ctx) override {
    const ArrayRef energy = ctx.backend.state("energy");
    auto* alive = static_cast<std::uint8_t*>(ctx.backend.state("alive").data);
    const index_t n = ctx.graph.num_nodes();
    for (index_t i = 0; i < n; ++i) {
      if (alive[i] && read_element(energy, i) >= death_energy_) starving_[i] = 0;
    }
    if ((ctx.step + 1) % interval_ != 0) return;
    const std::shared_ptr<const Graph> old_graph = ctx.graph_owner;  // alive through this call
    const Graph& g = *old_graph;
    const std::uint8_t* types = g.node_type().data();
    StructureEvent ev;
    ev.step = ctx.step;

    // Free slots, lowest id first, taken before this step's deaths (a node that dies
    // now is not reborn in the same step).
    std::vector<index_t> free_slots;
    for (index_t i = 0; i < n; ++i) {
      if (!alive[i] && node_type_traits(types[i]).mortal) free_slots.push_back(i);
    }
    std::size_t next_free = 0;

    double removed = 0.0;  // energy of the nodes that died (ledger: transfers)
    for (index_t i = 0; i < n; ++i) {
      if (alive[i] && node_type_traits(types[i]).mortal && starving_[i]) {
        alive[i] = 0;
        removed += read_element(energy, i);
        write_element(energy, i, 0.0);
        ev.deaths.push_back(i);
      }
    }

    std::vector<index_t> new_src, new_tgt;
    double birth_loss = 0.0;  // the part of birth costs the child does not get (ledger: birth_cost)
    const index_t parents_end = n;
    for (index_t i = 0; i < parents_end; ++i) {
      if (!alive[i] || !node_type_traits(types[i]).mortal || read_element(energy, i) <= birth_energy_ ||
          read_element(energy, i) < birth_cost_) {
        continue;
      }
      if (next_free == free_slots.size()) {
        ++ev.births_refused;
        continue;
      }
      const index_t child = free_slots[next_free++];
      write_element(energy, i, read_element(energy, i) - birth_cost_);
      write_element(energy, child, child_frac_ * birth_cost_);
      birth_loss += (1.0 - child_frac_) * birth_cost_;
      alive[child] = 1;
      starving_[child] = 1;
      ev.parents.push_back(i);
      ev.children.push_back(child);
      new_src.push_back(i);
      new_tgt.push_back(child);
      // Out-edges to random alive nodes: each target is drawn from the counter-based
      // generator keyed by (child, step, draw), with a bounded number of tries.
      std::uint64_t draw = 0;
      for (std::int64_t k = 0; k < child_out_; ++k) {
        for (int attempt = 0; attempt < 64; ++attempt) {
          const std::uint64_t counter = (static_cast<std::uint64_t>(ctx.step) << 20) + draw++;
          const std::uint32_t u = kernels::draw_u32(key_, child, counter);
          const auto target = static_cast<index_t>((static_cast<std::uint64_t>(u) * n) >> 32);
          if (alive[target] && target != child) {
            new_src.push_back(child);
            new_tgt.push_back(target);
            break;
          }
        }
      }
    }

    reset_newborns(ctx.backend, ev.children);
    // The newborns' Poisson rates reach the backend's tables.
    if (!ev.children.empty()) ctx.backend.state_written("poisson_rate");
    compact(ctx, g, alive, new_src, new_tgt, ev);
#ifndef NDEBUG
    // docs/model.md: structure steps validate the graph and the state in debug builds.
    const ValidationReport check = validate_simulation(ctx.backend, *ctx.graph_owner, ctx.config, 1);
    if (!check.ok) {
      throw GraphError("structure step " + std::to_string(ctx.step) + ": the graph is invalid after compaction: " +
                       check.problems.front());
    }
#endif

    // This service's ledger entries (the energy service closes the ledger after them).
    if (energy_enabled_) {
      ctx.ledger.transfers = removed;
      ctx.ledger.birth_cost = birth_loss;
    }
    std::fill(starving_.begin(), starving_.end(), 1);
    ctx.events.structure.push_back(std::move(ev));
  }

 private:
  // A newborn starts at rest with its type's threshold and no history: each state
  // variable as the state table's newborn column says (energy and alive are set by
  // the birth itself; variables no node type uses are not allocated). One state()
  // call per variable: on several ranks it is collective for the membrane variables.
  void reset_newborns(Backend& b, const std::vector<index_t>& children) const {
    if (children.empty()) return;
    const std::vector<std::string> allocated = b.state_names();
    for (const NodeVarInfo& row : kNodeVars) {
      if (row.newborn == NewbornValue::keep) continue;
      if (std::find(allocated.begin(), allocated.end(), row.name) == allocated.end()) continue;
      double value = 0.0;
      switch (row.newborn) {
        case NewbornValue::keep:
        case NewbornValue::zero: break;
        case NewbornValue::minus_one: value = -1.0; break;
        case NewbornValue::rest: value = v_rest_; break;
        case NewbornValue::base_threshold: value = threshold_; break;
        case NewbornValue::type_poisson_rate: value = poisson_rate_; break;
      }
      const ArrayRef a = b.state(row.name);
      for (index_t c : children) write_element(a, c, value);
    }
  }

  // Rebuild the graph without pruned edges and edges of dead nodes, with the new
  // edges appended; per-edge state follows its edge (Backend::replace_graph). On
  // several ranks every rank makes the same decisions (alive, energy and the stored
  // copies of an edge agree everywhere) on the edges it stores; each edge is counted
  // by the rank that owns its target, and the counts are summed.
  void compact(StepContext& ctx, const Graph& g, const std::uint8_t* alive, const std::vector<index_t>& add_src,
               const std::vector<index_t>& add_tgt, StructureEvent& ev) {
    const std::pair<index_t, index_t> own = ctx.sim.owned_nodes();
    const auto counted = [&own](index_t t) { return t >= own.first && t < own.second; };
    const float* w = static_cast<const float*>(ctx.backend.edge_state("weight").data);
    const auto& off = g.out_offsets();
    const auto& tgt = g.edge_target();
    const auto& plastic = g.edge_plastic();
    const std::size_t m = g.num_edges();
    std::vector<index_t> src_out, tgt_out, old_id;
    std::vector<float> w_out;
    std::vector<std::uint16_t> d_out;
    std::vector<std::uint8_t> k_out, p_out;
    std::exception_ptr failure;
    try {
      src_out.reserve(m + add_src.size());
      for (index_t s = 0; s < g.num_nodes(); ++s) {
        for (offset_t e = off[s]; e < off[s + 1]; ++e) {
          const bool is_plastic = !plastic.empty() && plastic[e];
          if (!alive[s] || !alive[tgt[e]]) {
            ev.removed_edges += counted(tgt[e]) ? 1 : 0;
            continue;
          }
          if (is_plastic && w[e] < prune_weight_) {
            ev.pruned_edges += counted(tgt[e]) ? 1 : 0;
            continue;
          }
          src_out.push_back(s);
          tgt_out.push_back(tgt[e]);
          w_out.push_back(w[e]);
          d_out.push_back(g.edge_delay()[e]);
          k_out.push_back(g.edge_kind()[e]);
          p_out.push_back(is_plastic ? 1 : 0);
          old_id.push_back(static_cast<index_t>(e));
        }
      }
      std::size_t added_here = 0;
      for (std::size_t k = 0; k < add_src.size(); ++k) {
        if (!ctx.sim.stores_edge(add_src[k], add_tgt[k])) continue;
        ++added_here;
        src_out.push_back(add_src[k]);
        tgt_out.push_back(add_tgt[k]);
        w_out.push_back(child_weight_);
        d_out.push_back(child_delay_);
        k_out.push_back(static_cast<std::uint8_t>(EdgeKind::excitatory));
        p_out.push_back(1);
        old_id.push_back(static_cast<index_t>(m + added_here - 1));  // >= m: a new edge
      }
    } catch (...) {
      failure = std::current_exception();  // e.g. out of memory for the new lists
    }
    share_failure(ctx.sim, failure);
    ev.added_edges = add_src.size();
    if (ctx.sim.ranks() > 1) {
      std::vector<std::uint64_t> counts{ev.removed_edges, ev.pruned_edges};
      ctx.sim.communicator()->sum_counts(counts);
      ev.removed_edges = static_cast<std::size_t>(counts[0]);
      ev.pruned_edges = static_cast<std::size_t>(counts[1]);
    }
    // The same answer on every rank (replace_graph is collective there).
    if (ev.removed_edges == 0 && ev.pruned_edges == 0 && add_src.empty()) return;
    std::vector<index_t> order;
    std::shared_ptr<const Graph> next;
    try {
      next = GraphBuilder::from_validated(g.node_type(), src_out, tgt_out, w_out, d_out, k_out, p_out, &order);
      for (auto& o : order) o = old_id[o];
    } catch (...) {
      failure = std::current_exception();
    }
    share_failure(ctx.sim, failure);
    ctx.backend.replace_graph(*next, order);
    ctx.graph_owner = std::move(next);
  }

  // Before a collective call on several ranks, a local error (this rank's memory, say)
  // reaches every rank, which all throw (Communicator::agree); in one process it is
  // rethrown. Otherwise the ranks' calls would go out of step.
  static void share_failure(const Simulation& sim, const std::exception_ptr& failure) {
    if (sim.ranks() > 1) {
      sim.communicator()->agree(failure);
    } else if (failure) {
      std::rethrow_exception(failure);
    }
  }

  std::int64_t interval_ = 50;
  double death_energy_ = 0.05, birth_energy_ = 4.0, birth_cost_ = 1.5, child_frac_ = 0.5;
  std::int64_t child_out_ = 5;
  float child_weight_ = 0.5f;
  std::uint16_t child_delay_ = 1;
  float prune_weight_ = 0.05f;
  double v_rest_ = 0.0, threshold_ = 1.0, poisson_rate_ = 0.0;  // a newborn's (node.dynamic.*)
  bool energy_enabled_ = false;
  std::vector<std::uint8_t> starving_;
  kernels::RngKey key_{};
};

}  // namespace

std::unique_ptr<Service> make_structure_service() { return std::make_unique<StructureService>(); }

}  // namespace spikegraph
