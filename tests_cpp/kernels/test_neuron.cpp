// kernels/neuron.hpp and kernels/synapse.hpp: the per-node update and the
// effective synaptic weights, checked against hand-computed values.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

#include "spikegraph/core/error.hpp"
#include "spikegraph/kernels/math.hpp"
#include "spikegraph/kernels/neuron.hpp"
#include "spikegraph/kernels/synapse.hpp"
#include "spikegraph/sim/model_params.hpp"
#include "support/test_util.hpp"

namespace k = spikegraph::kernels;

namespace {

template <class Real>
k::NeuronParams<Real> params(double tau_steps = 10.0, double resistance = 1.0, int t_ref = 2) {
  k::NeuronParams<Real> p{};
  p.v_rest = Real(0);
  p.v_reset = Real(0);
  p.threshold = Real(1);
  p.resistance = static_cast<Real>(resistance);
  p.tau_m_steps = static_cast<Real>(tau_steps);
  p.energy_coupling = Real(0);
  p.decay = static_cast<Real>(std::exp(-1.0 / tau_steps));
  p.drive_gain = static_cast<Real>(resistance * -std::expm1(-1.0 / tau_steps));
  p.spike_energy_min = static_cast<Real>(0.01);
  p.energy_cap = Real(5);
  p.poisson_weight = Real(0);
  p.refractory_steps = t_ref;
  p.leaky = 1;
  return p;
}

}  // namespace

TEMPLATE_TEST_CASE("neuron_step integrates exactly (sub-threshold)", "[kernels][neuron]", float, double) {
  using Real = TestType;
  auto p = params<Real>(10.0, 2.0);
  p.v_rest = Real(-0.25);
  p.threshold = Real(5);
  const auto d = k::membrane_decay(p, Real(5));
  Real v = Real(0.3);
  std::uint16_t refr = 0;
  const bool spiked = k::neuron_step(v, refr, p.threshold, Real(0.5), Real(0.05), Real(5), d, p);
  CHECK_FALSE(spiked);
  CHECK(refr == 0);
  // v <- v_rest + (v - v_rest) a + R drive (1 - a) + I_syn, a = exp(-dt / tau)
  const double a = std::exp(-0.1);
  const double expect = -0.25 + (0.3 + 0.25) * a + 2.0 * 0.5 * (1.0 - a) + 0.05;
  const double tol = sizeof(Real) == 4 ? 4e-7 : 1e-15;
  CHECK(static_cast<double>(v) == Approx(expect).margin(tol));

  // Many steps with constant drive converge to v_rest + R drive exactly as the closed form.
  Real w = Real(0);
  for (int s = 1; s <= 50; ++s) {
    k::neuron_step(w, refr, p.threshold, Real(0.5), Real(0), Real(5), d, p);
    const double closed = -0.25 + (0.0 + 0.25) * std::pow(a, s) + 1.0 * (1.0 - std::pow(a, s));
    INFO("step " << s);
    CHECK(static_cast<double>(w) == Approx(closed).margin(sizeof(Real) == 4 ? 2e-6 : 1e-13));
  }
}

TEMPLATE_TEST_CASE("neuron_step threshold crossing: reset and refractory counter", "[kernels][neuron]", float,
                   double) {
  using Real = TestType;
  auto p = params<Real>(10.0, 1.0, 3);
  p.v_reset = Real(-0.5);
  const auto d = k::membrane_decay(p, Real(5));
  std::uint16_t refr = 0;
  SECTION("just below threshold: no spike") {
    Real v = Real(0);
    CHECK_FALSE(k::neuron_step(v, refr, Real(1), Real(0), std::nextafter(Real(1), Real(0)), Real(5), d, p));
    CHECK(v == std::nextafter(Real(1), Real(0)));
    CHECK(refr == 0);
  }
  SECTION("exactly at threshold: spike (v >= threshold)") {
    Real v = Real(0);
    CHECK(k::neuron_step(v, refr, Real(1), Real(0), Real(1), Real(5), d, p));
    CHECK(v == Real(-0.5));
    CHECK(refr == 3);
  }
  SECTION("the node's own threshold is used, not the type default") {
    Real v = Real(0);
    CHECK_FALSE(k::neuron_step(v, refr, Real(2), Real(0), Real(1.5), Real(5), d, p));
    CHECK(v == Real(1.5));
    CHECK(k::neuron_step(v, refr, Real(1.2), Real(0), Real(0), Real(5), d, p));  // 1.5 a > 1.2
  }
}

