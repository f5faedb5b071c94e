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

/// "energy": spike cost, metabolism, flow every energy.flow_interval steps, clamp
/// and the conservation ledger (phase energy). Registered when energy.enabled.
std::unique_ptr<Service> make_energy_service();

/// "learning": STDP / eligibility on plastic edges (phase learning). Registered
/// when learning.enabled.
std::unique_ptr<Service> make_learning_service();

/// "homeostasis": rate estimates every step; every homeostasis.interval steps the
/// thresholds of dynamic nodes and the branching-ratio control of the synaptic
/// gain (phase homeostasis). Registered when homeostasis.enabled.
std::unique_ptr<Service> make_homeostasis_service();

/// "events": applies the scheduled stimuli of each step (phase delivery, after the
/// neural service) and fills the event batch subscribers receive: spikes (phase
/// recording, only while someone subscribes) and homeostasis windows.
std::unique_ptr<Service> make_events_service();

/// "structure": docs/model.md step 7 every structure.interval steps: deaths of dynamic
/// nodes that starved for a whole interval, births into spare node slots, pruning of
/// weak plastic edges, then compaction of the graph. Births and deaths go into the
/// energy ledger (transfers, metabolism) and the event batch. Registered when
/// structure.enabled.
std::unique_ptr<Service> make_structure_service();

/// "sensory": docs/model.md step 1 (phase sensory): frames given with set_frame, or the
/// built-in moving grating every sensory.interval steps (sensory.source), set the
/// drive and energy of the sensory nodes; the energy change is the ledger's inflow.
/// Registered when the graph has sensory nodes.
std::unique_ptr<Service> make_sensory_service();

/// "metrics": every metrics.interval ms (phase recording) appends a MetricsSample
/// (sim/metrics.hpp) to the history: activity and energy metrics, and with
/// metrics.structure the validation report and the structure metrics. Registered
/// when metrics.interval > 0.
std::unique_ptr<Service> make_metrics_service();

}  // namespace spikegraph
