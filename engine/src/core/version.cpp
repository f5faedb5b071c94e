#include "spikegraph/version.hpp"

#include <string>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/dist/communicator.hpp"

#ifndef SPIKEGRAPH_VERSION
#define SPIKEGRAPH_VERSION "0.0.0"
#endif
#ifndef SPIKEGRAPH_BUILD_TYPE
#define SPIKEGRAPH_BUILD_TYPE "unknown"
#endif
#ifndef SPIKEGRAPH_NATIVE_ARCH
#define SPIKEGRAPH_NATIVE_ARCH 0
#endif

namespace spikegraph {

const char* version() { return SPIKEGRAPH_VERSION; }

std::vector<std::pair<std::string, std::string>> build_info() {
  std::vector<std::pair<std::string, std::string>> info;
  info.emplace_back("version", SPIKEGRAPH_VERSION);
#if defined(__clang__)
  info.emplace_back("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  info.emplace_back("compiler", std::string("gcc ") + __VERSION__);
#else
  info.emplace_back("compiler", "unknown");
#endif
  info.emplace_back("build_type", SPIKEGRAPH_BUILD_TYPE);
  info.emplace_back("threads", "own pool (parts claimed by running threads, spin then sleep)");
  info.emplace_back("native_arch", SPIKEGRAPH_NATIVE_ARCH ? "on" : "off");
  std::string simd;
#if defined(__AVX512F__)
  simd = "avx512f";
#elif defined(__AVX2__)
  simd = "avx2";
#elif defined(__SSE2__)
  simd = "sse2";
#elif defined(__ARM_NEON)
  simd = "neon";
#else
  simd = "none";
#endif
  info.emplace_back("simd", simd);
  info.emplace_back("fp_contract", "off");
  for (const auto& b : available_backends()) {
    info.emplace_back("backend." + b.name,
                      std::string(b.available ? "available" : (b.compiled ? "compiled, unavailable" : "unavailable")) +
                          " (" + b.detail + ")");
  }
  info.emplace_back("mpi", dist::mpi_compiled() ? dist::mpi_library_version() : "not built in (SPIKEGRAPH_MPI=OFF or no MPI found)");
  return info;
}

}  // namespace spikegraph