TEMPLATE_TEST_CASE("refractory input is discarded for exactly t_ref steps", "[kernels][neuron]", float, double) {
  using Real = TestType;
  for (int t_ref : {0, 1, 2, 5}) {
    auto p = params<Real>(10.0, 1.0, t_ref);
    p.v_reset = Real(-0.5);
    const auto d = k::membrane_decay(p, Real(5));
    Real v = Real(0);
    std::uint16_t refr = 0;
    INFO("t_ref " << t_ref);
    REQUIRE(k::neuron_step(v, refr, Real(1), Real(0), Real(2), Real(5), d, p));  // spike at step 0
    for (int s = 1; s <= t_ref; ++s) {
      INFO("step " << s << " after the spike");
      // big input, still no spike, v pinned at v_reset, counter counts down
      CHECK_FALSE(k::neuron_step(v, refr, Real(1), Real(3), Real(10), Real(5), d, p));
      CHECK(v == Real(-0.5));
      CHECK(refr == t_ref - s);
    }
    // Step t_ref + 1 integrates again.
    const Real in = Real(0.25);
    CHECK_FALSE(k::neuron_step(v, refr, Real(1), Real(0), in, Real(5), d, p));
    CHECK(v == Real(-0.5) * d.a + in);
    CHECK(refr == 0);
  }
}

TEMPLATE_TEST_CASE("energy below spike_energy_min blocks the spike", "[kernels][neuron]", float, double) {
  using Real = TestType;
  auto p = params<Real>();
  p.spike_energy_min = Real(0.25);
  const auto d = k::membrane_decay(p, Real(5));
  Real v = Real(0);
  std::uint16_t refr = 0;
  CHECK_FALSE(k::neuron_step(v, refr, Real(1), Real(0), Real(3), std::nextafter(Real(0.25), Real(0)), d, p));
  CHECK(v == Real(3));  // not reset: integrated but no spike
  CHECK(refr == 0);
  v = Real(0);
  CHECK(k::neuron_step(v, refr, Real(1), Real(0), Real(3), Real(0.25), d, p));  // energy == min spikes
  CHECK(v == Real(0));
  CHECK(refr == 2);
}

TEMPLATE_TEST_CASE("membrane_decay and energy coupling", "[kernels][neuron]", float, double) {
  using Real = TestType;
  auto p = params<Real>(10.0, 2.0);
  SECTION("coupling 0: the precomputed decay for every energy") {
    for (Real e : {Real(0), Real(1), Real(5)}) {
      const auto d = k::membrane_decay(p, e);
      CHECK(d.a == p.decay);
      CHECK(d.drive_gain == p.drive_gain);
    }
  }
  SECTION("coupling 1, full energy: tau_eff = tau_m") {
    p.energy_coupling = Real(1);
    const auto d = k::membrane_decay(p, Real(5));
    CHECK(sgtest::ulp_distance(d.a, static_cast<Real>(std::exp(-0.1))) <= 2);
    CHECK(static_cast<double>(d.drive_gain) == Approx(2.0 * (1 - std::exp(-0.1))).epsilon(1e-5));
  }
  SECTION("coupling 1, half energy: tau_eff = tau_m / 2") {
    p.energy_coupling = Real(1);
    const auto d = k::membrane_decay(p, Real(2.5));
    CHECK(sgtest::ulp_distance(d.a, static_cast<Real>(std::exp(-0.2))) <= 2);
    CHECK(static_cast<double>(d.drive_gain) == Approx(2.0 * (1 - std::exp(-0.2))).epsilon(1e-5));
  }
  SECTION("coupling 0.5, half energy: tau_eff = 0.75 tau_m") {
    p.energy_coupling = Real(0.5);
    const auto d = k::membrane_decay(p, Real(2.5));
    CHECK(sgtest::ulp_distance(d.a, static_cast<Real>(std::exp(-1.0 / 7.5))) <= 2);
  }
  SECTION("coupling 1, no energy: tau_eff = 0 -> a = 0, full drive gain") {
    p.energy_coupling = Real(1);
    const auto d = k::membrane_decay(p, Real(0));
    CHECK(d.a == Real(0));
    CHECK(d.drive_gain == Real(2));
  }
  SECTION("integrator (leaky = 0): decay 1 whatever the coupling") {
    p.leaky = 0;
    p.decay = Real(1);
    p.drive_gain = Real(0);
    p.energy_coupling = Real(1);
    const auto d = k::membrane_decay(p, Real(1));
    CHECK(d.a == Real(1));
    Real v = Real(0.7);
    std::uint16_t refr = 0;
    for (int s = 0; s < 100; ++s) k::neuron_step(v, refr, Real(10), Real(0), Real(0), Real(5), d, p);
    CHECK(v == Real(0.7));  // no leak
  }
}

