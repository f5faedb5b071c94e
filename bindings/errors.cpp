// Maps the C++ error hierarchy one-to-one onto Python exceptions that also
// derive from the matching builtin, e.g. ConfigError(SpikegraphError, ValueError).
#include <Python.h>

#include "common.hpp"
#include "spikegraph/core/error.hpp"

namespace spikegraph::bindings {

namespace {
PyObject* g_base = nullptr;
PyObject* g_config = nullptr;
PyObject* g_graph = nullptr;
PyObject* g_input = nullptr;
PyObject* g_io = nullptr;
PyObject* g_backend = nullptr;

PyObject* make(nb::module_& m, const char* name, PyObject* builtin, const char* doc) {
  nb::object bases = builtin ? nb::make_tuple(nb::handle(g_base), nb::handle(builtin))
                             : nb::make_tuple(nb::handle(PyExc_Exception));
  std::string qual = std::string("spikegraph.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qual.c_str(), doc, bases.ptr(), nullptr);
  if (!cls) throw nb::python_error();
  m.attr(name) = nb::handle(cls);
  return cls;
}
}  // namespace

void register_errors(nb::module_& m) {
  g_base = make(m, "SpikegraphError", nullptr, "Base of every spikegraph error.");
  g_config = make(m, "ConfigError", PyExc_ValueError, "Unknown configuration key, bad value or malformed TOML.");
  g_graph = make(m, "GraphError", PyExc_ValueError, "Invalid graph data (index range, weights, delays, lengths).");
  g_input = make(m, "InputError", PyExc_ValueError, "Invalid runtime input (array shape, dtype, NaN, names).");
  g_io = make(m, "IoError", PyExc_OSError, "A file could not be read or written, or is corrupt.");
  g_backend = make(m, "BackendError", PyExc_RuntimeError, "A backend is unavailable or failed.");
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const ConfigError& e) {
      PyErr_SetString(g_config, e.what());
    } catch (const GraphError& e) {
      PyErr_SetString(g_graph, e.what());
    } catch (const InputError& e) {
      PyErr_SetString(g_input, e.what());
    } catch (const IoError& e) {
      PyErr_SetString(g_io, e.what());
    } catch (const BackendError& e) {
      PyErr_SetString(g_backend, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_base, e.what());
    }
  });
}

}  // namespace spikegraph::bindings
