// The CUDA backend's step, run on the host (cuda/host_exec.hpp), against the CPU
// backend: the same kernel bodies, launch sequences, buffers, sort and selection
// semantics as on a GPU, with loops instead of launches. Every build runs these
// (no GPU needed): they pin down that the CUDA backend's algorithm reproduces the
// CPU backend bit for bit (spikes, every state array, weights, eligibility, ledgers)
// through every phase, both delivery paths, structure steps, stimuli, set_weights,
// state writes and checkpoints in both directions. What they cannot check (CUDA
// runtime calls, launches, CUB) is covered by cuda/test_cuda_backend.cpp on a GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

// The CUDA backend's private headers (plain C++; no CUDA needed).
#include "../../cuda/delivery_plan.hpp"
#include "../../cuda/host_exec.hpp"
#include "../../cuda/step_engine.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "support/parity.hpp"
#include "support/test_util.hpp"

using namespace spikegraph;
using gpu::DeliveryPolicy;
using gpu::HostExec;
using sgtest::b1_config;
using sgtest::brunel;
using sgtest::cpu_backend;
using sgtest::full_model;
using sgtest::require_identical;
using sgtest::simulation;
using sgtest::stimulus;
using sgtest::with;

namespace {

BackendFactory emulated(DeliveryPolicy policy = DeliveryPolicy::automatic,
                        HostExec::Order order = HostExec::Order::reverse) {
  return [policy, order](const Graph& g, const config::Config& c) -> std::unique_ptr<Backend> {
    if (c.string("sim.precision") == "float64") {
      return std::make_unique<gpu::StepEngine<HostExec, double>>(g, c, policy, order);
    }
    return std::make_unique<gpu::StepEngine<HostExec, float>>(g, c, policy, order);
  };
}

}  // namespace

TEST_CASE("cuda delivery plan: row offsets, dense choice, key width", "[cuda][backend]") {
  const std::vector<offset_t> off{0, 3, 3, 7, 8};  // out-degrees 3, 0, 4, 1
  std::vector<std::uint32_t> rows;
  CHECK(gpu::plan_rows({0, 1, 2, 3}, off.data(), rows) == 8);
  CHECK(rows == std::vector<std::uint32_t>{0, 3, 3, 7});
  CHECK(gpu::plan_rows({1}, off.data(), rows) == 0);
  CHECK(rows == std::vector<std::uint32_t>{0});
  CHECK(gpu::plan_rows({}, off.data(), rows) == 0);
  CHECK(rows.empty());
  CHECK_FALSE(gpu::use_dense(DeliveryPolicy::automatic, 100, 800));
  CHECK(gpu::use_dense(DeliveryPolicy::automatic, 101, 800));
  CHECK(gpu::use_dense(DeliveryPolicy::dense, 0, 800));
  CHECK_FALSE(gpu::use_dense(DeliveryPolicy::sparse, 800, 800));
  CHECK(gpu::key_bits(1, 1) == 1);
  CHECK(gpu::key_bits(2, 2) == 2);    // keys 0..3
  CHECK(gpu::key_bits(16, 1000000) == 24);
  CHECK(gpu::key_bits(3, std::size_t{1} << 32) == 34);
}

TEST_CASE("cuda host executor: stable sort by key, ordered selection, both loop orders", "[cuda][backend]") {
  HostExec exec;
  const std::vector<std::uint64_t> keys{5, 1, 5, 0, 1, 5};
  const std::vector<std::uint32_t> values{0, 1, 2, 3, 4, 5};
  std::vector<std::uint64_t> k(6);
  std::vector<std::uint32_t> v(6);
  exec.sort_pairs(keys.data(), k.data(), values.data(), v.data(), 6, 3);
  CHECK(k == std::vector<std::uint64_t>{0, 1, 1, 5, 5, 5});
  CHECK(v == std::vector<std::uint32_t>{3, 1, 4, 0, 2, 5});  // equal keys keep their order
  const std::vector<std::uint8_t> flags{0, 1, 1, 0, 0, 1};
  std::uint32_t count = 0;
  exec.select_flagged(values.data(), flags.data(), v.data(), &count, 6);
  CHECK(count == 3);
  CHECK(std::vector<std::uint32_t>(v.begin(), v.begin() + 3) == std::vector<std::uint32_t>{1, 2, 5});
  std::vector<std::size_t> seen;
  exec.for_each(4, [&](std::size_t i) { seen.push_back(i); });
  CHECK(seen == std::vector<std::size_t>{3, 2, 1, 0});
  HostExec forward(HostExec::Order::forward);
  seen.clear();
  forward.for_each(3, [&](std::size_t i) { seen.push_back(i); });
  CHECK(seen == std::vector<std::size_t>{0, 1, 2});
  Buffer<int, HostExec::HostAlloc> a(3, "a"), b;
  CHECK((a.size() == 3 && a.bytes() == 12 && b.empty() && b.data() == nullptr));
  b = std::move(a);
  CHECK((b.size() == 3 && a.empty()));
  b.reserve(2, "b");
  CHECK(b.size() == 3);
  b.resize(0, "b");
  CHECK(b.empty());
}

