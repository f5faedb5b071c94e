// Main of the device tests (spikegraph_cuda_tests): exits with code 4, which ctest
// reports as skipped, when no usable CUDA device is present; else runs Catch2.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <iostream>

#include "backend/cuda_entry.hpp"

int main(int argc, char** argv) {
  const spikegraph::BackendInfo info = spikegraph::cuda_backend_info();
  if (!info.available) {
    std::cout << "cuda backend unavailable (" << info.detail << "): GPU tests skipped\n";
    return 4;
  }
  std::cout << "cuda backend: " << info.detail << "\n";
  return Catch::Session().run(argc, argv);
}
