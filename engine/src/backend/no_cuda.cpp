// Built when the CUDA backend is not part of this build (SPIKEGRAPH_CUDA=OFF, or
// AUTO without nvcc, or until the CUDA backend exists): the registry reports
// cuda as unavailable and asking for it is an error naming the build option.
#include "cuda_entry.hpp"
#include "spikegraph/core/error.hpp"

namespace spikegraph {

BackendInfo cuda_backend_info() {
  BackendInfo info;
  info.name = "cuda";
  info.compiled = false;
  info.available = false;
  info.detail = "not compiled in (the CUDA backend is not part of this build; see SPIKEGRAPH_CUDA)";
  return info;
}

std::unique_ptr<Backend> make_cuda_backend(const Graph&, const config::Config&) {
  throw BackendError("make_backend: backend 'cuda' is " + cuda_backend_info().detail);
}

}  // namespace spikegraph
