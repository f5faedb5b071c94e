// The "graph" service (graph management): validation, structure and activity metrics
// of the current graph and state on request (Simulation::validate, graph_metrics,
// activity_metrics), and every metrics.interval ms (phase recording, after the spike
// record and the ledger have this step) a MetricsSample in its history: activity and
// energy metrics, and with metrics.structure also the validation report and the
// structure metrics (without the per-node component labels, which would make the
// history grow with the graph).
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph {

void GraphService::configure(const config::Config& cfg) {
  interval_ = cfg.real("metrics.interval") > 0.0 ? cfg.steps("metrics.interval", 1) : 0;
  structure_ = cfg.boolean("metrics.structure");
  options_ = analysis_options(cfg);
  horizon_.steps = cfg.steps("record.horizon");
}

ValidationReport GraphService::validate(Backend& backend, const Graph& graph, const config::Config& cfg) const {
  return validate_simulation(backend, graph, cfg, static_cast<int>(cfg.integer("sim.threads")));
}

GraphMetrics GraphService::metrics(const Simulation& sim, Backend& backend, const Graph& graph,
                                   const config::Config& cfg, const AnalysisOptions& options) const {
  if (sim.ranks() <= 1) return graph_metrics(simulation_view(backend, graph, cfg), options);
  // Several ranks: each holds part of the edges; the metrics are the whole graph's, so
  // every rank gathers it (collective) and computes them (the alive flags are everywhere).
  const std::shared_ptr<const Graph> whole = sim.whole_graph();
  GraphView view = simulation_view(backend, *whole, cfg);
  view.weights = nullptr;  // the gathered graph's weights are the current ones
  return graph_metrics(view, options);
}

ActivityMetrics GraphService::activity(Backend& backend, const Graph& graph, const config::Config& cfg,
                                       const Simulation& sim, std::int64_t end_step) const {
  return activity_metrics(backend, graph, cfg, sim.spikes(), end_step, sim.homeostasis(), sim.ledger_totals());
}

void GraphService::run(Phase, StepContext& ctx) {
  if (interval_ == 0 || (ctx.step + 1) % interval_ != 0) return;
  MetricsSample s;
  s.step = ctx.step;
  s.activity = activity(ctx.backend, *ctx.graph_owner, ctx.config, ctx.sim, ctx.step + 1);
  if (structure_) {
    s.has_structure = true;
    s.validation = validate_simulation(ctx.backend, *ctx.graph_owner, ctx.config, options_.threads);
    s.graph = metrics(ctx.sim, ctx.backend, *ctx.graph_owner, ctx.config, options_);
    s.graph.weak.labels.clear();
    s.graph.weak.labels.shrink_to_fit();
    s.graph.strong.labels.clear();
    s.graph.strong.labels.shrink_to_fit();
  }
  history_.push_back(std::move(s));
  std::size_t old = 0;
  while (old < history_.size() && history_[old].step < horizon_.cutoff(ctx.step)) ++old;
  if (horizon_.due(old, history_.size())) drop_front(old, history_);
}

}  // namespace spikegraph
