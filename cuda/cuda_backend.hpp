// Private (CUDA backend): entry points beyond the registry's (cuda_entry.hpp), for the
// tests and the benchmark: a backend with a forced delivery path, and what the device
// is. Defined in cuda_backend.cu; compiled into the engine library only when the CUDA
// backend is built (SPIKEGRAPH_WITH_CUDA).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "delivery_plan.hpp"
#include "spikegraph/backend/backend.hpp"

namespace spikegraph::gpu {

/// The CUDA backend on device 0 with the given delivery policy (make_backend("cuda")
/// uses DeliveryPolicy::automatic). Throws BackendError when CUDA fails.
std::unique_ptr<Backend> make_cuda_engine(const Graph& graph, const config::Config& cfg, DeliveryPolicy policy);

/// What cudaGetDeviceCount and the first device's attributes say.
struct DeviceReport {
  bool usable = false;       ///< a device this build can run on
  std::string error;         ///< why not (CUDA's error text, or the reason)
  std::string name;          ///< e.g. "NVIDIA H100 80GB HBM3"
  int major = 0, minor = 0;  ///< compute capability
  int count = 0;             ///< devices visible
  std::size_t memory_bytes = 0;
  double peak_bandwidth_gbps = 0.0;  ///< 2 x memory clock x bus width (GB/s)
  int driver_version = 0;    ///< e.g. 12080 (0 without a driver)
  int runtime_version = 0;   ///< the statically linked runtime, e.g. 13000
};

/// Never throws; calls into CUDA only when called (never at static initialisation).
DeviceReport device_report();

}  // namespace spikegraph::gpu