TEST_CASE("cuda backend (emulated) = cpu: Brunel B1-like, both delivery paths, float32 and float64",
          "[cuda][backend]") {
  const std::string precision = GENERATE(as<std::string>{}, "float32", "float64");
  const auto policy = GENERATE(DeliveryPolicy::automatic, DeliveryPolicy::sparse, DeliveryPolicy::dense);
  INFO(precision << ", policy " << static_cast<int>(policy));
  const auto g = brunel(800, 50, 15);
  const config::Config c = b1_config(precision);
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, emulated(policy));
  const TransferStats before = gpu->backend().transfers();
  cpu->run_steps(1500);
  gpu->run_steps(1500);
  // What crosses the bus per step: the spike count (4 bytes) and the ids (4 per spike)
  // to the host; the sparse delivery's row offsets (4 per delivered spike) to the device.
  const TransferStats after = gpu->backend().transfers();
  CHECK(cpu->backend().transfers().to_host_bytes == 0);
  CHECK(after.to_host_bytes - before.to_host_bytes == 4 * (1500 + gpu->spikes().size()));
  CHECK(gpu->perf().bytes_to_host == after.to_host_bytes - before.to_host_bytes);
  const std::uint64_t uploaded = after.to_device_bytes - before.to_device_bytes;
  if (policy == DeliveryPolicy::dense) {  // once: the by-target index the dense path walks
    const TargetIndex& in = g->by_target();
    CHECK(uploaded == in.in_offsets.size() * sizeof(offset_t) + (in.in_edges.size() + in.in_sources.size()) * 4);
  }
  if (policy == DeliveryPolicy::sparse) {
    CHECK(uploaded > 0);
    CHECK(uploaded <= 4 * gpu->spikes().size());
  }
  CHECK(cpu->spikes().size() > 600);  // an active network, not a silent one
  require_identical(*cpu, *gpu);
  const auto* engine = dynamic_cast<const gpu::StepEngine<HostExec, float>*>(&gpu->backend());
  if (engine && policy != DeliveryPolicy::automatic) {
    CHECK((policy == DeliveryPolicy::sparse ? engine->dense_steps() : engine->sparse_steps()) == 0);
    CHECK((policy == DeliveryPolicy::sparse ? engine->sparse_steps() : engine->dense_steps()) > 500);
  }
}

TEST_CASE("cuda backend (emulated) = cpu on 1 and 2 threads: mixed delays and kinds, multapses",
          "[cuda][backend]") {
  // Mixed delays and kinds, repeated (source, target) pairs: several contributions
  // per (slot, target) within one step, added in edge order.
  std::vector<sgtest::E> edges;
  const kernels::RngKey key = kernels::make_key(9, 77);
  for (int e = 0; e < 6000; ++e) {
    const auto r = kernels::draw64(key, static_cast<std::uint32_t>(e), 0);
    edges.push_back(sgtest::E{static_cast<std::int64_t>(r % 300), static_cast<std::int64_t>((r >> 20) % 300),
                              0.5 + static_cast<double>((r >> 40) % 100) / 37.0,
                              1 + static_cast<std::int64_t>((r >> 50) % 4), static_cast<std::int64_t>((r >> 56) % 4)});
    if (e % 7 == 0) edges.push_back(edges.back());  // multapse
  }
  const auto g = sgtest::small_graph(300, edges);
  const config::Config c = with(b1_config("float32"), "[edge]\ngate_energy = 2.0\n");
  auto one = simulation(g, c, cpu_backend(1));
  auto two = simulation(g, c, cpu_backend(2));
  auto sparse = simulation(g, c, emulated(DeliveryPolicy::sparse, HostExec::Order::forward));
  auto dense = simulation(g, c, emulated(DeliveryPolicy::dense));
  for (Simulation* x : {one.get(), two.get(), sparse.get(), dense.get()}) x->run_steps(300);
  CHECK(one->spikes().size() > 300);
  require_identical(*one, *two);
  require_identical(*one, *sparse);
  require_identical(*one, *dense);
}

