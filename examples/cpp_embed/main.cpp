// Embedding spikegraph in a C++ program: build a network from arrays and a
// Brunel network, run them, print spike counts. Also shows a custom service
// plugged into the step pipeline.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include <spikegraph/spikegraph.hpp>

namespace {

// Counts spikes per step as they happen (runs in the recording phase).
class SpikeCounter : public spikegraph::Service {
 public:
  std::string name() const override { return "spike_counter"; }
  std::vector<spikegraph::Phase> phases() const override { return {spikegraph::Phase::recording}; }
  void run(spikegraph::Phase, spikegraph::StepContext& ctx) override {
    total += ctx.backend.spikes().size();
  }
  std::uint64_t total = 0;
};

// A custom learning rule that replaces the built-in "learning" service: every
// spike of a source strengthens its plastic out-edges by a fixed step, up to a cap
// (a toy presynaptic rule, to show the extension point).
class PresynapticGrowth : public spikegraph::Service {
 public:
  std::string name() const override { return "learning"; }
  std::vector<spikegraph::Phase> phases() const override { return {spikegraph::Phase::learning}; }
  void run(spikegraph::Phase, spikegraph::StepContext& ctx) override {
    const auto& plastic = ctx.graph.edge_plastic();
    if (plastic.empty()) return;
    auto* w = static_cast<float*>(ctx.backend.edge_state("weight").data);
    const auto& off = ctx.graph.out_offsets();
    for (spikegraph::index_t s : ctx.backend.spikes()) {
      for (auto e = off[s]; e < off[s + 1]; ++e) {
        if (plastic[e]) w[e] = std::min(w[e] + 0.001f, 0.2f);
      }
    }
  }
};

}  // namespace

int main() {
  using namespace spikegraph;
  try {
    // 1. A small chain 0 -> 1 -> 2 built from arrays; node 0 is driven above threshold.
    const std::vector<std::int64_t> src = {0, 1}, tgt = {1, 2}, delay = {2, 3};
    const std::vector<double> w = {1.5, 1.5};
    EdgeArrays edges;
    edges.num_edges = src.size();
    edges.sources = src.data();
    edges.targets = tgt.data();
    edges.weights = w.data();
    edges.delays = delay.data();
    auto chain = GraphBuilder::from_arrays(3, nullptr, edges);
    config::Config cfg;
    cfg.update({{"node.dynamic.drive", config::Value::real(0.0)}});
    Simulation chain_sim(chain, cfg);
    std::vector<double> drive = {2.0, 0.0, 0.0};
    chain_sim.set_state("drive", drive.data(), drive.size());
    chain_sim.run(100.0);
    const auto counts = chain_sim.spike_counts();
    std::printf("chain: spikes per node %llu %llu %llu\n", static_cast<unsigned long long>(counts[0]),
                static_cast<unsigned long long>(counts[1]), static_cast<unsigned long long>(counts[2]));

    // 2. The built-in default run's Brunel network at 2,000 nodes, with a custom service.
    config::Config brunel = config::Config::from_toml(config::default_run_toml());
    brunel.update({{"network.n", config::Value::integer(2000)}, {"network.k_in", config::Value::integer(50)}});
    Simulation sim(make_network(brunel), brunel);
    auto counter = std::make_unique<SpikeCounter>();
    SpikeCounter* counter_ptr = counter.get();
    sim.replace_service(std::move(counter));
    sim.run(200.0);
    std::printf("brunel: %llu spikes (custom service counted %llu)\n",
                static_cast<unsigned long long>(sim.spikes().size()),
                static_cast<unsigned long long>(counter_ptr->total));
    std::printf("%s", format_summary(summarize(sim)).c_str());

    // 3. The same network with plastic E->E edges, learning on, and the built-in
    //    learning service replaced by a rule of our own.
    config::Config plastic_cfg = brunel;
    plastic_cfg.update({{"network.plastic", config::Value::string("exc_exc")},
                        {"learning.enabled", config::Value::boolean(true)}});
    Simulation learner(make_network(plastic_cfg), plastic_cfg);
    learner.replace_service(std::make_unique<PresynapticGrowth>());
    learner.run(100.0);
    const ArrayRef weights = learner.edge_state("weight");
    const auto& plastic = learner.graph().edge_plastic();
    double sum = 0.0;
    std::size_t count = 0;
    for (std::size_t e = 0; e < weights.size; ++e) {
      if (plastic[e]) {
        sum += static_cast<const float*>(weights.data)[e];
        ++count;
      }
    }
    std::printf("custom learning rule: mean plastic weight %.4f (started at 0.1000)\n", sum / count);
    return sim.spikes().size() == counter_ptr->total && counts[2] > 0 && sum / count > 0.1 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
