// Built when the CUDA backend is not part of this build (SPIKEGRAPH_CUDA=OFF, or AUTO
// without a CUDA compiler; see cuda/detect.cmake): the registry reports cuda as not
// compiled in, and asking for it is an error naming the build option. When the CUDA
// backend is built, cuda/cuda_backend.cu defines these two functions instead.
#include "cuda_entry.hpp"
#include "spikegraph/core/error.hpp"

namespace spikegraph {

BackendInfo cuda_backend_info() {
  BackendInfo info;
  info.name = "cuda";
  info.compiled = false;
  info.available = false;
  info.detail = "not compiled in (build with a CUDA compiler and SPIKEGRAPH_CUDA=AUTO or ON)";
  return info;
}

std::unique_ptr<Backend> make_cuda_backend(const Graph&, const config::Config&) {
  throw BackendError("make_backend: backend 'cuda' is " + cuda_backend_info().detail);
}

}  // namespace spikegraph
