// kernels/energy.hpp and kernels/learning.hpp: the scalar rules of docs/model.md steps
// 4-6 (spike cost, metabolism, flow, clamp; STDP amplitudes, energy modulation,
// weight bounds; rate estimate and threshold adaptation), against hand-computed values.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "spikegraph/kernels/energy.hpp"
#include "spikegraph/kernels/learning.hpp"

namespace k = spikegraph::kernels;

namespace {

template <class Real>
k::EnergyParams<Real> energy_params(double cap = 5.0, double frac = 0.1, double cost_max = 0.1,
                                    double tau_steps = 1000.0, double conductance = 0.01) {
  k::EnergyParams<Real> p{};
  p.cap = static_cast<Real>(cap);
  p.cost_frac = static_cast<Real>(frac);
  p.cost_max = static_cast<Real>(cost_max);
  p.metabolic_decay = static_cast<Real>(std::exp(-1.0 / tau_steps));
  p.conductance = static_cast<Real>(conductance);
  return p;
}

template <class Real>
k::LearningParams<Real> learning_params(bool modulation) {
  k::LearningParams<Real> p{};
  p.decay_plus = static_cast<Real>(std::exp(-1.0 / 20.0));
  p.decay_minus = static_cast<Real>(std::exp(-1.0 / 30.0));
  p.a_plus = static_cast<Real>(0.02);
  p.a_minus = static_cast<Real>(0.015);
  p.cap = Real(5);
  p.w_min = static_cast<Real>(0.1);
  p.w_max = Real(2);
  p.decay_eligibility = static_cast<Real>(std::exp(-1.0 / 200.0));
  p.rate = Real(1);
  p.energy_modulation = modulation ? 1 : 0;
  return p;
}

template <class Real>
k::HomeostasisParams<Real> homeostasis_params(double dt = 1.0, double tau_rate = 100.0) {
  k::HomeostasisParams<Real> p{};
  p.rate_decay = static_cast<Real>(std::exp(-dt / tau_rate));
  p.spike_rate = static_cast<Real>(1000.0 / dt);
  p.eta = static_cast<Real>(0.01);
  p.target_branching = Real(1);
  p.gain_step = static_cast<Real>(0.01);
  return p;
}

template <class Real>
double eps() {
  return sizeof(Real) == 4 ? 1e-6 : 1e-14;
}

}  // namespace

TEMPLATE_TEST_CASE("spend_energy: a spike costs min(frac * E, max), then metabolism", "[kernels][energy]",
                   float, double) {
  using Real = TestType;
  const auto p = energy_params<Real>(5.0, 0.1, 0.1, 1000.0);
  const double decay = std::exp(-1.0 / 1000.0);
  struct Case {
    double e;
    bool spiked;
    double cost;
  };
  // frac * E below the maximum, above it, exactly at it, no spike, zero energy.
  for (const Case c : {Case{0.5, true, 0.05}, Case{4.0, true, 0.1}, Case{1.0, true, 0.1}, Case{3.0, false, 0.0},
                       Case{0.0, true, 0.0}}) {
    Real cost = Real(0.25), metabolism = Real(0.5);  // accumulators: the kernel adds to them
    const Real out = k::spend_energy(p, static_cast<Real>(c.e), c.spiked, cost, metabolism);
    INFO("E = " << c.e << ", spiked = " << c.spiked);
    const double after_cost = c.e - c.cost;
    CHECK(static_cast<double>(cost) == Approx(0.25 + c.cost).epsilon(eps<Real>()));
    CHECK(static_cast<double>(out) == Approx(after_cost * decay).epsilon(eps<Real>()).margin(1e-30));
    CHECK(static_cast<double>(metabolism) ==
          Approx(0.5 + after_cost * (1.0 - decay)).epsilon(eps<Real>()));
    // What was paid and what metabolism took add up to the energy that left the node.
    CHECK(static_cast<double>((cost - Real(0.25)) + (metabolism - Real(0.5)) + out) ==
          Approx(c.e).epsilon(eps<Real>()).margin(1e-30));
  }
}

