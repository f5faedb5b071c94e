#include "spikegraph/config/schema.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/core/types.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph::config {

namespace {

using T = Value::Type;
constexpr double kInf = 1e300;

ParamSpec real_param(std::string key, double def, double lo, double hi, std::string unit,
                     std::string doc, bool lo_exclusive = false) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = T::Float;
  p.default_value = Value::real(def);
  p.min = lo;
  p.max = hi;
  p.min_exclusive = lo_exclusive;
  p.unit = std::move(unit);
  p.doc = std::move(doc);
  return p;
}

ParamSpec int_param(std::string key, std::int64_t def, double lo, double hi, std::string doc) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = T::Int;
  p.default_value = Value::integer(def);
  p.min = lo;
  p.max = hi;
  p.doc = std::move(doc);
  return p;
}

ParamSpec bool_param(std::string key, bool def, std::string doc) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = T::Bool;
  p.default_value = Value::boolean(def);
  p.doc = std::move(doc);
  return p;
}

ParamSpec choice_param(std::string key, std::string def, std::vector<std::string> choices,
                       std::string doc) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = T::String;
  p.default_value = Value::string(std::move(def));
  p.choices = std::move(choices);
  p.doc = std::move(doc);
  return p;
}

ParamSpec string_param(std::string key, std::string def, std::string doc) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = T::String;
  p.default_value = Value::string(std::move(def));
  p.doc = std::move(doc);
  return p;
}

ParamSpec array_param(std::string key, T element, std::vector<std::string> choices,
                      double lo, double hi, std::string doc) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = T::Array;
  p.default_value = Value::array({});
  p.element_type = element;
  p.choices = std::move(choices);
  p.min = lo;
  p.max = hi;
  p.doc = std::move(doc);
  return p;
}

// The keys a running simulation may change (Simulation::update_config), as
// "section.name" or "node.*.name" for every node type that has the key. They are the
// parameters the backends recompute their constants from and the services re-read;
// everything that sizes or allocates state (dt, precision, models, delays, the
// network), sets initial values (init.*, thresholds, drives, energy.initial) or
// decides which services run (*.enabled) stays as the run was built.
constexpr const char* kLiveKeys[] = {
    "record.spikes", "record.horizon",
    "energy.spike_cost_min", "energy.spike_cost_frac", "energy.spike_cost_max", "energy.tau_decay",
    "energy.flow_interval", "energy.conductance", "energy.record_ledger",
    "learning.tau_plus", "learning.tau_minus", "learning.a_plus", "learning.a_minus",
    "learning.energy_modulation", "learning.tau_eligibility", "learning.rate", "learning.w_min", "learning.w_max",
    "homeostasis.interval", "homeostasis.tau_rate", "homeostasis.eta", "homeostasis.target_branching",
    "homeostasis.window", "homeostasis.max_lag", "homeostasis.min_fit_quality", "homeostasis.gain_step",
    "homeostasis.branching_tolerance", "homeostasis.gain_min", "homeostasis.gain_max",
    "edge.modulatory_gain", "edge.gate_energy",
    "node.*.v_rest", "node.*.v_reset", "node.*.tau_m", "node.*.t_ref", "node.*.resistance",
    "node.*.energy_coupling", "node.*.tau_syn_ex", "node.*.tau_syn_in", "node.*.izhikevich_a",
    "node.*.izhikevich_b", "node.*.izhikevich_d", "node.*.poisson_rate", "node.*.poisson_weight",
    "node.*.target_rate", "node.*.gain",
    "structure.interval", "structure.death_energy", "structure.birth_energy", "structure.birth_cost",
    "structure.child_energy_frac", "structure.child_out_degree", "structure.child_weight", "structure.prune_weight",
    "metrics.interval", "metrics.structure", "metrics.samples", "metrics.power_iterations",
    "sensory.interval", "sensory.gain", "sensory.source", "sensory.grating_wavelength",
    "sensory.grating_orientation", "sensory.grating_speed", "sensory.grating_contrast",
};

void mark_live(std::vector<ParamSpec>& s) {
  for (ParamSpec& p : s) {
    // "node.<type>.name" matches the entry "node.*.name".
    std::string pattern = p.key;
    const std::size_t dot = p.key.find('.', 5);
    if (p.key.rfind("node.", 0) == 0 && dot != std::string::npos) pattern = "node.*" + p.key.substr(dot);
    for (const char* live : kLiveKeys) p.live = p.live || pattern == live;
  }
}

