// The neuron models a node type can run (node.<type>.model): lif_exp (exponential
// synaptic currents, exact integration) against the closed-form solution of its
// equations, izhikevich against hand-computed Euler steps, and both through the
// configuration, the state table, every backend and checkpoints.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../../cuda/host_exec.hpp"
#include "../../cuda/step_engine.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/kernels/neuron.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/sim/model_params.hpp"
#include "support/parity.hpp"
#include "support/test_util.hpp"

using namespace spikegraph;
namespace k = spikegraph::kernels;
using sgtest::cpu_backend;
using sgtest::require_identical;
using sgtest::simulation;
using sgtest::with;

namespace {

// lif_exp parameters of one type, from the configuration (dt 0.1 ms).
struct Params {
  k::NeuronParams<double> p;
  k::ModelConstants<double> c;
};
Params exp_params(double tau_m, double tau_ex, double tau_in, double r, double t_ref = 0.0) {
  const config::Config c = sgtest::config_of(
      {{"sim.dt", "0.1"},
       {"node.dynamic.model", "\"lif_exp\""},
       {"node.dynamic.tau_m", std::to_string(tau_m)},
       {"node.dynamic.tau_syn_ex", std::to_string(tau_ex)},
       {"node.dynamic.tau_syn_in", std::to_string(tau_in)},
       {"node.dynamic.resistance", std::to_string(r)},
       {"node.dynamic.t_ref", std::to_string(t_ref)},
       {"node.dynamic.threshold", "1000.0"}});
  const ModelParams<double> m = make_model_params<double>(c);
  return Params{m.neuron[static_cast<int>(NodeType::dynamic)], m.model_constants[static_cast<int>(NodeType::dynamic)]};
}

// Closed form of tau_m dV/dt = -V + R I, I = I0 exp(-t / tau_s), V(0) = 0.
double psc_response(double i0, double r, double tau_m, double tau_s, double t) {
  return i0 * r * tau_s / (tau_m - tau_s) * (std::exp(-t / tau_m) - std::exp(-t / tau_s));
}

}  // namespace

TEST_CASE("lif_exp: a current pulse moves v as the exact solution of the equations", "[kernels][neuron][models]") {
  const double tau_m = 20.0, tau_ex = 2.0, tau_in = 5.0, r = 2.0, h = 0.1;
  const auto [p, c] = exp_params(tau_m, tau_ex, tau_in, r);
  REQUIRE(p.model == k::NeuronModel::lif_exp);
  CHECK(p.decay == Approx(std::exp(-h / tau_m)).epsilon(1e-15));
  CHECK(c.syn_decay_ex == Approx(std::exp(-h / tau_ex)).epsilon(1e-15));
  CHECK(c.syn_decay_in == Approx(std::exp(-h / tau_in)).epsilon(1e-15));
  double v = 0, i_ex = 0, i_in = 0;
  std::uint16_t refractory = 0;
  // Step 0: an excitatory input of 3 and an inhibitory one of -1.5 arrive; they reach
  // v from the next step on.
  REQUIRE_FALSE(k::exp_synapse_step(v, i_ex, i_in, refractory, p.threshold, 0.0, 3.0, -1.5, 1.0, p, c));
  CHECK(v == 0.0);
  CHECK(i_ex == 3.0);
  CHECK(i_in == -1.5);
  for (int step = 1; step <= 400; ++step) {
    k::exp_synapse_step(v, i_ex, i_in, refractory, p.threshold, 0.0, 0.0, 0.0, 1.0, p, c);
    const double t = step * h;
    const double expected = psc_response(3.0, r, tau_m, tau_ex, t) + psc_response(-1.5, r, tau_m, tau_in, t);
    INFO("step " << step);
    REQUIRE(v == Approx(expected).margin(1e-12));
    REQUIRE(i_ex == Approx(3.0 * std::exp(-t / tau_ex)).epsilon(1e-12));
  }
}

