// Shared declarations of the binding files (conversion helpers only).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <vector>

#include "spikegraph/config/value.hpp"
#include "spikegraph/state/arrays.hpp"

namespace nb = nanobind;

namespace spikegraph::bindings {

void register_errors(nb::module_& m);
void register_config(nb::module_& m);
void register_graph(nb::module_& m);
void register_builder(nb::module_& m);
void register_simulation(nb::module_& m);
void register_checkpoint(nb::module_& m);
void register_audio(nb::module_& m);
void register_analysis(nb::module_& m);
void register_services(nb::module_& m);
void register_dist(nb::module_& m);

/// Python value (bool, int, float, str, list/tuple of these) -> config Value.
config::Value to_value(nb::handle obj, const std::string& key);
/// config Value -> Python object.
nb::object from_value(const config::Value& v);
/// A flat {dotted.key: value} dict as a table of values (ConfigError for non-string keys).
config::FlatTable to_table(const nb::dict& flat);

/// A numpy array viewing host memory owned by `owner` (zero-copy).
nb::object view_array(const ArrayRef& a, nb::handle owner, bool writeable);

/// A numpy array that takes ownership of a vector (moved, zero-copy).
template <class T>
nb::object owned_array(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  size_t shape[1] = {heap->size()};
  return nb::cast(nb::ndarray<nb::numpy, T, nb::ndim<1>>(heap->data(), 1, shape, owner));
}

}  // namespace spikegraph::bindings