std::vector<ParamSpec> build_schema() {
  std::vector<ParamSpec> s;
  // --- simulation
  s.push_back(real_param("sim.dt", 1.0, 0.0, 1000.0, "ms", "integration step", true));
  s.push_back(int_param("sim.seed", 1, 0, 9.2e18, "seed of every random stream"));
  s.push_back(int_param("sim.threads", 0, 0, 4096, "CPU threads; 0 = all hardware threads"));
  s.push_back(choice_param("sim.backend", "auto", {"auto", "cpu", "cuda"},
                           "backend; auto picks cuda when usable, else cpu"));
  s.push_back(choice_param("sim.precision", "float32", {"float32", "float64"},
                           "floating-point type of node state (float64 matches NEST/Brian2 bit for bit more often)"));
  s.push_back(choice_param("sim.partition", "nodes", {"nodes", "edges"},
                           "on several MPI ranks: contiguous node ranges of equal size (nodes) or of about equal "
                           "incoming edges (edges); each rank stores the edges into its nodes"));
  // --- recording
  s.push_back(bool_param("record.spikes", true, "append every spike (step, node) to the spike record"));
  s.push_back(real_param("record.horizon", 0.0, 0.0, kInf, "ms",
                         "keep the spike record, monitor samples, per-step ledgers and the homeostasis and "
                         "metrics histories of the last this long (0 = everything): memory stays bounded "
                         "however long a run goes"));
  s.push_back(string_param("record.stream", "",
                           "directory to stream the spike record, monitor samples and per-step ledgers to, "
                           "one crash-safe chunk file each per record.stream_every (empty = keep them in "
                           "memory)"));
  s.push_back(real_param("record.stream_every", 1000.0, 0.0, kInf, "ms",
                         "model time per streamed chunk (record.stream)", true));
  std::vector<std::string> monitorable;  // from the node state table
  for (const auto& row : kNodeVars) {
    if (row.monitorable) monitorable.emplace_back(row.name);
  }
  s.push_back(array_param("monitor.variables", T::String, std::move(monitorable), -kInf, kInf,
                          "state variables sampled by the monitor"));
  s.push_back(array_param("monitor.nodes", T::Int, {}, 0, 4294967294.0, "node ids sampled by the monitor"));
  s.push_back(real_param("monitor.interval", 1.0, 0.0, kInf, "ms", "monitor sampling period", true));
  // --- energy (docs/model.md step 4)
  s.push_back(bool_param("energy.enabled", false,
                         "run the energy phase (spike cost, metabolism, flow); off: energy stays constant"));
  s.push_back(real_param("energy.cap", 5.0, 0.0, kInf, "", "maximum energy of a node", true));
  s.push_back(real_param("energy.initial", 2.5, 0.0, kInf, "",
                         "initial energy of every node (<= energy.cap; below structure.birth_energy)"));
  s.push_back(real_param("energy.spike_cost_min", 0.01, 0.0, kInf, "", "energy a node needs to spike"));
  s.push_back(real_param("energy.spike_cost_frac", 0.1, 0.0, 1.0, "", "a spike costs min(frac * E, max)"));
  s.push_back(real_param("energy.spike_cost_max", 0.1, 0.0, kInf, "", "largest cost of one spike"));
  s.push_back(real_param("energy.tau_decay", 1000.0, 0.0, kInf, "ms", "metabolism: E <- E exp(-dt / tau_decay)", true));
  s.push_back(int_param("energy.flow_interval", 1, 1, 1e9, "steps between energy flows along edges"));
  s.push_back(real_param("energy.conductance", 0.01, 0.0, 0.5, "", "fraction of an energy difference moved per flow"));
  s.push_back(bool_param("energy.record_ledger", true, "keep the per-step conservation ledger"));
  // --- learning (docs/model.md step 5)
  s.push_back(bool_param("learning.enabled", false, "run STDP on plastic edges"));
  s.push_back(choice_param("learning.rule", "stdp", {"stdp", "eligibility"},
                           "stdp: apply at once; eligibility: accumulate, converted by the neuromodulator"));
  s.push_back(real_param("learning.tau_plus", 20.0, 0.0, kInf, "ms", "presynaptic trace time constant", true));
  s.push_back(real_param("learning.tau_minus", 20.0, 0.0, kInf, "ms", "postsynaptic trace time constant", true));
  s.push_back(real_param("learning.a_plus", 0.005, 0.0, kInf, "", "potentiation amplitude (A_plus)"));
  s.push_back(real_param("learning.a_minus", 0.006, 0.0, kInf, "", "depression amplitude (A_minus)"));
  s.push_back(bool_param("learning.energy_modulation", true, "scale changes by 0.3 + 1.2 min((E_i + E_j) / 2cap, 1)"));
  s.push_back(real_param("learning.tau_eligibility", 200.0, 0.0, kInf, "ms", "eligibility decay time constant", true));
  s.push_back(real_param("learning.rate", 1.0, 0.0, kInf, "", "eligibility rule: w += rate * signal * eligibility"));
  s.push_back(real_param("learning.w_min", 0.0, 0.0, kInf, "", "lower weight bound"));
  s.push_back(real_param("learning.w_max", 1.0, 0.0, kInf, "", "upper weight bound"));
  // --- homeostasis (docs/model.md step 6)
  s.push_back(bool_param("homeostasis.enabled", false, "run intrinsic plasticity and criticality control"));
  s.push_back(int_param("homeostasis.interval", 10, 1, 1e9, "steps between homeostasis updates"));
  s.push_back(real_param("homeostasis.tau_rate", 1000.0, 0.0, kInf, "ms", "time constant of the rate estimate", true));
  s.push_back(real_param("homeostasis.eta", 0.01, 0.0, kInf, "", "threshold adaptation step"));
  s.push_back(real_param("homeostasis.target_branching", 0.98, 0.0, kInf, "",
                         "target of the branching ratio m (multistep-regression estimate)", true));
  s.push_back(real_param("homeostasis.bin", 4.0, 0.0, kInf, "ms",
                         "bin of the activity the branching ratio is estimated from", true));
  s.push_back(real_param("homeostasis.window", 2000.0, 0.0, kInf, "ms",
                         "the branching ratio is estimated over the last window of activity", true));
  s.push_back(int_param("homeostasis.max_lag", 10, 1, 1000, "lags 1..max_lag (in bins) of the regression"));
  s.push_back(real_param("homeostasis.min_fit_quality", 0.5, -kInf, 1.0, "",
                         "the gain follows the estimate only when its fit's R^2 is at least this"));
  s.push_back(real_param("homeostasis.gain_step", 0.01, 0.0, 0.5, "", "relative change of the synaptic gain per update"));
  s.push_back(real_param("homeostasis.branching_tolerance", 0.0, 0.0, kInf, "",
                         "the gain stays while the estimate is within this of target_branching"));
  s.push_back(real_param("homeostasis.gain_min", 0.1, 0.0, kInf, "", "lower bound of the synaptic gain", true));
  s.push_back(real_param("homeostasis.gain_max", 10.0, 0.0, kInf, "", "upper bound of the synaptic gain", true));
  // --- edges
  s.push_back(real_param("edge.modulatory_gain", 0.5, 0.0, kInf, "", "factor of modulatory edges"));
  s.push_back(real_param("edge.gate_energy", 0.5, 0.0, kInf, "",
                         "source energy at which gated edges transmit"));
  // --- node types
  for (int t = 0; t < kNodeTypeCount; ++t) {
    const std::string pre = std::string("node.") + node_type_name(static_cast<NodeType>(t)) + ".";
    s.push_back(real_param(pre + "v_rest", 0.0, -kInf, kInf, "", "resting potential"));
    s.push_back(real_param(pre + "v_reset", 0.0, -kInf, kInf, "", "reset potential (< threshold)"));
    s.push_back(real_param(pre + "threshold", 1.0, -kInf, kInf, "", "initial spike threshold"));
    s.push_back(real_param(pre + "tau_m", 10.0, 0.0, kInf, "ms", "membrane time constant", true));
    s.push_back(real_param(pre + "t_ref", 2.0, 0.0, 1e6, "ms", "absolute refractory period"));
    s.push_back(real_param(pre + "resistance", 1.0, 0.0, kInf, "", "R: drive to potential"));
    s.push_back(real_param(pre + "energy_coupling", 0.5, 0.0, 1.0, "",
                           "tau_eff = tau_m (1 - c + c energy / cap) (model lif only)"));
    if (kNodeTypes[t].leaky && !kNodeTypes[t].oscillates) {
      s.push_back(choice_param(pre + "model", "lif", {"lif", "lif_exp", "izhikevich"},
                               "neuron model: lif (delta synapses), lif_exp (exponential synaptic currents), "
                               "izhikevich"));
      s.push_back(real_param(pre + "tau_syn_ex", 2.0, 0.0, kInf, "ms",
                             "lif_exp: decay time of the excitatory synaptic current", true));
      s.push_back(real_param(pre + "tau_syn_in", 2.0, 0.0, kInf, "ms",
                             "lif_exp: decay time of the inhibitory synaptic current", true));
      s.push_back(real_param(pre + "izhikevich_a", 0.02, -kInf, kInf, "1/ms",
                             "izhikevich: recovery rate a (c is v_reset, the peak is threshold)"));
      s.push_back(real_param(pre + "izhikevich_b", 0.2, -kInf, kInf, "", "izhikevich: sensitivity b of u to v"));
      s.push_back(real_param(pre + "izhikevich_d", 8.0, -kInf, kInf, "", "izhikevich: jump d of u at a spike"));
    }
    s.push_back(real_param(pre + "drive", 0.0, -kInf, kInf, "", "initial constant drive current"));
    s.push_back(real_param(pre + "poisson_rate", 0.0, 0.0, kInf, "Hz", "rate of independent Poisson input of each node of the type (its poisson_rate state; set per node with set_state)"));
    s.push_back(real_param(pre + "poisson_weight", 0.0, -kInf, kInf, "", "weight of each Poisson input spike"));
    if (kNodeTypes[t].adapts_threshold) {
      s.push_back(real_param(pre + "target_rate", 5.0, 0.0, kInf, "Hz",
                             "homeostasis adapts the threshold toward this firing rate", true));
    }
    if (kNodeTypes[t].scales_outgoing) {
      s.push_back(real_param(pre + "gain", 1.5, 0.0, kInf, "", "factor on the relay's outgoing weights"));
    }
    if (kNodeTypes[t].oscillates) {
      s.push_back(real_param(pre + "period", 100.0, 0.0, kInf, "ms", "intrinsic spike period", true));
    }
  }
  // --- structural plasticity (docs/model.md step 7)
  s.push_back(bool_param("structure.enabled", false, "run deaths, births and pruning every structure.interval steps"));
  s.push_back(int_param("structure.interval", 50, 1, 1e9, "steps between structure updates"));
  s.push_back(int_param("structure.spare_nodes", 0, 0, 1e9,
                        "node slots preallocated for births (appended after the network's nodes, initially dead)"));
  s.push_back(real_param("structure.death_energy", 0.05, 0.0, kInf, "",
                         "a dynamic node below this energy for a whole interval dies"));
  s.push_back(real_param("structure.birth_energy", 4.0, 0.0, kInf, "", "a dynamic node above this energy gives birth"));
  s.push_back(real_param("structure.birth_cost", 1.5, 0.0, kInf, "", "energy a birth costs the parent"));
  s.push_back(real_param("structure.child_energy_frac", 0.5, 0.0, 1.0, "",
                         "share of the birth cost the child receives (the rest is metabolism)"));
  s.push_back(int_param("structure.child_out_degree", 5, 0, 1e6, "out-edges of a newborn node to random alive nodes"));
  s.push_back(real_param("structure.child_weight", 0.5, 0.0, kInf, "", "weight of a newborn node's edges"));
  s.push_back(real_param("structure.child_delay", 1.0, 0.0, kInf, "ms", "delay of a newborn node's edges", true));
  s.push_back(real_param("structure.prune_weight", 0.05, 0.0, kInf, "", "plastic edges below this weight are removed"));
  // --- graph management and analysis (docs/model.md "Graph management and analysis")
  s.push_back(real_param("metrics.interval", 0.0, 0.0, kInf, "ms",
                         "period of the metrics service (activity, energy, ledger totals); 0 = off"));
  s.push_back(bool_param("metrics.structure", false,
                         "periodic metrics also validate the graph and compute the structure metrics (costly)"));
  s.push_back(int_param("metrics.samples", 100, 0, 4294967294.0,
                        "nodes sampled for clustering and sources for shortest paths; 0 = every alive node (exact)"));
  s.push_back(int_param("metrics.power_iterations", 100, 1, 1e6,
                        "power-iteration steps of the spectral radius estimate"));
  // --- initial state
  s.push_back(real_param("init.v_min", 0.0, -kInf, kInf, "", "initial v drawn uniformly in [v_min, v_max]"));
  s.push_back(real_param("init.v_max", 0.0, -kInf, kInf, "", "upper end of the initial v range"));
  // --- network built by the command line tools
  s.push_back(choice_param("network.kind", "brunel", {"brunel", "default", "microcircuit"},
                           "network the command-line tools build (default: the default network of docs/model.md; "
                           "microcircuit: Potjans & Diesmann 2014)"));
  s.push_back(int_param("network.n", 10000, 1, 4294967294.0, "brunel: number of nodes"));
  s.push_back(real_param("network.exc_fraction", 0.8, 0.0, 1.0, "", "brunel: fraction of excitatory nodes"));
  s.push_back(int_param("network.k_in", 100, 0, 1e9, "brunel: in-degree of every node"));
  s.push_back(real_param("network.j", 0.1, 0.0, kInf, "", "brunel: excitatory weight"));
  s.push_back(real_param("network.g", 5.0, 0.0, kInf, "", "brunel: inhibitory weight / excitatory weight"));
  s.push_back(real_param("network.delay", 1.5, 0.0, kInf, "ms", "brunel: delay of every edge", true));
  s.push_back(choice_param("network.plastic", "none", {"none", "exc_exc"},
                           "brunel: which edges are plastic (exc_exc: excitatory to excitatory)"));
  s.push_back(real_param("network.scale", 0.1, 0.0, 1.0, "",
                         "microcircuit: population sizes as a fraction of the full model's", true));
  s.push_back(real_param("network.k_scale", 1.0, 0.0, 1.0, "",
                         "microcircuit: in-degrees as a fraction of the full model's", true));
  s.push_back(choice_param("network.background", "poisson", {"poisson", "dc"},
                           "microcircuit: external input as Poisson spikes or the equivalent constant current"));
  // --- the default network (docs/model.md "The default network")
  s.push_back(int_param("graph.sensory_side", 32, 1, 4096, "default network: sensory grid is side x side"));
  s.push_back(int_param("graph.dynamic_per_sensory", 4, 0, 1e6, "default network: dynamic nodes per sensory node"));
  s.push_back(int_param("graph.workspace_side", 16, 0, 4096, "default network: workspace grid is side x side"));
  s.push_back(int_param("graph.oscillators", 64, 0, 1e9, "default network: oscillator nodes"));
  s.push_back(int_param("graph.relays", 64, 0, 1e9, "default network: relay nodes"));
  s.push_back(int_param("graph.highways", 32, 0, 1e9, "default network: highway nodes"));
  s.push_back(real_param("graph.out_degree", 10.0, 0.0, 1e6, "", "default network: mean of the Poisson out-degree"));
  s.push_back(real_param("graph.weight_scale", 1.0, 0.0, kInf, "", "default network: weights are U(0.1, 1) x scale"));
  s.push_back(array_param("graph.kind_fractions", T::Float, {}, 0.0, 1.0,
                          "default network: fractions of excitatory, inhibitory, modulatory, gated edges"));
  s.back().default_value =
      Value::array({Value::real(0.6), Value::real(0.25), Value::real(0.1), Value::real(0.05)});
  s.push_back(real_param("graph.max_delay", 5.0, 0.0, kInf, "ms", "default network: delays are U{1..max} steps of 1 ms", true));
  s.push_back(real_param("graph.column_weight", 0.8, 0.0, kInf, "",
                         "default network: weight of the retinotopic edges from each visual sensory node to its "
                         "own graph.dynamic_per_sensory dynamic nodes (0 = none)"));
  s.push_back(real_param("graph.readout_weight", 0.45, 0.0, kInf, "",
                         "default network: weight of the retinotopic edges from each column's dynamic nodes to "
                         "the workspace node over its pixel (0 = none)"));
  // --- sensory input (docs/model.md step 1)
  s.push_back(int_param("sensory.interval", 5, 1, 1e9, "steps between frames"));
  s.push_back(real_param("sensory.gain", 2.0, 0.0, kInf, "", "sensory drive = gain x gray value"));
  s.push_back(choice_param("sensory.source", "none", {"none", "grating"},
                           "built-in input: grating = the moving grating (frames given with set_frame replace it)"));
  s.push_back(real_param("sensory.grating_wavelength", 8.0, 0.0, kInf, "", "grating wavelength in sensory pixels", true));
  s.push_back(real_param("sensory.grating_orientation", 30.0, -kInf, kInf, "deg", "grating orientation"));
  s.push_back(real_param("sensory.grating_speed", 2.0, -kInf, kInf, "Hz", "grating temporal frequency"));
  s.push_back(real_param("sensory.grating_contrast", 1.0, 0.0, 1.0, "", "grating contrast"));
  s.push_back(int_param("sensory.audio_bands", 0, 0, 4096,
                        "audio sensory nodes: the last audio_bands sensory nodes are driven by mel bands of "
                        "the audio input (the default network adds them after the sensory grid)"));
  s.push_back(real_param("sensory.audio_window", 25.0, 0.0, kInf, "ms", "audio: STFT window length", true));
  s.push_back(real_param("sensory.audio_fmin", 30.0, 0.0, kInf, "Hz", "audio: lowest mel band edge"));
  s.push_back(real_param("sensory.audio_fmax", 8000.0, 0.0, kInf, "Hz",
                         "audio: highest mel band edge (at most half the sample rate)", true));
  s.push_back(real_param("sensory.audio_floor_db", -80.0, -1000.0, -1.0, "dB",
                         "audio: band level (dB full scale) mapped to 0; 0 dB maps to 1"));
  // --- run (command-line tools)
  s.push_back(real_param("run.duration", 1000.0, 0.0, kInf, "ms", "model time to simulate"));
  s.push_back(string_param("run.spikes_file", "", "executable: write spikes to this file (empty = do not write)"));
  mark_live(s);
  return s;
}

