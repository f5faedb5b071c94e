// Services written in Python (spikegraph.Simulation.replace_service): a C++ Service
// whose run() calls a Python callable once per phase per step, holding the GIL only
// for that call (the step itself runs without it). The callable works on zero-copy
// numpy views of the state table; an exception it raises ends the run after the
// step completes (Simulation::run_steps) and reaches the caller unchanged.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/services/service.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph::bindings {

namespace {

Phase parse_phase(const std::string& name) {
  for (int p = 0; p < static_cast<int>(Phase::count); ++p) {
    if (name == phase_name(static_cast<Phase>(p))) return static_cast<Phase>(p);
  }
  std::string all;
  for (int p = 0; p < static_cast<int>(Phase::count); ++p) {
    all += (all.empty() ? "" : ", ") + std::string(phase_name(static_cast<Phase>(p)));
  }
  throw InputError("replace_service: unknown phase '" + name + "' (phases: " + all + ")");
}

// Holds the callable weakly: the Python wrapper of the simulation owns it, so that a
// cycle through it (a service whose module refers to the simulation) stays visible to
// Python's garbage collector instead of passing through C++.
class PythonService final : public Service {
 public:
  PythonService(std::string name, std::vector<Phase> phases, nb::handle call)
      : name_(std::move(name)), phases_(std::move(phases)), call_(nb::weakref(call)) {}
  ~PythonService() override {
    nb::gil_scoped_acquire gil;  // the simulation may be destroyed from a thread without it
    call_.reset();
  }
  std::string name() const override { return name_; }
  std::vector<Phase> phases() const override { return phases_; }
  void run(Phase phase, StepContext& ctx) override {
    nb::gil_scoped_acquire gil;
    nb::object call = call_();
    if (call.is_none()) throw BackendError("service '" + name_ + "': its Python callable no longer exists");
    // This step's spikes (ascending ids; empty before the neuron update), as a copy.
    call(phase_name(phase), ctx.step, owned_array(std::vector<index_t>(ctx.backend.spikes())));
  }

 private:
  std::string name_;
  std::vector<Phase> phases_;
  nb::weakref call_;
};

}  // namespace

void register_services(nb::module_& m) {
  m.def("replace_service_python", [](Simulation& sim, const std::string& name, const std::vector<std::string>& phases,
                                     nb::object call) {
    if (name.empty()) throw InputError("replace_service: the service needs a name");
    if (!nb::hasattr(call, "__call__")) throw InputError("replace_service: the service must be callable");
    std::vector<Phase> parsed;
    for (const auto& p : phases) parsed.push_back(parse_phase(p));
    sim.replace_service(std::make_unique<PythonService>(name, std::move(parsed), call));
  }, nb::arg("simulation"), nb::arg("name"), nb::arg("phases"), nb::arg("call"),
     "Register call(phase, step, spikes) as the service `name` (replacing the engine's, if any). The "
     "simulation keeps only a weak reference: the caller keeps `call` alive.");
  m.def("service_phases", [](const Simulation& sim, const std::string& name) {
    std::vector<std::string> out;
    for (Phase p : sim.service_phases(name)) out.emplace_back(phase_name(p));
    return out;
  }, nb::arg("simulation"), nb::arg("name"), "The phases the service `name` runs in.");
}

}  // namespace spikegraph::bindings
