// GPU test: the shared kernel math gives bit-identical results on the device and
// the host (skipped without a device: see test_main.cpp).
#include <catch2/catch.hpp>

#include <cstring>

#include "kernel_parity.hpp"
#include "spikegraph/kernels/math.hpp"
#include "spikegraph/kernels/neuron.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/sim/model_params.hpp"

using namespace spikegraph;

namespace {
template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}
}  // namespace

TEST_CASE("device and host kernel math are bit-identical", "[kernel-parity]") {
  std::vector<double> x;
  for (int i = -2000; i <= 2000; ++i) x.push_back(i * 0.0371);
  for (double e : {0.0, -0.0, 1e-300, -1e-300, 88.0, -103.0, 709.0, -745.0, 1000.0, -1000.0}) x.push_back(e);
  const auto table = poisson_cdf_table(3.7);
  std::vector<float> v_in, input;
  for (int i = 0; i < 4096; ++i) {
    v_in.push_back(static_cast<float>(i % 97) / 64.0f);
    input.push_back(static_cast<float>(i % 13) * 0.0173f);
  }
  const std::uint64_t seed = 12345, step = 777;
  const auto dev = cuda_check::run_on_device(x, seed, step, table, v_in, input);
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i]);
    CHECK(same_bits(dev.exp_f[i], kernels::exp_det(static_cast<float>(x[i]))));
    CHECK(same_bits(dev.exp_d[i], kernels::exp_det(x[i])));
  }
  const auto key = kernels::make_key(seed, static_cast<std::uint64_t>(kernels::RngStream::poisson_input));
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(dev.draws[i] == kernels::draw64(key, static_cast<std::uint32_t>(i), step));
    CHECK(dev.poisson[i] == kernels::poisson_from_table(kernels::draw_u32(key, static_cast<std::uint32_t>(i), step),
                                                        table.data(), static_cast<int>(table.size())));
  }
  const auto p = cuda_check::parity_neuron_params();
  for (size_t i = 0; i < v_in.size(); ++i) {
    float v = v_in[i];
    std::uint16_t refractory = 0;
    const auto d = kernels::membrane_decay(p, p.energy_cap * 0.5f);
    const bool s = kernels::neuron_step(v, refractory, p.threshold, 0.25f, input[i], p.energy_cap, d, p);
    CHECK(same_bits(dev.v_after[i], v));
    CHECK(dev.spiked[i] == (s ? 1 : 0));
  }
}
