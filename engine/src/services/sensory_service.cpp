// The "sensory" service: MODEL.md step 1. At the step after a frame was given
// (Simulation::set_frame), or every sensory.interval steps from the built-in moving
// grating, each sensory node i with gray value g_i gets drive = sensory.gain * g_i
// and energy = g_i * energy.cap; the energy change is the step's sensory inflow in
// the ledger.
#include <cmath>
#include <string>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/io/snapshot.hpp"
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
    nodes_.clear();
    const auto& types = ctx.graph.node_type();
    for (index_t i = 0; i < ctx.graph.num_nodes(); ++i) {
      if (types[i] == static_cast<std::uint8_t>(NodeType::sensory)) nodes_.push_back(i);
    }
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
  }

  void save_state(io::SnapshotWriter& out, const std::string& prefix) const override {
    out.add_scalar(prefix + "grating", static_cast<std::uint8_t>(grating_));
  }
  void load_state(const io::SnapshotReader& in, const std::string& prefix) override {
    grating_ = in.scalar<std::uint8_t>(prefix + "grating") != 0;
  }

  void run(Phase, StepContext& ctx) override {
    if (nodes_.empty()) return;
    SensoryInput& in = ctx.sensory;
    const float* gray = nullptr;
    if (in.pending) {
      gray = in.gray.data();
      grating_ = false;  // frames given by the user replace the built-in source
    } else if (grating_ && ctx.step % interval_ == 0) {
      sensory::moving_grating(in.grid_height, in.grid_width, ctx.step, dt_, params_, gray_.data());
      gray = gray_.data();
    }
    if (!gray) return;
    const ArrayRef energy = ctx.backend.state("energy");
    const ArrayRef drive = ctx.backend.state("drive");
    const auto* alive = static_cast<const std::uint8_t*>(ctx.backend.state("alive").data);
    double inflow = 0.0;
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
      const index_t i = nodes_[k];
      if (!alive[i]) continue;
      const double g = gray[k];
      const double before = read_element(energy, i);
      write_element(energy, i, g * cap_);
      inflow += read_element(energy, i) - before;  // the stored (possibly float) value
      write_element(drive, i, gain_ * g);
    }
    in.pending = false;
    ++in.frames_applied;
    ctx.ledger.step = ctx.step;
    ctx.ledger.inflow = inflow;
  }

 private:
  std::int64_t interval_ = 5;
  double gain_ = 2.0, cap_ = 5.0, dt_ = 1.0;
  bool grating_ = true;
  sensory::GratingParams params_;
  std::vector<index_t> nodes_;
  std::vector<float> gray_;
};

}  // namespace

std::unique_ptr<Service> make_sensory_service() { return std::make_unique<SensoryService>(); }

}  // namespace spikegraph
