// The "sensory" service: docs/model.md step 1. At the step after a frame was given
// (Simulation::set_frame), or every sensory.interval steps from the built-in moving
// grating, each visual sensory node i with gray value g_i gets drive =
// sensory.gain * g_i and energy = g_i * energy.cap; every step with queued audio
// (Simulation::push_audio), the audio sensory nodes (the last sensory.audio_bands
// sensory nodes) get the same from their mel band's value. The energy change is the
// step's sensory inflow in the ledger.
#include <cmath>
#include <string>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sensory/audio.hpp"
#include "spikegraph/sensory/frames.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/sim/records.hpp"

namespace spikegraph {

namespace {

class SensoryService final : public Service {
 public:
  std::string name() const override { return "sensory"; }
  std::vector<Phase> phases() const override { return {Phase::sensory}; }

  void initialize(StepContext& ctx) override {
    const config::Config& c = ctx.config;
    interval_ = c.integer("sensory.interval");
    gain_ = c.real("sensory.gain");
    cap_ = c.real("energy.cap");
    dt_ = c.real("sim.dt");
    grating_ = c.string("sensory.source") == "grating";
    params_.wavelength_px = c.real("sensory.grating_wavelength");
    params_.orientation_deg = c.real("sensory.grating_orientation");
    params_.speed_hz = c.real("sensory.grating_speed");
    params_.contrast = c.real("sensory.grating_contrast");
    std::vector<index_t> all;
    const auto& types = ctx.graph.node_type();
    for (index_t i = 0; i < ctx.graph.num_nodes(); ++i) {
      if (types[i] == static_cast<std::uint8_t>(NodeType::sensory)) all.push_back(i);
    }
    // The last audio_bands sensory nodes hear, the others see.
    const auto audio = static_cast<std::size_t>(c.integer("sensory.audio_bands"));
    if (audio > all.size()) {
      throw ConfigError("sensory: sensory.audio_bands = " + std::to_string(audio) + " but the network has only " +
                        std::to_string(all.size()) + " sensory nodes");
    }
    nodes_.assign(all.begin(), all.end() - static_cast<std::ptrdiff_t>(audio));
    audio_nodes_.assign(all.end() - static_cast<std::ptrdiff_t>(audio), all.end());
    ctx.sensory.audio_bands = static_cast<int>(audio);
    ctx.sensory.grid_height = ctx.sensory.grid_width = 0;
    if (!nodes_.empty()) {
      const auto side = static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(nodes_.size()))));
      if (side * side == nodes_.size()) {
        ctx.sensory.grid_height = ctx.sensory.grid_width = static_cast<int>(side);
      } else {
        ctx.sensory.grid_height = 1;
        ctx.sensory.grid_width = static_cast<int>(nodes_.size());
      }
    }
    gray_.assign(nodes_.size(), 0.0f);
    bands_.assign(audio_nodes_.size(), 0.0f);
  }

  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override {
    out.add_scalar(prefix + "grating", static_cast<std::uint8_t>(grating_));
  }
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override {
    grating_ = in.scalar<std::uint8_t>(prefix + "grating") != 0;
  }

  void run(Phase, StepContext& ctx) override {
    SensoryInput& in = ctx.sensory;
    const float* gray = nullptr;
    if (nodes_.empty()) {
      in.pending = false;
    } else if (in.pending) {
      gray = in.gray.data();
      grating_ = false;  // frames given by the user replace the built-in source
    } else if (grating_ && ctx.step % interval_ == 0) {
      sensory::moving_grating(in.grid_height, in.grid_width, ctx.step, dt_, params_, gray_.data());
      gray = gray_.data();
    }
    // One vector of band values per step while audio is queued.
    const bool heard = !audio_nodes_.empty() && in.audio && in.audio->pop(bands_.data());
    if (!gray && !heard) return;
    double inflow = 0.0;
    if (gray) {
      inflow += apply(ctx, nodes_, gray);
      in.pending = false;
      ++in.frames_applied;
    }
    if (heard) {
      inflow += apply(ctx, audio_nodes_, bands_.data());
      ++in.audio_frames_applied;
    }
    ctx.ledger.step = ctx.step;
    ctx.ledger.inflow = inflow;
  }

 private:
  // drive = gain * value and energy = value * cap for each alive node; returns the
  // energy change (the stored, possibly float, values).
  double apply(StepContext& ctx, const std::vector<index_t>& nodes, const float* values) const {
    const ArrayRef energy = ctx.backend.state("energy");
    const ArrayRef drive = ctx.backend.state("drive");
    const auto* alive = static_cast<const std::uint8_t*>(ctx.backend.state("alive").data);
    double inflow = 0.0;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      const index_t i = nodes[k];
      if (!alive[i]) continue;
      const double g = values[k];
      const double before = read_element(energy, i);
      write_element(energy, i, g * cap_);
      inflow += read_element(energy, i) - before;
      write_element(drive, i, gain_ * g);
    }
    return inflow;
  }

  std::int64_t interval_ = 5;
  double gain_ = 2.0, cap_ = 5.0, dt_ = 1.0;
  bool grating_ = true;
  sensory::GratingParams params_;
  std::vector<index_t> nodes_;        // the visual grid, row-major
  std::vector<index_t> audio_nodes_;  // one per mel band, lowest band first
  std::vector<float> gray_, bands_;
};

}  // namespace

std::unique_ptr<Service> make_sensory_service() { return std::make_unique<SensoryService>(); }

}  // namespace spikegraph
