// Private: one rank's exception as a class code and a message, so that agree() can
// throw an error of the same class on every other rank.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "spikegraph/core/error.hpp"

namespace spikegraph::dist {

enum class FailureClass : int { none = 0, config, graph, input, io, backend, other };

inline std::pair<FailureClass, std::string> describe_failure(const std::exception_ptr& failure) {
  if (!failure) return {FailureClass::none, ""};
  try {
    std::rethrow_exception(failure);
  } catch (const ConfigError& e) {
    return {FailureClass::config, e.what()};
  } catch (const GraphError& e) {
    return {FailureClass::graph, e.what()};
  } catch (const InputError& e) {
    return {FailureClass::input, e.what()};
  } catch (const IoError& e) {
    return {FailureClass::io, e.what()};
  } catch (const BackendError& e) {
    return {FailureClass::backend, e.what()};
  } catch (const std::exception& e) {
    return {FailureClass::other, e.what()};
  } catch (...) {
    return {FailureClass::other, "unknown exception"};
  }
}

/// Throws, on a rank that did not fail, the error rank `rank` reported.
[[noreturn]] inline void throw_remote_failure(FailureClass c, int rank, const std::string& message) {
  const std::string what = "rank " + std::to_string(rank) + " failed: " + message;
  switch (c) {
    case FailureClass::config: throw ConfigError(what);
    case FailureClass::graph: throw GraphError(what);
    case FailureClass::input: throw InputError(what);
    case FailureClass::io: throw IoError(what);
    default: throw BackendError(what);
  }
}

}  // namespace spikegraph::dist