const char* type_word(T t) {
  switch (t) {
    case T::Bool: return "boolean";
    case T::Int: return "integer";
    case T::Float: return "float";
    case T::String: return "string";
    case T::Array: return "array";
  }
  return "value";
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggestion(const std::string& key) {
  const ParamSpec* best = nullptr;
  std::size_t best_d = 4;
  for (const auto& p : schema()) {
    std::size_t d = edit_distance(key, p.key);
    if (d < best_d) {
      best_d = d;
      best = &p;
    }
  }
  return best ? " (did you mean '" + best->key + "'?)" : "";
}

std::string fmt(double x) {
  std::ostringstream os;
  os.precision(10);
  os << x;
  return os.str();
}

// Checks one value against its spec; returns the normalised value or sets `err`.
bool check_number(const ParamSpec& p, double x, const std::string& where, std::string& err) {
  if (std::isnan(x)) {
    err = where + " is NaN";
    return false;
  }
  bool low_ok = p.min_exclusive ? x > p.min : x >= p.min;
  if (!low_ok || x > p.max) {
    err = where + " = " + fmt(x) + " is out of range " + (p.min_exclusive ? "(" : "[") +
          (p.min <= -kInf ? "-inf" : fmt(p.min)) + ", " + (p.max >= kInf ? "inf" : fmt(p.max)) + "]";
    return false;
  }
  return true;
}

bool check_choice(const ParamSpec& p, const std::string& s, const std::string& where, std::string& err) {
  if (p.choices.empty() || std::find(p.choices.begin(), p.choices.end(), s) != p.choices.end()) return true;
  std::string all;
  for (const auto& c : p.choices) all += (all.empty() ? "'" : ", '") + c + "'";
  err = where + " = '" + s + "' is not one of " + all;
  return false;
}

bool normalise_scalar(const ParamSpec& p, T type, const Value& in, const std::string& where,
                      Value& out, std::string& err) {
  switch (type) {
    case T::Bool:
      if (in.type != T::Bool) break;
      out = in;
      return true;
    case T::Int:
      if (in.type != T::Int) break;
      if (!check_number(p, static_cast<double>(in.i), where, err)) return false;
      out = in;
      return true;
    case T::Float: {
      double x;
      if (in.type == T::Float) {
        x = in.f;
      } else if (in.type == T::Int) {
        x = static_cast<double>(in.i);
      } else {
        break;
      }
      if (std::isinf(x)) {
        err = where + " is infinite (a finite value is required)";
        return false;
      }
      if (!check_number(p, x, where, err)) return false;
      out = Value::real(x);
      return true;
    }
    case T::String:
      if (in.type != T::String) break;
      if (!check_choice(p, in.s, where, err)) return false;
      out = in;
      return true;
    case T::Array:
      break;
  }
  err = where + ": expected " + type_word(type) + ", got " + in.type_name() + " " + in.to_string();
  return false;
}

bool normalise(const ParamSpec& p, const Value& in, Value& out, std::string& err) {
  if (p.type != T::Array) return normalise_scalar(p, p.type, in, p.key, out, err);
  if (in.type != T::Array) {
    err = p.key + ": expected array of " + type_word(p.element_type) + ", got " + in.type_name() + " " +
          in.to_string();
    return false;
  }
  std::vector<Value> items;
  for (std::size_t i = 0; i < in.items.size(); ++i) {
    Value v;
    if (!normalise_scalar(p, p.element_type, in.items[i], p.key + "[" + std::to_string(i) + "]", v, err)) {
      return false;
    }
    items.push_back(std::move(v));
  }
  out = Value::array(std::move(items));
  return true;
}

// Rules that involve more than one key.
void cross_checks(const FlatTable& v, std::vector<std::string>& errors) {
  auto real = [&](const std::string& k) { return v.at(k).f; };
  for (int t = 0; t < kNodeTypeCount; ++t) {
    const std::string pre = std::string("node.") + node_type_name(static_cast<NodeType>(t)) + ".";
    if (!(real(pre + "v_reset") < real(pre + "threshold"))) {
      errors.push_back(pre + "v_reset = " + fmt(real(pre + "v_reset")) + " must be below " + pre +
                       "threshold = " + fmt(real(pre + "threshold")));
    }
  }
  if (real("energy.initial") > real("energy.cap")) {
    errors.push_back("energy.initial = " + fmt(real("energy.initial")) + " exceeds energy.cap = " +
                     fmt(real("energy.cap")));
  }
  const Value& fractions = v.at("graph.kind_fractions");
  double fraction_sum = 0.0;
  for (const auto& f : fractions.items) fraction_sum += f.f;
  if (fractions.items.size() != 4 || std::fabs(fraction_sum - 1.0) > 1e-9) {
    errors.push_back("graph.kind_fractions must be 4 fractions (excitatory, inhibitory, modulatory, gated) "
                     "that sum to 1, got " + fractions.to_string());
  }
  if (real("learning.w_min") > real("learning.w_max")) {
    errors.push_back("learning.w_min = " + fmt(real("learning.w_min")) + " exceeds learning.w_max = " +
                     fmt(real("learning.w_max")));
  }
  if (real("homeostasis.gain_min") > real("homeostasis.gain_max")) {
    errors.push_back("homeostasis.gain_min = " + fmt(real("homeostasis.gain_min")) + " exceeds homeostasis.gain_max = " +
                     fmt(real("homeostasis.gain_max")));
  }
  if (real("init.v_min") > real("init.v_max")) {
    errors.push_back("init.v_min = " + fmt(real("init.v_min")) + " exceeds init.v_max = " +
                     fmt(real("init.v_max")));
  }
  const double dt = real("sim.dt");
  for (int t = 0; t < kNodeTypeCount; ++t) {
    const std::string key = std::string("node.") + node_type_name(static_cast<NodeType>(t)) + ".t_ref";
    if (std::llround(real(key) / dt) > 65535) errors.push_back(key + " exceeds 65535 steps of sim.dt");
  }
  if (std::llround(real("structure.child_delay") / dt) > 65535) {
    errors.push_back("structure.child_delay exceeds 65535 steps of sim.dt");
  }
  if (std::llround(real("network.delay") / dt) > 65535) {
    errors.push_back("network.delay exceeds 65535 steps of sim.dt");
  }
}

}  // namespace

