#include <string>

#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"
#include "cuda_entry.hpp"
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"

namespace spikegraph {

void Backend::save_state(io::SnapshotWriter&) const {
  throw BackendError("save checkpoint: backend '" + name() + "' cannot write checkpoints");
}

void Backend::load_state(const io::SnapshotReader&) {
  throw BackendError("load checkpoint: backend '" + name() + "' cannot read checkpoints");
}

void Backend::configure(const config::Config&) {
  throw BackendError("update_config: backend '" + name() + "' cannot change its parameters during a run");
}

std::vector<BackendInfo> available_backends() {
  std::vector<BackendInfo> out;
  BackendInfo cpu;
  cpu.name = "cpu";
  cpu.compiled = true;
  cpu.available = true;
  cpu.detail = std::to_string(cpu::hardware_threads()) + " hardware threads";
  out.push_back(cpu);
  out.push_back(cuda_backend_info());
  return out;
}

std::unique_ptr<Backend> make_backend(const std::string& name, const Graph& graph,
                                      const config::Config& cfg) {
  if (name == "cuda" || name == "auto") {
    BackendInfo info = cuda_backend_info();
    if (info.available) return make_cuda_backend(graph, cfg);
    if (name == "cuda") throw BackendError("make_backend: backend 'cuda' is unavailable: " + info.detail);
  } else if (name != "cpu") {
    throw BackendError("make_backend: unknown backend '" + name + "' (known: auto, cpu, cuda)");
  }
  std::int64_t threads = cfg.integer("sim.threads");
  if (threads == 0) threads = cpu::hardware_threads();
  return make_cpu_backend(graph, cfg, static_cast<int>(threads));
}

}  // namespace spikegraph