TEST_CASE("make_model_params turns the configuration into kernel parameters", "[kernels][neuron][config]") {
  const auto cfg = sgtest::config_from(R"(
[sim]
dt = 0.5
[node.dynamic]
tau_m = 20.0
t_ref = 2.4
resistance = 3.0
energy_coupling = 0.25
poisson_rate = 100.0
poisson_weight = 0.2
[node.integrator]
tau_m = 7.0
[node.oscillator]
period = 12.0
[node.relay]
gain = 1.75
[edge]
modulatory_gain = 0.3
gate_energy = 0.7
)");
  const auto m = spikegraph::make_model_params<double>(cfg);
  const auto& dyn = m.neuron[static_cast<int>(spikegraph::NodeType::dynamic)];
  CHECK(dyn.tau_m_steps == Approx(40.0));
  CHECK(dyn.decay == Approx(std::exp(-1.0 / 40.0)).epsilon(1e-15));
  CHECK(dyn.drive_gain == Approx(3.0 * (1.0 - std::exp(-1.0 / 40.0))).epsilon(1e-14));
  CHECK(dyn.refractory_steps == 5);  // 2.4 / 0.5 = 4.8 -> 5
  CHECK(dyn.energy_coupling == 0.25);
  CHECK(dyn.poisson_weight == 0.2);
  CHECK(dyn.leaky == 1);
  // 100 Hz * 0.5 ms = 0.05 spikes per step
  CHECK(m.poisson_rate[static_cast<int>(spikegraph::NodeType::dynamic)] == 100.0);
  CHECK(m.dt_ms == 0.5);
  const auto& integ = m.neuron[static_cast<int>(spikegraph::NodeType::integrator)];
  CHECK(integ.leaky == 0);
  CHECK(integ.decay == 1.0);
  CHECK(integ.energy_coupling == 0.0);
  CHECK(m.oscillator_period[static_cast<int>(spikegraph::NodeType::oscillator)] == 24);
  CHECK(m.oscillator_period[static_cast<int>(spikegraph::NodeType::dynamic)] == 0);
  CHECK(m.ignores_input[static_cast<int>(spikegraph::NodeType::sensory)] == 1);
  CHECK(m.ignores_input[static_cast<int>(spikegraph::NodeType::oscillator)] == 1);
  CHECK(m.ignores_input[static_cast<int>(spikegraph::NodeType::dynamic)] == 0);
  CHECK(m.out_gain[static_cast<int>(spikegraph::NodeType::relay)] == 1.75);
  CHECK(m.out_gain[static_cast<int>(spikegraph::NodeType::dynamic)] == 1.0);
  CHECK(m.synapse.modulatory_gain == 0.3);
  CHECK(m.synapse.gate_energy == 0.7);
  // A Poisson rate that needs > 600 spikes per step is rejected.
  auto too_fast = cfg;
  spikegraph::config::FlatTable ch;
  ch["node.dynamic.poisson_rate"] = spikegraph::config::Value::real(2e6);
  too_fast.update(ch);
  CHECK_THROWS_AS(spikegraph::make_model_params<float>(too_fast), spikegraph::ConfigError);
}

TEMPLATE_TEST_CASE("spike_factors for the four edge kinds", "[kernels][synapse]", float, double) {
  using Real = TestType;
  const k::SynapseParams<Real> sp{Real(0.5), Real(0.5)};
  Real f[4];
  SECTION("gain 1, gate open") {
    k::spike_factors(sp, Real(0.5), Real(1), f);  // energy == gate_energy opens the gate
    CHECK(f[0] == Real(1));
    CHECK(f[1] == Real(-1));
    CHECK(f[2] == Real(0.5));
    CHECK(f[3] == Real(1));
  }
  SECTION("gate closed just below gate_energy") {
    k::spike_factors(sp, std::nextafter(Real(0.5), Real(0)), Real(1), f);
    CHECK(f[0] == Real(1));
    CHECK(f[1] == Real(-1));
    CHECK(f[2] == Real(0.5));
    CHECK(f[3] == Real(0));
  }
  SECTION("relay gain multiplies every kind") {
    k::spike_factors(sp, Real(5), Real(1.5), f);
    CHECK(f[0] == Real(1.5));
    CHECK(f[1] == Real(-1.5));
    CHECK(f[2] == Real(0.75));
    CHECK(f[3] == Real(1.5));
    k::spike_factors(sp, Real(0), Real(1.5), f);
    CHECK(f[3] == Real(0));
  }
  SECTION("modulatory gain is a parameter") {
    const k::SynapseParams<Real> sp2{Real(0.25), Real(2)};
    k::spike_factors(sp2, Real(1.9), Real(1), f);
    CHECK(f[2] == Real(0.25));
    CHECK(f[3] == Real(0));
  }
}
