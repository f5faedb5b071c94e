// Host interface of the device-side kernel parity check (cuda/kernel_parity.cu).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/kernels/params.hpp"

namespace spikegraph::cuda_check {

/// Number of CUDA devices usable here (0 without a device or driver; never throws).
int device_count(std::string* why = nullptr);

/// Inputs evaluated on the device by one thread each; outputs are returned.
struct ParityResults {
  std::vector<float> exp_f;            ///< exp_det(float(x))
  std::vector<double> exp_d;           ///< exp_det(x)
  std::vector<std::uint64_t> draws;    ///< draw64(key, i, step)
  std::vector<std::uint32_t> poisson;  ///< poisson_from_table(draw_u32(...), table)
  std::vector<float> v_after;          ///< neuron_step on (v, input) pairs
  std::vector<std::uint8_t> spiked;
};

/// The neuron parameters the device check uses (drive 0.25, energy cap/2 for the decay).
kernels::NeuronParams<float> parity_neuron_params();

/// Runs the shared SG_HD kernel math on the first device. Throws std::runtime_error
/// naming the CUDA call that failed.
ParityResults run_on_device(const std::vector<double>& x, std::uint64_t seed, std::uint64_t step,
                            const std::vector<std::uint32_t>& poisson_table,
                            const std::vector<float>& v_in, const std::vector<float>& input);

}  // namespace spikegraph::cuda_check
