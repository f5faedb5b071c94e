// Private: the entry points of the CUDA backend. Implemented by cuda/ when the
// CUDA backend is compiled in, else by no_cuda.cpp (the one place where CUDA's
// absence is handled).
#pragma once

#include <memory>

#include "spikegraph/backend/backend.hpp"

namespace spikegraph {

BackendInfo cuda_backend_info();
std::unique_ptr<Backend> make_cuda_backend(const Graph& graph, const config::Config& cfg);

}  // namespace spikegraph