TEMPLATE_TEST_CASE("spend_energy: spike_cost_max and spike_cost_frac bound the cost", "[kernels][energy]", float,
                   double) {
  using Real = TestType;
  const auto p = energy_params<Real>(5.0, 0.5, 0.3, 1e300);  // no metabolism
  Real cost = 0, metabolism = 0;
  CHECK(static_cast<double>(k::spend_energy(p, Real(0.4), true, cost, metabolism)) ==
        Approx(0.2).epsilon(eps<Real>()));
  CHECK(static_cast<double>(cost) == Approx(0.2).epsilon(eps<Real>()));
  cost = 0;
  CHECK(static_cast<double>(k::spend_energy(p, Real(2.0), true, cost, metabolism)) ==
        Approx(1.7).epsilon(eps<Real>()));
  CHECK(static_cast<double>(cost) == Approx(0.3).epsilon(eps<Real>()));
  // frac = 1 never takes more than the node has.
  const auto all = energy_params<Real>(5.0, 1.0, 10.0, 1e300);
  cost = 0;
  CHECK(static_cast<double>(k::spend_energy(all, Real(0.7), true, cost, metabolism)) == Approx(0.0).margin(1e-12));
  CHECK(static_cast<double>(cost) == Approx(0.7).epsilon(eps<Real>()));
}

TEMPLATE_TEST_CASE("flow_scale: conductance * c_s / W_s, doubled for highways, 0 without weight",
                   "[kernels][energy]", float, double) {
  using Real = TestType;
  const auto p = energy_params<Real>(5.0, 0.1, 0.1, 1000.0, 0.2);
  CHECK(static_cast<double>(k::flow_scale(p, Real(4), Real(1))) == Approx(0.05).epsilon(eps<Real>()));
  CHECK(static_cast<double>(k::flow_scale(p, Real(4), Real(2))) == Approx(0.1).epsilon(eps<Real>()));
  CHECK(k::flow_scale(p, Real(0), Real(1)) == Real(0));
  CHECK(k::flow_scale(p, Real(0), Real(2)) == Real(0));
  CHECK(k::flow_scale(p, Real(-1), Real(2)) == Real(0));
  CHECK(k::flow_scale(p, std::numeric_limits<Real>::quiet_NaN(), Real(1)) == Real(0));
}

TEMPLATE_TEST_CASE("edge_flow: scale * w * max(E_s - E_j, 0)", "[kernels][energy]", float, double) {
  using Real = TestType;
  CHECK(static_cast<double>(k::edge_flow(Real(0.05), Real(2), Real(4), Real(1))) == Approx(0.3).epsilon(eps<Real>()));
  CHECK(k::edge_flow(Real(0.05), Real(2), Real(1), Real(4)) == Real(0));  // uphill: nothing
  CHECK(k::edge_flow(Real(0.05), Real(2), Real(3), Real(3)) == Real(0));  // equal: nothing
  CHECK(k::edge_flow(Real(0), Real(2), Real(4), Real(1)) == Real(0));
  // The whole out-flow of a source with conductance 0.5 and highway doubling never
  // exceeds its energy (every target at 0): sum_e scale * w_e * E_s = c * 2 * E_s.
  const auto p = energy_params<Real>(5.0, 0.1, 0.1, 1000.0, 0.5);
  const Real w[3] = {Real(0.3), Real(1.1), Real(2.6)};
  const Real scale = k::flow_scale(p, w[0] + w[1] + w[2], Real(2));
  Real out = 0;
  for (Real x : w) out += k::edge_flow(scale, x, Real(3), Real(0));
  CHECK(static_cast<double>(out) == Approx(3.0).epsilon(eps<Real>()));
}

TEMPLATE_TEST_CASE("clamp_energy: to [0, cap], what is removed counts as overflow", "[kernels][energy]", float,
                   double) {
  using Real = TestType;
  const auto p = energy_params<Real>(5.0);
  Real overflow = Real(1);
  CHECK(k::clamp_energy(p, Real(7.5), overflow) == Real(5));
  CHECK(static_cast<double>(overflow) == Approx(3.5).epsilon(eps<Real>()));
  CHECK(k::clamp_energy(p, Real(2.5), overflow) == Real(2.5));
  CHECK(static_cast<double>(overflow) == Approx(3.5).epsilon(eps<Real>()));
  CHECK(k::clamp_energy(p, Real(-0.5), overflow) == Real(0));  // below 0: negative overflow
  CHECK(static_cast<double>(overflow) == Approx(3.0).epsilon(eps<Real>()));
  CHECK(k::clamp_energy(p, Real(5), overflow) == Real(5));
  CHECK(k::clamp_energy(p, Real(0), overflow) == Real(0));
  CHECK(static_cast<double>(overflow) == Approx(3.0).epsilon(eps<Real>()));
}