TEST_CASE("cuda backend (emulated) = cpu: the full model with structure, stdp and eligibility rules",
          "[cuda][backend]") {
  const std::string rule = GENERATE(as<std::string>{}, "stdp", "eligibility");
  const std::string precision = GENERATE(as<std::string>{}, "float32", "float64");
  INFO(rule << ", " << precision);
  const config::Config c = full_model("precision = '" + precision + "'\n[learning]\nrule = '" + rule +
                                      "'\n[structure]\nenabled = true\ninterval = 40\nspare_nodes = 12\n"
                                      "death_energy = 1.5\nbirth_energy = 3.0\nprune_weight = 0.12\n");
  const auto g = make_default_network(c);
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, emulated());
  auto dense = simulation(g, c, emulated(DeliveryPolicy::dense, HostExec::Order::forward));
  for (Simulation* x : {cpu.get(), gpu.get(), dense.get()}) {
    x->set_neuromodulator(rule == "eligibility" ? 0.8 : 0.0);
    x->run_steps(90);
    // A node and a few of its edges die between structure steps.
    std::vector<double> alive(x->graph().num_nodes());
    const ArrayRef a = x->state("alive");
    for (std::size_t i = 0; i < alive.size(); ++i) alive[i] = read_element(a, i);
    alive[100] = 0;
    x->set_state("alive", alive.data(), alive.size());
    x->run_steps(110);
  }
  CHECK(cpu->spikes().size() > 400);
  CHECK(cpu->ledger_history().size() == 200);
  // The structure steps changed the graph (births, deaths or pruning).
  CHECK(cpu->graph().num_edges() != make_default_network(c)->num_edges());
  require_identical(*cpu, *gpu);
  require_identical(*cpu, *dense);
  for (const auto& l : gpu->ledger_history()) CHECK(std::abs(l.error()) <= 1e-5 * std::max(1.0, l.total_before));
}

TEST_CASE("cuda backend (emulated) = cpu: stimuli, drive changes, set_weights, synaptic gain", "[cuda][backend]") {
  const auto g = brunel(400, 40, 3, true);
  const config::Config c = with(b1_config("float32"), "[learning]\nenabled = true\n[energy]\nenabled = true\n");
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, emulated());
  std::vector<double> w(g->num_edges());
  for (std::size_t e = 0; e < w.size(); ++e) w[e] = 0.05 + 0.001 * static_cast<double>(e % 97);
  for (Simulation* x : {cpu.get(), gpu.get()}) {
    stimulus(*x, 20, Stimulus::Kind::input, 7.5, {3, 9, 3, 3, 250});  // repeated node: additions in order
    stimulus(*x, 20, Stimulus::Kind::input, 1.25, {4, 5, 6});
    stimulus(*x, 30, Stimulus::Kind::add_drive, 0.3, {1, 2, 2});
    stimulus(*x, 30, Stimulus::Kind::set_drive, 19.0, {7, 8});
    stimulus(*x, 31, Stimulus::Kind::add_drive, -0.1, {7});
    x->run_steps(60);
    x->backend().set_synaptic_gain(1.7);
    x->set_weights(w.data(), w.size());
    x->run_steps(60);
    x->backend().set_synaptic_gain(0.6);
    x->run_steps(60);
  }
  require_identical(*cpu, *gpu);
  const std::vector<float> short_w(g->num_edges() - 1, 0.1f);
  CHECK_THROWS_AS(gpu->backend().set_weights(short_w.data(), short_w.size()), InputError);
}

