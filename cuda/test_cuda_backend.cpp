// GPU tests of the CUDA backend: the whole step on the device against the CPU
// backend, bit for bit (spikes, every state array, weights, eligibility, ledgers),
// through the real services. Skipped without a device (test_main.cpp). The same
// algorithm runs on the host in tests_cpp/backend/test_cuda_emulation.cpp on every
// build; these tests add what only a device can check: the CUDA launches, CUB's
// sort and selection, managed-memory views, device arithmetic.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_backend.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sensory/frames.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/parity.hpp"
#include "support/test_util.hpp"

using namespace spikegraph;
using gpu::DeliveryPolicy;
using sgtest::cpu_backend;
using sgtest::require_identical;
using sgtest::simulation;
using sgtest::stimulus;

namespace {

BackendFactory on_device(DeliveryPolicy policy = DeliveryPolicy::automatic) {
  return [policy](const Graph& g, const config::Config& c) { return gpu::make_cuda_engine(g, c, policy); };
}

config::Config with_backend(config::Config c, const std::string& backend, int threads = 1) {
  c.update({{"sim.backend", config::Value::string(backend)}, {"sim.threads", config::Value::integer(threads)}});
  return c;
}

// A copy of a checkpoint whose configuration names another backend.
io::SnapshotReader retarget(const io::SnapshotReader& in, const std::string& backend) {
  io::SnapshotWriter out;
  for (const auto& s : in.sections()) {
    if (s.name == "config") {
      config::Config c = config::Config::from_toml(in.text("config"), "<checkpoint>");
      out.add_text("config", with_backend(c, backend).to_toml());
      continue;
    }
    std::vector<unsigned char> bytes(static_cast<std::size_t>(s.count) * dtype_size(s.dtype));
    in.read_into(s.name, s.dtype, bytes.data(), static_cast<std::size_t>(s.count));
    out.add(s.name, s.dtype, bytes.data(), static_cast<std::size_t>(s.count));
  }
  return io::SnapshotReader::from_bytes(out.bytes(), in.source() + " (" + backend + ")");
}

// A checkpoint of `sim`, in memory.
io::SnapshotReader checkpoint_of(const Simulation& sim, const char* what) {
  io::SnapshotWriter out;
  sim.save_to(out);
  return io::SnapshotReader::from_bytes(out.bytes(), what);
}

bool same_state(Simulation& a, Simulation& b) {
  for (const auto& name : a.state_names()) {
    const ArrayRef x = a.state(name), y = b.state(name);
    if (x.size != y.size || x.dtype != y.dtype || std::memcmp(x.data, y.data, x.size * dtype_size(x.dtype)) != 0) {
      UNSCOPED_INFO("state " << name << " differs");
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("cuda = cpu: Brunel B1 network, every delivery path, float32 and float64", "[cuda-backend]") {
  const std::string precision = GENERATE(as<std::string>{}, "float32", "float64");
  const auto policy = GENERATE(DeliveryPolicy::automatic, DeliveryPolicy::sparse, DeliveryPolicy::dense);
  INFO(precision << ", policy " << static_cast<int>(policy));
  const auto g = sgtest::brunel(5000, 100, 15);
  const config::Config c = sgtest::b1_config(precision);
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, on_device(policy));
  cpu->run_steps(1000);
  gpu->run_steps(1000);
  CHECK(cpu->spikes().size() > 1000);
  require_identical(*cpu, *gpu);
}

TEST_CASE("cuda = cpu: the default network with every feature, stdp and eligibility", "[cuda-backend]") {
  const std::string rule = GENERATE(as<std::string>{}, "stdp", "eligibility");
  INFO(rule);
  config::Config c = config::Config::from_toml(config::default_run_toml(), "<default run>");
  c = sgtest::with(c, "[learning]\nrule = '" + rule +
                          "'\n[structure]\nenabled = true\ninterval = 50\nspare_nodes = 64\n"
                          "death_energy = 1.0\nprune_weight = 0.1\n");
  const auto g = make_default_network(c);
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, on_device());
  for (Simulation* x : {cpu.get(), gpu.get()}) {
    x->set_neuromodulator(rule == "eligibility" ? 0.5 : 0.0);
    stimulus(*x, 40, Stimulus::Kind::input, 3.0, {2000, 2001, 2000});
    stimulus(*x, 41, Stimulus::Kind::add_drive, 0.2, {1500, 1501});
    x->run_steps(300);
  }
  CHECK(cpu->spikes().size() > 1000);
  require_identical(*cpu, *gpu);
  // The ledger closes on the device (float state, double sums).
  for (const auto& l : gpu->ledger_history()) CHECK(std::abs(l.error()) <= 1e-5 * std::max(1.0, l.total_before));
}

TEST_CASE("cuda = cpu on 1 and 2 threads: Simulation runs of the default network with a frame", "[cuda-backend]") {
  const config::Config base = config::Config::from_toml(config::default_run_toml(), "<default run>");
  const auto g = make_default_network(base);
  Simulation one(g, with_backend(base, "cpu", 1));
  Simulation two(g, with_backend(base, "cpu", 2));
  Simulation dev(g, with_backend(base, "cuda"));
  REQUIRE(dev.backend().name() == "cuda");
  std::vector<float> rgb(48 * 64 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  sensory::FrameView frame;
  frame.data = rgb.data();
  frame.height = 48;
  frame.width = 64;
  frame.channels = 3;
  frame.type = sensory::FrameView::Type::f32;
  frame.row_stride_bytes = 64 * 3 * static_cast<std::ptrdiff_t>(sizeof(float));
  for (Simulation* s : {&one, &two, &dev}) {
    s->run_steps(100);
    s->set_frame(frame);
    s->run_steps(150);
  }
  CHECK(one.spikes().size() > 1000);
  CHECK(one.spikes().nodes == two.spikes().nodes);
  CHECK(one.spikes().nodes == dev.spikes().nodes);
  CHECK(one.spikes().steps == dev.spikes().steps);
  CHECK(same_state(one, dev));
  CHECK(one.ledger().total_after == dev.ledger().total_after);
}

TEST_CASE("cuda: a checkpoint saved on the device continues on the cpu, and back", "[cuda-backend]") {
  config::Config c = config::Config::from_toml(config::default_run_toml(), "<default run>");
  c = sgtest::with(c, "[learning]\nrule = 'eligibility'\n");
  const auto g = make_default_network(c);
  Simulation dev(g, with_backend(c, "cuda"));
  dev.set_neuromodulator(0.3);
  dev.run_steps(120);
  const auto saved = checkpoint_of(dev, "<cuda checkpoint>");
  auto on_cpu = Simulation::load(retarget(saved, "cpu"));
  auto on_dev = Simulation::load(retarget(saved, "cuda"));
  REQUIRE(on_cpu->backend().name() == "cpu");
  REQUIRE(on_dev->backend().name() == "cuda");
  for (Simulation* s : {&dev, on_cpu.get(), on_dev.get()}) s->run_steps(100);
  CHECK(dev.spikes().nodes == on_cpu->spikes().nodes);
  CHECK(dev.spikes().steps == on_cpu->spikes().steps);
  CHECK(dev.spikes().nodes == on_dev->spikes().nodes);
  CHECK(same_state(dev, *on_cpu));
  CHECK(same_state(dev, *on_dev));
}

TEST_CASE("cuda: a checkpoint saved on the cpu continues on the device", "[cuda-backend]") {
  config::Config c = config::Config::from_toml(config::default_run_toml(), "<default run>");
  c = sgtest::with(c, "[learning]\nrule = 'eligibility'\n[structure]\nenabled = true\ninterval = 50\n"
                      "spare_nodes = 16\ndeath_energy = 1.0\n");
  const auto g = make_default_network(c);
  Simulation cpu(g, with_backend(c, "cpu", 2));
  cpu.set_neuromodulator(0.3);
  cpu.run_steps(120);
  auto on_dev = Simulation::load(checkpoint_of(cpu, "<cpu checkpoint>"), on_device());
  REQUIRE(on_dev->backend().name() == "cuda");
  cpu.run_steps(100);
  on_dev->run_steps(100);
  CHECK(cpu.spikes().size() > 100);
  CHECK(cpu.spikes().nodes == on_dev->spikes().nodes);
  CHECK(cpu.spikes().steps == on_dev->spikes().steps);
  CHECK(same_state(cpu, *on_dev));
}

TEST_CASE("cuda: state views are zero-copy and coherent between calls", "[cuda-backend]") {
  const auto g = sgtest::small_graph(4, {});
  config::Config c = sgtest::with(config::Config(), "[sim]\nbackend = 'cuda'\n[node.dynamic]\ntau_m = 20.0\n"
                                                    "threshold = 20.0\nv_reset = 10.0\nt_ref = 2.0\n");
  Simulation sim(g, c);
  auto* v = static_cast<float*>(sim.state("v").data);
  CHECK(sim.state("v").data == v);
  v[2] = 30.0f;  // write through the view ...
  sim.run_steps(1);
  CHECK(sim.spikes().nodes == std::vector<index_t>{2});  // ... the device sees it
  CHECK(v[2] == 10.0f);                                  // ... and the view sees the reset
  auto* drive = static_cast<float*>(sim.state("drive").data);
  for (int i = 0; i < 4; ++i) drive[i] = 25.0f;
  sim.run_steps(400);
  const auto counts = sim.spike_counts();
  for (auto k : counts) CHECK(k >= 1);
}

// Small enough for compute-sanitizer (memcheck, racecheck, cuda/device_check.sh): every
// phase, both delivery paths, stimuli and structure steps in a few thousand launches.
TEST_CASE("cuda = cpu, small: every phase and both delivery paths", "[cuda-backend][cuda-small]") {
  const auto policy = GENERATE(DeliveryPolicy::sparse, DeliveryPolicy::dense);
  INFO("policy " << static_cast<int>(policy));
  const auto b1 = sgtest::brunel(500, 50, 15);
  const config::Config bc = sgtest::b1_config("float32");
  auto cpu_b1 = simulation(b1, bc, cpu_backend());
  auto gpu_b1 = simulation(b1, bc, on_device(policy));
  const TransferStats before = gpu_b1->backend().transfers();
  cpu_b1->run_steps(300);
  gpu_b1->run_steps(300);
  // Per step: the spike count and ids to the host; row offsets to the device (sparse).
  const TransferStats after = gpu_b1->backend().transfers();
  CHECK(after.to_host_bytes - before.to_host_bytes == 4 * (300 + gpu_b1->spikes().size()));
  CHECK(cpu_b1->spikes().size() > 50);
  require_identical(*cpu_b1, *gpu_b1);  // (reads the weights: 4 bytes per edge to the host)

  config::Config c = config::Config::from_toml(config::default_run_toml(), "<default run>");
  c = sgtest::with(c, "[graph]\nsensory_side = 8\nworkspace_side = 4\noscillators = 4\nrelays = 4\nhighways = 2\n"
                      "[learning]\nrule = 'eligibility'\n[structure]\nenabled = true\ninterval = 10\n"
                      "spare_nodes = 8\ndeath_energy = 1.0\nprune_weight = 0.1\n");
  const auto g = make_default_network(c);
  auto cpu = simulation(g, c, cpu_backend());
  auto gpu = simulation(g, c, on_device(policy));
  for (Simulation* x : {cpu.get(), gpu.get()}) {
    x->set_neuromodulator(0.5);
    stimulus(*x, 5, Stimulus::Kind::input, 3.0, {20, 21, 20});
    stimulus(*x, 6, Stimulus::Kind::add_drive, 0.2, {15, 16});
    x->run_steps(60);
  }
  CHECK(cpu->spikes().size() > 20);
  require_identical(*cpu, *gpu);
}
