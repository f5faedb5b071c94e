// The "metrics" service: every metrics.interval ms (phase recording, after the spike
// record has this step's spikes) it appends a MetricsSample to the coordinator's
// history: activity and energy metrics, and with metrics.structure also the
// validation report and the structure metrics of the current graph (without the
// per-node component labels, which would make the history grow with the graph).
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/records.hpp"

namespace spikegraph {

namespace {

class MetricsService final : public Service {
 public:
  std::string name() const override { return "metrics"; }
  std::vector<Phase> phases() const override { return {Phase::recording}; }

  void initialize(StepContext& ctx) override {
    interval_ = ctx.config.steps("metrics.interval", 1);
    structure_ = ctx.config.boolean("metrics.structure");
    options_ = analysis_options(ctx.config);
  }

  void run(Phase, StepContext& ctx) override {
    if ((ctx.step + 1) % interval_ != 0) return;
    // The coordinator adds this step's ledger to the totals after the step; the
    // sample includes it already.
    LedgerTotals totals = ctx.ledger_totals;
    if (ctx.ledger.step == ctx.step && ctx.config.boolean("energy.enabled")) totals.add(ctx.ledger);
    MetricsSample s;
    s.step = ctx.step;
    s.activity = activity_metrics(ctx.backend, *ctx.graph_owner, ctx.config, ctx.spike_record, ctx.step + 1,
                                  ctx.homeostasis, totals);
    if (structure_) {
      s.has_structure = true;
      s.validation = validate_simulation(ctx.backend, *ctx.graph_owner, ctx.config, options_.threads);
      s.graph = graph_metrics(simulation_view(ctx.backend, *ctx.graph_owner, ctx.config), options_);
      s.graph.weak.labels.clear();
      s.graph.weak.labels.shrink_to_fit();
      s.graph.strong.labels.clear();
      s.graph.strong.labels.shrink_to_fit();
    }
    ctx.metrics_history.push_back(std::move(s));
  }

 private:
  std::int64_t interval_ = 1;
  bool structure_ = false;
  AnalysisOptions options_;
};

}  // namespace

std::unique_ptr<Service> make_metrics_service() { return std::make_unique<MetricsService>(); }

}  // namespace spikegraph