TEST_CASE("lif_exp: drive, threshold, reset and refractory period", "[kernels][neuron][models]") {
  auto [p, c] = exp_params(10.0, 1.0, 1.0, 1.0, 0.3);  // t_ref 3 steps
  p.threshold = 1.0;
  p.spike_energy_min = 0.5;
  // Constant drive 2: v -> 2 (1 - exp(-t / tau_m)), crossing 1 at t = tau_m ln 2.
  double v = 0, i_ex = 0, i_in = 0;
  std::uint16_t refractory = 0;
  int first = -1;
  for (int step = 1; step <= 200 && first < 0; ++step) {
    if (k::exp_synapse_step(v, i_ex, i_in, refractory, p.threshold, 2.0, 0.0, 0.0, 1.0, p, c)) first = step;
  }
  CHECK(first == static_cast<int>(std::ceil(10.0 * std::log(2.0) / 0.1)));
  CHECK(v == p.v_reset);
  CHECK(refractory == 3);
  // While refractory v stays at v_reset, but the currents take their input.
  for (int s = 0; s < 3; ++s) {
    REQUIRE_FALSE(k::exp_synapse_step(v, i_ex, i_in, refractory, p.threshold, 2.0, 5.0, 0.0, 1.0, p, c));
    CHECK(v == p.v_reset);
  }
  CHECK(refractory == 0);
  CHECK(i_ex > 5.0);
  // Without the energy to spike, v passes the threshold and no spike happens.
  v = 0.99;
  CHECK_FALSE(k::exp_synapse_step(v, i_ex, i_in, refractory, p.threshold, 2.0, 0.0, 0.0, 0.1, p, c));
  CHECK(v > 1.0);
  // A dead node keeps its state.
  double dv = 0.5, dex = 1.0, din = -1.0;
  std::uint16_t dr = 0;
  CHECK_FALSE(k::live_exp_synapse_step(dv, dex, din, dr, p.threshold, 2.0, 3.0, -3.0, 1.0, p, c, false));
  CHECK(dv == 0.5);
  CHECK(dex == 1.0);
  CHECK(din == -1.0);
}

TEST_CASE("lif_exp: equal synaptic and membrane time constants use the singular propagator",
          "[kernels][neuron][models]") {
  const k::ModelConstants<double> c = exp_params(10.0, 10.0, 10.0 + 1e-13, 1.0).c;
  // h / C exp(-h / tau), C = tau / R.
  const double singular = 0.1 / 10.0 * std::exp(-0.1 / 10.0);
  CHECK(c.syn_gain_ex == Approx(singular).epsilon(1e-12));
  CHECK(c.syn_gain_in == Approx(singular).epsilon(1e-6));
}

TEST_CASE("izhikevich: Euler steps, spike and reset, a node without energy is held", "[kernels][neuron][models]") {
  const config::Config c = sgtest::config_of({{"sim.dt", "0.5"},
                                              {"node.dynamic.model", "\"izhikevich\""},
                                              {"node.dynamic.v_reset", "-65.0"},
                                              {"node.dynamic.threshold", "30.0"},
                                              {"node.dynamic.izhikevich_a", "0.02"},
                                              {"node.dynamic.izhikevich_b", "0.2"},
                                              {"node.dynamic.izhikevich_d", "8.0"}});
  const ModelParams<double> m = make_model_params<double>(c);
  k::NeuronParams<double> p = m.neuron[static_cast<int>(NodeType::dynamic)];
  const k::ModelConstants<double> mc = m.model_constants[static_cast<int>(NodeType::dynamic)];
  REQUIRE(p.model == k::NeuronModel::izhikevich);
  CHECK(mc.step_ms == 0.5);
  p.spike_energy_min = 0.5;
  // From v = -70, u = -14 with drive 10 and an input of 2:
  // dv/dt = 0.04 * 4900 - 350 + 140 + 14 + 10 = 10, so v = -70 + 0.5 * 10 + 2 = -63;
  // du/dt = 0.02 (0.2 * -70 + 14) = 0, so u stays -14.
  double v = -70, u = -14;
  CHECK_FALSE(k::izhikevich_step(v, u, 30.0, 10.0, 2.0, 1.0, p, mc));
  CHECK(v == Approx(-63.0).epsilon(1e-14));
  CHECK(u == Approx(-14.0).epsilon(1e-14));
  // Above the peak: spike, v = c, u += d.
  v = 29.0;
  u = 1.0;
  const double u_next = 1.0 + 0.5 * 0.02 * (0.2 * 29.0 - 1.0);
  CHECK(k::izhikevich_step(v, u, 30.0, 10.0, 0.0, 1.0, p, mc));
  CHECK(v == -65.0);
  CHECK(u == Approx(u_next + 8.0).epsilon(1e-14));
  // Without the energy to spike it is held at the peak instead of diverging.
  v = 29.0;
  u = 1.0;
  for (int s = 0; s < 50; ++s) CHECK_FALSE(k::izhikevich_step(v, u, 30.0, 10.0, 0.0, 0.1, p, mc));
  CHECK(v == 30.0);
  // Tonic drive makes it fire regularly (regular spiking: a few spikes per 100 ms).
  v = -65;
  u = -13;
  int spikes = 0;
  for (int s = 0; s < 2000; ++s) spikes += k::izhikevich_step(v, u, 30.0, 10.0, 0.0, 1.0, p, mc) ? 1 : 0;
  CHECK(spikes > 5);
  CHECK(spikes < 100);
  // A dead node keeps its state.
  double dv = -60, du = -12;
  CHECK_FALSE(k::live_izhikevich_step(dv, du, 30.0, 100.0, 50.0, 1.0, p, mc, false));
  CHECK(dv == -60.0);
  CHECK(du == -12.0);
}

