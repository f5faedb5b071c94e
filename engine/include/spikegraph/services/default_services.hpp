// spikegraph/services/default_services.hpp
// The default services the Simulation registers. Embedders may derive from them
// or replace them (Simulation::replace_service).
#pragma once

#include <memory>

#include "spikegraph/services/service.hpp"

namespace spikegraph {

/// "neural": spike delivery (phase delivery) and neuron update (phase
/// neuron_update) on the backend.
std::unique_ptr<Service> make_neural_service();

/// "recording": appends each step's spikes to the spike record (if
/// record.spikes) and samples the monitor (phase recording).
std::unique_ptr<Service> make_recording_service();

}  // namespace spikegraph
