// Private: the entry points of the CUDA backend, called by the registry
// (registry.cpp). Defined by cuda/cuda_backend.cu when the CUDA backend is built
// (SPIKEGRAPH_WITH_CUDA), else by no_cuda.cpp: the one place where CUDA's absence is
// handled.
#pragma once

#include <memory>

#include "spikegraph/backend/backend.hpp"

namespace spikegraph {

/// Whether the CUDA backend was compiled in and can run here; `detail` names the
/// device, or why it cannot run ("compiled, no device: <CUDA error> (...)", "not
/// compiled in (...)"). Never throws.
BackendInfo cuda_backend_info();
/// The CUDA backend for `graph` (which must outlive it). Throws BackendError.
std::unique_ptr<Backend> make_cuda_backend(const Graph& graph, const config::Config& cfg);

}  // namespace spikegraph