TEMPLATE_TEST_CASE("energy_modulation: m = 0.3 + 1.2 min((E_i + E_j) / (2 cap), 1), or 1", "[kernels][learning]",
                   float, double) {
  using Real = TestType;
  const auto on = learning_params<Real>(true);
  const auto off = learning_params<Real>(false);
  CHECK(static_cast<double>(k::energy_modulation(on, Real(1), Real(2))) == Approx(0.3 + 1.2 * 0.3).epsilon(eps<Real>()));
  CHECK(static_cast<double>(k::energy_modulation(on, Real(0), Real(0))) == Approx(0.3).epsilon(eps<Real>()));
  CHECK(static_cast<double>(k::energy_modulation(on, Real(5), Real(5))) == Approx(1.5).epsilon(eps<Real>()));
  CHECK(static_cast<double>(k::energy_modulation(on, Real(5), Real(9))) == Approx(1.5).epsilon(eps<Real>()));
  CHECK(static_cast<double>(k::energy_modulation(on, Real(4.5), Real(5))) ==
        Approx(0.3 + 1.2 * 0.95).epsilon(eps<Real>()));
  CHECK(k::energy_modulation(off, Real(1), Real(2)) == Real(1));
  CHECK(k::energy_modulation(off, Real(0), Real(0)) == Real(1));
}

TEMPLATE_TEST_CASE("depression, potentiation and the weight bounds", "[kernels][learning]", float, double) {
  using Real = TestType;
  const auto p = learning_params<Real>(true);
  CHECK(static_cast<double>(k::depression(p, Real(0.5), Real(1.2))) == Approx(-0.015 * 0.5 * 1.2).epsilon(eps<Real>()));
  CHECK(static_cast<double>(k::potentiation(p, Real(0.5), Real(1.2))) == Approx(0.02 * 0.5 * 1.2).epsilon(eps<Real>()));
  CHECK(k::depression(p, Real(0), Real(1.2)) == Real(0));
  CHECK(k::potentiation(p, Real(0), Real(1.2)) == Real(0));
  CHECK(k::clamp_weight(p, Real(3)) == Real(2));
  CHECK(k::clamp_weight(p, Real(0.05)) == static_cast<Real>(0.1));
  CHECK(k::clamp_weight(p, Real(-1)) == static_cast<Real>(0.1));
  CHECK(k::clamp_weight(p, Real(1.25)) == Real(1.25));
}

TEMPLATE_TEST_CASE("update_rate: the running rate of a regular spike train converges to its rate in Hz",
                   "[kernels][homeostasis]", float, double) {
  using Real = TestType;
  const auto p = homeostasis_params<Real>(0.5, 50.0);  // dt 0.5 ms, tau_rate 50 ms
  // One spike every 8 steps of 0.5 ms: 250 Hz.
  Real r = 0;
  double mean = 0.0;
  const int period = 8, steps = 8000;
  for (int t = 0; t < steps; ++t) {
    r = k::update_rate(p, r, t % period == 0);
    if (t >= steps - period) mean += static_cast<double>(r) / period;
  }
  CHECK(mean == Approx(250.0).epsilon(1e-4));
  // Silence decays by exp(-dt / tau_rate) per step.
  const Real before = r;
  const Real after = k::update_rate(p, r, false);
  CHECK(static_cast<double>(after) == Approx(static_cast<double>(before) * std::exp(-0.5 / 50.0)).epsilon(eps<Real>()));
  // One spike from rest adds (1000 / dt) (1 - decay).
  CHECK(static_cast<double>(k::update_rate(p, Real(0), true)) ==
        Approx(2000.0 * (1.0 - std::exp(-0.5 / 50.0))).epsilon(eps<Real>()));
}

TEMPLATE_TEST_CASE("adapt_threshold: eta * (rate - target) / target, clamped", "[kernels][homeostasis]", float,
                   double) {
  using Real = TestType;
  const auto p = homeostasis_params<Real>();
  const Real lo = Real(0.2), hi = Real(20);
  CHECK(static_cast<double>(k::adapt_threshold(p, Real(2), Real(15), Real(5), lo, hi)) ==
        Approx(2.0 + 0.01 * 2.0).epsilon(eps<Real>()));  // above target: up
  CHECK(static_cast<double>(k::adapt_threshold(p, Real(2), Real(0), Real(5), lo, hi)) ==
        Approx(2.0 - 0.01).epsilon(eps<Real>()));  // silent: down by eta
  CHECK(k::adapt_threshold(p, Real(2), Real(5), Real(5), lo, hi) == Real(2));  // at target: unchanged
  CHECK(k::adapt_threshold(p, Real(19.99), Real(1e5), Real(5), lo, hi) == hi);
  CHECK(k::adapt_threshold(p, Real(0.205), Real(0), Real(5), lo, hi) == lo);
}
