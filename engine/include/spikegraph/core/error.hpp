// spikegraph/core/error.hpp
// The error hierarchy. Every failure the library reports is one of these exceptions;
// the library never calls abort() or exit(). Messages start with the operation that
// failed ("Network.from_arrays: weights[17] is NaN"). The Python bindings map each
// class one-to-one onto an exception that also derives from the matching builtin
// (ConfigError/GraphError/InputError -> ValueError, IoError -> OSError,
// BackendError -> RuntimeError).
#pragma once

#include <stdexcept>
#include <string>

namespace spikegraph {

/// Base of every spikegraph exception.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Unknown configuration key, wrong value type, value out of range, malformed TOML.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// Invalid graph data: index out of range, NaN/inf weight, bad delay, length mismatch.
class GraphError : public Error {
 public:
  using Error::Error;
};

/// Invalid runtime input: wrong array shape or dtype, NaN in a state array, bad node id.
class InputError : public Error {
 public:
  using Error::Error;
};

/// File input/output failed: missing file, unreadable or corrupt content.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A backend is unavailable or failed (for example CUDA not compiled in, no device).
class BackendError : public Error {
 public:
  using Error::Error;
};

}  // namespace spikegraph