TEST_CASE("cuda backend (emulated): checkpoints load into the cpu backend and back", "[cuda][backend]") {
  const config::Config c = full_model("[learning]\nrule = 'eligibility'\n");
  const auto g = make_default_network(c);
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, emulated());
  for (Simulation* x : {cpu.get(), gpu.get()}) {
    x->set_neuromodulator(0.5);
    x->run_steps(60);
  }
  require_identical(*cpu, *gpu);
  // The emulated GPU's checkpoint continued on the CPU backend.
  {
    io::SnapshotWriter out;
    gpu->save_to(out);
    auto resumed = Simulation::load(io::SnapshotReader::from_bytes(out.bytes(), "<gpu>"), cpu_backend());
    CHECK(resumed->backend().name() == "cpu");
    for (Simulation* x : {cpu.get(), resumed.get()}) {
      x->reset_perf();  // perf counters are not part of a checkpoint
      x->run_steps(50);
    }
    require_identical(*cpu, *resumed);
  }
  // The CPU's checkpoint continued on the emulated GPU backend.
  {
    io::SnapshotWriter out;
    cpu->save_to(out);
    auto resumed = Simulation::load(io::SnapshotReader::from_bytes(out.bytes(), "<cpu>"),
                                    emulated(DeliveryPolicy::sparse));
    CHECK(resumed->backend().name() == "cuda-emulated");
    for (Simulation* x : {cpu.get(), resumed.get()}) {
      x->reset_perf();  // perf counters are not part of a checkpoint
      x->run_steps(50);
    }
    require_identical(*cpu, *resumed);
    // The checkpoints of the two backends are the same bytes.
    io::SnapshotWriter a, b;
    cpu->backend().save_state(a);
    resumed->backend().save_state(b);
    CHECK(a.bytes() == b.bytes());
  }
}

TEST_CASE("cuda backend (emulated): errors name the operation", "[cuda][backend]") {
  const auto g = brunel(50, 5, 2);
  const config::Config c = b1_config("float32");
  auto backend = emulated()(*g, c);
  CHECK(backend->name() == "cuda-emulated");
  CHECK(backend->threads() == 1);
  CHECK(backend->precision() == Precision::float32);
  EnergyLedger ledger;
  CHECK_THROWS_WITH(backend->update_energy(0, true, ledger), Catch::Contains("energy.enabled = false"));
  CHECK_THROWS_WITH(backend->state("voltage"), Catch::Contains("unknown variable 'voltage' (known: v, threshold"));
  CHECK_THROWS_AS(backend->edge_state("eligibility"), InputError);
  const auto other = brunel(60, 5, 2);
  CHECK_THROWS_AS(backend->replace_graph(*other, std::vector<index_t>(other->num_edges(), 0)), BackendError);
  CHECK(backend->memory_bytes() > 50 * (4 * 6 + 2 + 4 + 1 + 4));
  // A float64 checkpoint does not load into float32, and a corrupt spike list is rejected.
  io::SnapshotWriter out;
  emulated()(*g, with(c, "[sim]\nprecision = 'float64'\n"))->save_state(out);
  CHECK_THROWS_WITH(backend->load_state(io::SnapshotReader::from_bytes(out.bytes(), "<x>")),
                    Catch::Contains("saved in float64"));
  io::SnapshotWriter ok;
  backend->save_state(ok);
  auto bytes = ok.bytes();
  auto in = io::SnapshotReader::from_bytes(bytes, "<ok>");
  CHECK_NOTHROW(backend->load_state(in));
}

TEST_CASE("cuda backend (emulated) = cpu: per-node Poisson rates, set and reconfigured, with structure on", "[cuda][backend]") {
  const auto g = brunel(600, 30, 3, true);
  const config::Config c = with(b1_config("float32"), "[structure]\nenabled = true\ninterval = 20\n"
                                                      "spare_nodes = 40\n[energy]\nenabled = true\n");
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, emulated());
  const std::size_t n = cpu->graph().num_nodes();
  // Interleaved rates (tables change within a block) and a run of one rate.
  std::vector<double> rates(n);
  for (std::size_t i = 0; i < n; ++i) rates[i] = i < 300 ? 15000.0 * static_cast<double>(i % 3) : 32500.0;
  for (Simulation* x : {cpu.get(), gpu.get()}) {
    x->set_state("poisson_rate", rates.data(), rates.size());
    x->run_steps(150);
    config::FlatTable change;
    change["node.dynamic.poisson_rate"] = config::Value::real(27000.0);
    x->update_config(change);  // every dynamic node takes the type's new rate
    x->run_steps(150);
  }
  require_identical(*cpu, *gpu);
  const auto after = sgtest::state_of(*cpu, "poisson_rate");
  CHECK(std::all_of(after.begin(), after.end(), [](double r) { return r == 27000.0; }));
  CHECK(cpu->spikes().size() > 1000);
}
