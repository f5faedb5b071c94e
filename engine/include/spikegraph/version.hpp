// spikegraph/version.hpp
// Version and build information of the engine library.
#pragma once

#include <string>
#include <vector>

namespace spikegraph {

/// "MAJOR.MINOR.PATCH".
const char* version();

/// What was compiled in and what runs here, as key/value lines: version,
/// compiler, build type, thread scheme, SIMD flags, floating-point contraction policy,
/// and each backend with its availability.
std::vector<std::pair<std::string, std::string>> build_info();

}  // namespace spikegraph
