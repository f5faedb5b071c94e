// Translates the C++ error hierarchy one-to-one into the Python exceptions of
// spikegraph.errors (which also derive from ValueError, OSError, RuntimeError).
#include <Python.h>

#include "common.hpp"
#include "spikegraph/core/error.hpp"

namespace spikegraph::bindings {

namespace {
void raise(const char* cls, const char* what) {
  nb::object type = nb::module_::import_("spikegraph.errors").attr(cls);
  PyErr_SetString(type.ptr(), what);
}
}  // namespace

void register_errors(nb::module_&) {
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const ConfigError& e) {
      raise("ConfigError", e.what());
    } catch (const GraphError& e) {
      raise("GraphError", e.what());
    } catch (const InputError& e) {
      raise("InputError", e.what());
    } catch (const IoError& e) {
      raise("IoError", e.what());
    } catch (const BackendError& e) {
      raise("BackendError", e.what());
    } catch (const Error& e) {
      raise("SpikegraphError", e.what());
    }
  });
}

}  // namespace spikegraph::bindings
