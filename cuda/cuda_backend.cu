// The CUDA backend: StepEngine (step_engine.hpp) on the CUDA executor
// (cuda_exec.cuh), and the registry's entry points (engine/src/backend/cuda_entry.hpp),
// which no_cuda.cpp provides instead when the CUDA backend is not built.
//
// Nothing here runs at static initialisation: CUDA is first called when the registry
// asks for cuda_backend_info() or make_cuda_backend(). The CUDA runtime is linked
// statically and loads the driver (libcuda) on that first call, so a machine without
// a GPU or driver imports spikegraph and reports cuda as "compiled, no device".
#include <cuda_runtime.h>

#include <cstdio>
#include <memory>
#include <string>

#include "backend/cuda_entry.hpp"
#include "cuda_backend.hpp"
#include "cuda_exec.cuh"
#include "spikegraph/config/schema.hpp"
#include "step_engine.hpp"

#ifndef SPIKEGRAPH_CUDA_ARCHITECTURES
#define SPIKEGRAPH_CUDA_ARCHITECTURES "unknown"
#endif

namespace spikegraph {

namespace gpu {

namespace {

/// The oldest compute capability this build has code for (the PTX target).
constexpr int kMinMajor = 7, kMinMinor = 5;

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

std::string build_text(const DeviceReport& r) {
  return "SPIKEGRAPH_CUDA build: CUDA " + version_text(r.runtime_version) +
         " runtime (static), code for " SPIKEGRAPH_CUDA_ARCHITECTURES;
}

}  // namespace

DeviceReport device_report() {
  DeviceReport r;
  cudaRuntimeGetVersion(&r.runtime_version);
  cudaDriverGetVersion(&r.driver_version);  // 0 without a driver
  const cudaError_t err = cudaGetDeviceCount(&r.count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    r.count = 0;
    r.error = cudaGetErrorString(err);
    return r;
  }
  if (r.count == 0) {
    r.error = "no CUDA device";
    return r;
  }
  cudaDeviceProp prop{};
  const cudaError_t perr = cudaGetDeviceProperties(&prop, 0);
  if (perr != cudaSuccess) {
    cudaGetLastError();
    r.error = cudaGetErrorString(perr);
    return r;
  }
  r.name = prop.name;
  r.major = prop.major;
  r.minor = prop.minor;
  r.memory_bytes = prop.totalGlobalMem;
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0) == cudaSuccess) {
    r.peak_bandwidth_gbps = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;  // double data rate
  }
  cudaGetLastError();
  if (r.major < kMinMajor || (r.major == kMinMajor && r.minor < kMinMinor)) {
    r.error = "compute capability " + std::to_string(r.major) + "." + std::to_string(r.minor) +
              " is older than 7.5, the oldest this build has code for";
    return r;
  }
  r.usable = true;
  return r;
}

std::unique_ptr<Backend> make_cuda_engine(const Graph& graph, const config::Config& cfg, DeliveryPolicy policy) {
  if (cfg.string("sim.precision") == "float64") {
    return std::make_unique<StepEngine<CudaExec, double>>(graph, cfg, policy, 0);
  }
  return std::make_unique<StepEngine<CudaExec, float>>(graph, cfg, policy, 0);
}

}  // namespace gpu

BackendInfo cuda_backend_info() {
  const gpu::DeviceReport r = gpu::device_report();
  BackendInfo info;
  info.name = "cuda";
  info.compiled = true;
  info.available = r.usable;
  if (!r.usable) {
    info.detail = "compiled, no device: " + r.error + " (" + gpu::build_text(r) +
                  "; needs a GPU of compute capability >= 7.5 and its driver)";
    return info;
  }
  char peak[64];
  std::snprintf(peak, sizeof peak, "peak %.0f GB/s", r.peak_bandwidth_gbps);
  info.detail = r.name + " (sm_" + std::to_string(r.major) + std::to_string(r.minor) + ", " +
                gpu::mebibytes(r.memory_bytes) + ", " + peak + "; " + std::to_string(r.count) +
                (r.count == 1 ? " device" : " devices") + ", driver " + gpu::version_text(r.driver_version) + "; " +
                gpu::build_text(r) + ")";
  return info;
}

std::unique_ptr<Backend> make_cuda_backend(const Graph& graph, const config::Config& cfg) {
  return gpu::make_cuda_engine(graph, cfg, gpu::DeliveryPolicy::automatic);
}

}  // namespace spikegraph