TEST_CASE("neuron models: configuration keys and errors", "[config][models]") {
  // Oscillators and integrators have no model choice.
  CHECK_THROWS_WITH(sgtest::config_of({{"node.oscillator.model", "\"lif_exp\""}}),
                    Catch::Matchers::Contains("node.oscillator.model"));
  CHECK_THROWS_WITH(sgtest::config_of({{"node.integrator.model", "\"izhikevich\""}}),
                    Catch::Matchers::Contains("node.integrator.model"));
  CHECK_THROWS_WITH(sgtest::config_of({{"node.dynamic.model", "\"hodgkin_huxley\""}}),
                    Catch::Matchers::Contains("lif_exp"));
  CHECK_THROWS(sgtest::config_of({{"node.dynamic.tau_syn_ex", "0.0"}}));
  const ModelParams<float> m = make_model_params<float>(sgtest::config_of({{"node.relay.model", "\"izhikevich\""}}));
  const NodeFeatures f = node_features(m);
  CHECK(f.recovery);
  CHECK_FALSE(f.exp_synapses);
  CHECK(m.neuron[static_cast<int>(NodeType::dynamic)].model == k::NeuronModel::lif);
}

namespace {

// 300 nodes in four types: dynamic nodes run lif_exp, relays izhikevich, workspace
// nodes lif, highways lif_exp with other time constants; random edges of every kind
// and delays 1..4 (inhibitory input has its own ring channel).
std::shared_ptr<const Graph> mixed_graph() {
  std::vector<sgtest::E> edges;
  const kernels::RngKey key = kernels::make_key(21, 5);
  for (int e = 0; e < 6000; ++e) {
    const auto r = kernels::draw64(key, static_cast<std::uint32_t>(e), 0);
    edges.push_back(sgtest::E{static_cast<std::int64_t>(r % 300), static_cast<std::int64_t>((r >> 20) % 300),
                              0.25 + static_cast<double>((r >> 40) % 64) / 16.0,
                              1 + static_cast<std::int64_t>((r >> 50) % 4), static_cast<std::int64_t>((r >> 56) % 4)});
  }
  std::vector<std::int64_t> types(300);
  for (std::size_t i = 0; i < types.size(); ++i) {
    types[i] = i < 100 ? 1 : i < 200 ? 4 : i < 250 ? 6 : 5;  // dynamic, relay, workspace, highway
  }
  return sgtest::small_graph(300, edges, types);
}

config::Config mixed_config(const std::string& precision, const std::string& extra = "") {
  return sgtest::config_from(
      "[sim]\ndt = 0.1\nseed = 4\nbackend = 'cpu'\nprecision = '" + precision + "'\n"
      "[init]\nv_min = 0.0\nv_max = 20.0\n"
      "[node.dynamic]\nmodel = 'lif_exp'\ntau_m = 20.0\ntau_syn_ex = 2.0\ntau_syn_in = 5.0\nthreshold = 20.0\n"
      "v_reset = 10.0\nt_ref = 2.0\ndrive = 19.0\npoisson_rate = 4000.0\npoisson_weight = 3.0\n"
      "[node.relay]\nmodel = 'izhikevich'\nv_reset = -65.0\nthreshold = 30.0\ndrive = 6.0\n"
      "poisson_rate = 2000.0\npoisson_weight = 4.0\nizhikevich_a = 0.1\nizhikevich_d = 2.0\n"
      "[node.workspace]\ntau_m = 20.0\nthreshold = 20.0\nv_reset = 10.0\nenergy_coupling = 0.0\ndrive = 19.0\n"
      "poisson_rate = 4000.0\npoisson_weight = 0.5\n"
      "[node.highway]\nmodel = 'lif_exp'\ntau_m = 10.0\ntau_syn_ex = 0.5\ntau_syn_in = 3.0\nthreshold = 20.0\n"
      "v_reset = 10.0\ndrive = 26.0\npoisson_rate = 4000.0\npoisson_weight = -0.05\n" + extra);
}

BackendFactory emulated(gpu::DeliveryPolicy policy) {
  return [policy](const Graph& g, const config::Config& c) -> std::unique_ptr<Backend> {
    if (c.string("sim.precision") == "float64") {
      return std::make_unique<gpu::StepEngine<gpu::HostExec, double>>(g, c, policy, gpu::HostExec::Order::reverse);
    }
    return std::make_unique<gpu::StepEngine<gpu::HostExec, float>>(g, c, policy, gpu::HostExec::Order::reverse);
  };
}

}  // namespace