const std::vector<ParamSpec>& schema() {
  static const std::vector<ParamSpec> s = build_schema();
  return s;
}

std::vector<std::string> live_keys() {
  std::vector<std::string> out;
  for (const auto& p : schema()) {
    if (p.live) out.push_back(p.key);
  }
  return out;
}

const ParamSpec* find_param(const std::string& key) {
  for (const auto& p : schema()) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

Config::Config() {
  for (const auto& p : schema()) values_[p.key] = p.default_value;
}

Config Config::from_toml(const std::string& text, const std::string& source_name) {
  Config c;
  c.update(parse_toml(text, source_name), source_name);
  return c;
}

Config Config::from_toml_file(const std::string& path) {
  Config c;
  c.update(parse_toml_file(path), path);
  return c;
}

void Config::update(const FlatTable& changes, const std::string& source_name) {
  FlatTable next = values_;
  std::vector<std::string> errors;
  for (const auto& [key, value] : changes) {
    const ParamSpec* p = find_param(key);
    if (!p) {
      errors.push_back("unknown key '" + key + "'" + suggestion(key));
      continue;
    }
    std::string err;
    Value norm;
    if (!normalise(*p, value, norm, err)) {
      errors.push_back(err);
      continue;
    }
    next[key] = std::move(norm);
  }
  if (errors.empty()) cross_checks(next, errors);
  if (!errors.empty()) {
    std::string msg = "configure (" + source_name + "): ";
    for (std::size_t i = 0; i < errors.size(); ++i) msg += (i ? "; " : "") + errors[i];
    throw ConfigError(msg);
  }
  values_ = std::move(next);
}

const Value& Config::value(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw ConfigError("config: unknown key '" + key + "'" + suggestion(key));
  return it->second;
}

double Config::real(const std::string& key) const {
  const Value& v = value(key);
  if (v.type != T::Float) throw ConfigError("config: '" + key + "' is not a float");
  return v.f;
}

std::int64_t Config::integer(const std::string& key) const {
  const Value& v = value(key);
  if (v.type != T::Int) throw ConfigError("config: '" + key + "' is not an integer");
  return v.i;
}

bool Config::boolean(const std::string& key) const {
  const Value& v = value(key);
  if (v.type != T::Bool) throw ConfigError("config: '" + key + "' is not a boolean");
  return v.b;
}

const std::string& Config::string(const std::string& key) const {
  const Value& v = value(key);
  if (v.type != T::String) throw ConfigError("config: '" + key + "' is not a string");
  return v.s;
}

std::vector<std::int64_t> Config::integers(const std::string& key) const {
  const Value& v = value(key);
  if (v.type != T::Array) throw ConfigError("config: '" + key + "' is not an array");
  std::vector<std::int64_t> out;
  for (const auto& x : v.items) out.push_back(x.i);
  return out;
}

std::vector<std::string> Config::strings(const std::string& key) const {
  const Value& v = value(key);
  if (v.type != T::Array) throw ConfigError("config: '" + key + "' is not an array");
  std::vector<std::string> out;
  for (const auto& x : v.items) out.push_back(x.s);
  return out;
}

std::int64_t Config::steps(const std::string& key, std::int64_t min_steps) const {
  std::int64_t s = std::llround(real(key) / real("sim.dt"));
  return std::max(s, min_steps);
}

std::string Config::to_toml() const {
  std::ostringstream os;
  std::string section;
  for (const auto& p : schema()) {
    auto dot = p.key.rfind('.');
    std::string sec = p.key.substr(0, dot);
    if (sec != section) {
      os << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    os << p.key.substr(dot + 1) << " = " << values_.at(p.key).to_string() << "\n";
  }
  return os.str();
}

const char* default_run_toml() {
  return R"(# spikegraph's built-in default run: the default network of docs/model.md (a 32 x 32
# sensory grid driven by the built-in moving grating, 4,096 dynamic nodes, a 16 x 16
# workspace, oscillators, relays and highways) with energy, learning and homeostasis
# on, for one second of model time. Tuned so that activity stays alive and not
# saturated (tests_py/test_default_network.py checks 10 s of it, and 10 s with
# structural plasticity on as well). docs/model.md gives the reason for each value.
[network]
kind = "default"

[graph]
weight_scale = 0.3

[record]
# The records (spikes, ledger, histories) keep the last minute: a run of any length
# stays within a fixed memory budget.
horizon = 60000.0

[sensory]
source = "grating"

[energy]
enabled = true
# The dynamic nodes' energies settle between 1.5 and 2.3 (0.3-0.46 cap): start there.
initial = 1.5

[learning]
enabled = true
# The schema's a_plus = 2 a_minus makes the weights of this network run away to w_max
# within a second; slightly depression-dominated STDP with a lower bound keeps it alive.
a_plus = 0.005
a_minus = 0.006
w_max = 1.0

[homeostasis]
enabled = true
# Thresholds follow their rate estimate (1-s time constant) slowly enough not to
# overshoot; faster adaptation swings the whole network between 17 Hz and silence.
eta = 0.002
# The gain moves slowly (its estimate lags by the 2-s window), holds while the estimate is
# within 0.02 of the target, and stays in [0.5, 3]. It reaches about 3 within 20 s; with
# no upper bound it keeps creeping (to 6 in two minutes), because the estimate's dips
# below the band outnumber its excursions above.
gain_step = 0.002
branching_tolerance = 0.02
gain_min = 0.5
gain_max = 3.0

# Initial thresholds near where homeostasis settles them.
[node.dynamic]
threshold = 1.5

[node.relay]
threshold = 0.5

[node.highway]
threshold = 0.5

[node.workspace]
threshold = 1.5
# The workspace is the readout: at 5 Hz a node fires about twice in the readout's
# 400-ms window, too few spikes to tell the inputs apart reliably.
target_rate = 20.0

[structure]
# Off by default (--set structure.enabled=true turns it on; without sensory input
# there is no energy inflow and the nodes starve). Tuned to the energies this network
# reaches (1.3-2.4): the best-fed dynamic nodes give birth, newborns that find no
# energy supply die, both keep happening, and newborns' edges are as strong as the
# network's typical edge.
spare_nodes = 400
birth_energy = 2.35
death_energy = 0.45
child_energy_frac = 0.3
child_weight = 0.15

[run]
duration = 1000.0
)";
}

std::string schema_markdown() {
  std::ostringstream os;
  os << "| key | type | default | range / choices | unit | live | meaning |\n|---|---|---|---|---|---|---|\n";
  for (const auto& p : schema()) {
    std::string range;
    if (!p.choices.empty()) {
      for (const auto& c : p.choices) range += (range.empty() ? "" : ", ") + c;
    } else if (p.type == T::Int || p.type == T::Float ||
               (p.type == T::Array && p.element_type != T::String)) {
      range = std::string(p.min_exclusive ? "(" : "[") + (p.min <= -kInf ? "-inf" : fmt(p.min)) + ", " +
              (p.max >= kInf ? "inf" : fmt(p.max)) + "]";
    }
    std::string type = type_word(p.type);
    if (p.type == T::Array) type += " of " + std::string(type_word(p.element_type));
    os << "| `" << p.key << "` | " << type << " | `" << p.default_value.to_string() << "` | " << range
       << " | " << p.unit << " | " << (p.live ? "yes" : "") << " | " << p.doc << " |\n";
  }
  return os.str();
}

}  // namespace spikegraph::config
