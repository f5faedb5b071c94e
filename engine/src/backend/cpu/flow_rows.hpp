// Private: the energy flow's row sums for float state, with an AVX-512 version
// picked at run time when the CPU has it. Both give exactly the result of
// kernels::flow_out_row / kernels::flow_in_row (same lanes, same tree), so the
// choice never changes a result; tests_cpp/backend/test_flow_rows.cpp checks it.
#pragma once

#include <cstdint>

#include "spikegraph/kernels/energy.hpp"

namespace spikegraph::cpu {

struct FlowRowFunctions {
  /// kernels::flow_out_row for float.
  void (*out_row)(const std::uint32_t* targets, const float* weights, const std::uint8_t* carries, std::uint32_t count,
                  const float* energy, float source_energy, float& weight_sum, float& drop_sum);
  /// kernels::flow_in_row for float.
  float (*in_row)(const std::uint32_t* sources, const float* flow_weights, std::uint32_t count,
                  const kernels::FlowSource<float>* source_state, float target_energy);
  const char* name;  ///< "avx512" or "scalar"
};

/// The scalar reference (the kernels' functions).
const FlowRowFunctions& scalar_flow_rows();
/// The AVX-512 rows when this CPU runs them, else nullptr.
const FlowRowFunctions* avx512_flow_rows();
/// The fastest available.
const FlowRowFunctions& best_flow_rows();

}  // namespace spikegraph::cpu