TEST_CASE("neuron models: mixed types identical on 1 and 2 threads and on the emulated CUDA backend",
          "[models][backend][determinism]") {
  const std::string precision = GENERATE(as<std::string>{}, "float32", "float64");
  const std::string energy = GENERATE(as<std::string>{}, "", "[energy]\nenabled = true\ninitial = 3.0\n");
  INFO(precision << (energy.empty() ? "" : ", energy on"));
  const auto g = mixed_graph();
  const config::Config c = mixed_config(precision, energy);
  auto one = simulation(g, c, cpu_backend(1));
  auto two = simulation(g, c, cpu_backend(2));
  auto sparse = simulation(g, c, emulated(gpu::DeliveryPolicy::sparse));
  auto dense = simulation(g, c, emulated(gpu::DeliveryPolicy::dense));
  for (Simulation* x : {one.get(), two.get(), sparse.get(), dense.get()}) {
    sgtest::stimulus(*x, 30, Stimulus::Kind::input, -40.0, {1, 2, 150, 260});  // the inhibitory channel
    sgtest::stimulus(*x, 31, Stimulus::Kind::input, 25.0, {3, 151, 210});
    x->run_steps(400);
  }
  // Every type is active.
  std::vector<int> per_type(4, 0);
  for (index_t node : one->spikes().nodes) ++per_type[node < 100 ? 0 : node < 200 ? 1 : node < 250 ? 2 : 3];
  INFO("spikes per type " << per_type[0] << " " << per_type[1] << " " << per_type[2] << " " << per_type[3]);
  for (int count : per_type) CHECK(count > 20);
  require_identical(*one, *two);
  require_identical(*one, *sparse);
  require_identical(*one, *dense);
  // Currents and recovery evolve (and are exposed) only where their models run.
  const ArrayRef i_in = one->state("i_syn_in");
  const ArrayRef u = one->state("u");
  CHECK(read_element(i_in, 0) < 0.0);
  CHECK(read_element(i_in, 120) == 0.0);
  CHECK(read_element(u, 120) != 0.0);
  CHECK(read_element(u, 0) == 0.0);
}

TEST_CASE("neuron models: checkpoints carry currents, recovery and both ring channels", "[models][checkpoint]") {
  const auto g = mixed_graph();
  const config::Config c = mixed_config("float32");
  auto straight = simulation(g, c, cpu_backend(1));
  auto first = simulation(g, c, cpu_backend(1));
  straight->run_steps(300);
  first->run_steps(150);
  io::SnapshotWriter out;
  first->save_to(out);
  const auto in = io::SnapshotReader::from_bytes(out.bytes(), "<mixed>");
  // The CPU's checkpoint continued on the emulated CUDA backend and on the CPU.
  auto on_gpu = Simulation::load(in, emulated(gpu::DeliveryPolicy::automatic));
  auto on_cpu = Simulation::load(in, cpu_backend(2));
  for (Simulation* x : {on_gpu.get(), on_cpu.get()}) x->run_steps(150);
  for (Simulation* x : {straight.get(), on_gpu.get(), on_cpu.get()}) x->reset_perf();
  require_identical(*straight, *on_cpu);
  require_identical(*straight, *on_gpu);
  // A checkpoint of a network without these models does not load into one with them.
  Simulation plain(g, sgtest::sim_config());
  io::SnapshotWriter plain_out;
  plain.backend().save_state(plain_out);
  CHECK_THROWS_AS(first->backend().load_state(io::SnapshotReader::from_bytes(plain_out.bytes(), "<plain>")), IoError);
}

TEST_CASE("neuron models: the full model runs them identically on the cpu and emulated cuda backends",
          "[models][backend]") {
  const config::Config c = sgtest::full_model(
      "precision = 'float64'\n[structure]\nenabled = true\ninterval = 40\nspare_nodes = 12\ndeath_energy = 1.5\n"
      "birth_energy = 3.0\n[node.dynamic]\nmodel = 'lif_exp'\n[node.relay]\nmodel = 'izhikevich'\n"
      "v_reset = -65.0\nthreshold = 30.0\ndrive = 5.0\n");
  const auto g = make_default_network(c);
  auto cpu = simulation(g, c, cpu_backend(2));
  auto gpu = simulation(g, c, emulated(gpu::DeliveryPolicy::automatic));
  for (Simulation* x : {cpu.get(), gpu.get()}) x->run_steps(200);
  CHECK(cpu->spikes().size() > 200);
  require_identical(*cpu, *gpu);
  for (const auto& l : cpu->ledger_history()) CHECK(std::abs(l.error()) <= 1e-9 * std::max(1.0, l.total_before));
}
