// The "sensory" service: docs/model.md step 1. At the step after a frame was given
// (Simulation::set_frame), or every sensory.interval steps from the built-in moving
// grating, each visual sensory node i with gray value g_i gets drive =
// sensory.gain * g_i and energy = g_i * energy.cap; every step with queued audio
// (Simulation::push_audio), the audio sensory nodes (the last sensory.audio_bands
// sensory nodes) get the same from their mel band's value. The energy change is the
// step's sensory inflow in the ledger.
#include <algorithm>
#include <cmath>
#include <sstream>
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
#include "checkpoint_sections.hpp"

namespace spikegraph {

SensoryService::SensoryService() = default;
SensoryService::~SensoryService() = default;

void SensoryService::configure(const config::Config& c) {
  interval_ = c.integer("sensory.interval");
  gain_ = c.real("sensory.gain");
  cap_ = c.real("energy.cap");
  dt_ = c.real("sim.dt");
  const bool grating = c.string("sensory.source") == "grating";
  // sensory.source changed during a run: the grating starts or stops now. (Frames given
  // by the user stop it too, without changing the configuration: see run().)
  if (grating != source_grating_) grating_ = grating;
  source_grating_ = grating;
  params_.wavelength_px = c.real("sensory.grating_wavelength");
  params_.orientation_deg = c.real("sensory.grating_orientation");
  params_.speed_hz = c.real("sensory.grating_speed");
  params_.contrast = c.real("sensory.grating_contrast");
  audio_bands_ = static_cast<std::size_t>(c.integer("sensory.audio_bands"));
  audio_window_ms_ = c.real("sensory.audio_window");
  audio_fmin_ = c.real("sensory.audio_fmin");
  audio_fmax_ = c.real("sensory.audio_fmax");
  audio_floor_db_ = c.real("sensory.audio_floor_db");
}

void SensoryService::initialize(StepContext& ctx) {
  std::vector<index_t> all;
  const auto& types = ctx.graph.node_type();
  for (index_t i = 0; i < ctx.graph.num_nodes(); ++i) {
    if (types[i] == static_cast<std::uint8_t>(NodeType::sensory)) all.push_back(i);
  }
  // The last audio_bands sensory nodes hear, the others see.
  const std::size_t audio = audio_bands_;
  if (audio > all.size()) {
    throw ConfigError("sensory: sensory.audio_bands = " + std::to_string(audio) + " but the network has only " +
                      std::to_string(all.size()) + " sensory nodes");
  }
  nodes_.assign(all.begin(), all.end() - static_cast<std::ptrdiff_t>(audio));
  audio_nodes_.assign(all.end() - static_cast<std::ptrdiff_t>(audio), all.end());
  grid_height_ = grid_width_ = 0;
  if (!nodes_.empty()) {
    const auto side = static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(nodes_.size()))));
    if (side * side == nodes_.size()) {
      grid_height_ = grid_width_ = static_cast<int>(side);
    } else {
      grid_height_ = 1;
      grid_width_ = static_cast<int>(nodes_.size());
    }
  }
  grating_ = source_grating_;
  grating_gray_.assign(nodes_.size(), 0.0f);
  bands_.assign(audio_nodes_.size(), 0.0f);
  gray_.assign(nodes_.size(), 0.0f);
  pending_ = false;
  frames_applied_ = audio_frames_applied_ = 0;
  audio_.reset();
}

void SensoryService::run(Phase, StepContext& ctx) {
  const float* gray = nullptr;
  if (nodes_.empty()) {
    pending_ = false;
  } else if (pending_) {
    gray = gray_.data();
    grating_ = false;  // frames given by the user replace the built-in source
  } else if (grating_ && ctx.step % interval_ == 0) {
    sensory::moving_grating(grid_height_, grid_width_, ctx.step, dt_, params_, grating_gray_.data());
    gray = grating_gray_.data();
  }
  // One vector of band values per step while audio is queued.
  const bool heard = !audio_nodes_.empty() && audio_ && audio_->pop(bands_.data());
  if (!gray && !heard) return;
  double inflow = 0.0;
  if (gray) {
    inflow += apply(ctx, nodes_, gray);
    pending_ = false;
    ++frames_applied_;
  }
  if (heard) {
    inflow += apply(ctx, audio_nodes_, bands_.data());
    ++audio_frames_applied_;
  }
  ctx.ledger.inflow = inflow;
}

// drive = gain * value and energy = value * cap for each alive node; returns the
// energy change (the stored, possibly float, values).
double SensoryService::apply(StepContext& ctx, const std::vector<index_t>& nodes, const float* values) const {
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

void SensoryService::set_frame(const sensory::FrameView& frame, int threads) {
  if (grid_height_ == 0) throw InputError("set_frame: the network has no sensory nodes");
  std::vector<float> gray(static_cast<std::size_t>(grid_height_) * grid_width_);
  std::vector<float> drive(gray.size());
  // One thread maps a 1080p frame in under a millisecond; waking a team only pays for
  // much larger frames (and costs far more on a busy machine).
  const double pixels = static_cast<double>(frame.height) * static_cast<double>(frame.width);
  sensory::map_frame(frame, grid_height_, grid_width_, 1.0f, gray.data(), drive.data(), pixels > 8.0e6 ? threads : 1);
  gray_.swap(gray);
  pending_ = true;
}

void SensoryService::push_audio(const float* samples, std::size_t count, double sample_rate) {
  const std::string op = "push_audio";
  if (audio_nodes_.empty()) {
    throw InputError(op + ": the network has no audio sensory nodes (set sensory.audio_bands)");
  }
  if (!(sample_rate > 0.0) || !std::isfinite(sample_rate) || sample_rate > 1e7) {
    std::ostringstream os;
    os << op << ": sample rate must be in (0, 1e7] Hz, got " << sample_rate;
    throw InputError(os.str());
  }
  if (audio_ && audio_->params().sample_rate != sample_rate) {
    std::ostringstream os;
    os << op << ": sample rate " << sample_rate << " Hz differs from the queued audio's "
       << audio_->params().sample_rate << " Hz (call reset_audio first)";
    throw InputError(os.str());
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(samples[i])) throw InputError(op + ": sample " + std::to_string(i) + " is not finite");
  }
  if (!audio_) {
    sensory::AudioParams p;
    p.sample_rate = sample_rate;
    p.samples_per_step = sample_rate * dt_ / 1000.0;
    p.window_samples =
        static_cast<int>(std::max<long long>(2, std::llround(audio_window_ms_ * sample_rate / 1000.0)));
    p.bands = static_cast<int>(audio_nodes_.size());
    p.fmin_hz = audio_fmin_;
    p.fmax_hz = audio_fmax_;
    p.floor_db = audio_floor_db_;
    audio_ = std::make_shared<sensory::AudioMapper>(p);  // validates; may throw
  }
  audio_->push(samples, count);
}

std::size_t SensoryService::audio_frames_pending() const { return audio_ ? audio_->pending() : 0; }

void SensoryService::reset_audio() { audio_.reset(); }

void SensoryService::save_state(io::SnapshotWriter& out, const std::string& prefix) const {
  out.add_scalar(prefix + "grating", static_cast<std::uint8_t>(grating_));
  out.add("sensory/gray", gray_);
  out.add_scalar("sensory/pending", static_cast<std::uint8_t>(pending_));
  out.add_scalar("sensory/frames_applied", frames_applied_);
  out.add_scalar("sensory/audio_frames_applied", audio_frames_applied_);
  if (audio_) {
    const sensory::AudioParams& p = audio_->params();
    const sensory::AudioMapper::State a = audio_->state();
    out.add("audio/params", std::vector<double>{p.sample_rate, p.samples_per_step, static_cast<double>(p.window_samples),
                                                static_cast<double>(p.bands), p.fmin_hz, p.fmax_hz, p.floor_db});
    out.add("audio/buffer", a.buffer);
    out.add_scalar("audio/buffer_start", a.buffer_start);
    out.add_scalar("audio/next_step", a.next_step);
    out.add("audio/queue", a.queue);
  }
}

void SensoryService::load_state(const io::SnapshotReader& in, const std::string& prefix) {
  const bool grating = in.scalar<std::uint8_t>(prefix + "grating") != 0;
  auto gray = in.array<float>("sensory/gray");
  if (gray.size() != gray_.size() && !gray.empty()) corrupt_checkpoint(in, "sensory/gray has the wrong length");
  const bool pending = in.scalar<std::uint8_t>("sensory/pending") != 0;
  if (pending && gray.empty()) corrupt_checkpoint(in, "a pending frame has no values");
  if (gray.empty()) gray.assign(gray_.size(), 0.0f);
  const auto frames = in.scalar<std::int64_t>("sensory/frames_applied");
  const auto audio_frames = in.scalar<std::int64_t>("sensory/audio_frames_applied");
  std::shared_ptr<sensory::AudioMapper> mapper;
  if (in.has("audio/params")) {
    const auto p = in.array<double>("audio/params", 7);
    if (!(p[2] >= 2 && p[2] <= (1 << 22)) || p[3] != static_cast<double>(audio_nodes_.size())) {
      corrupt_checkpoint(in, "audio/params do not fit the network");
    }
    sensory::AudioParams ap;
    ap.sample_rate = p[0];
    ap.samples_per_step = p[1];
    ap.window_samples = static_cast<int>(p[2]);
    ap.bands = static_cast<int>(p[3]);
    ap.fmin_hz = p[4];
    ap.fmax_hz = p[5];
    ap.floor_db = p[6];
    sensory::AudioMapper::State st;
    st.buffer = in.array<float>("audio/buffer");
    st.buffer_start = in.scalar<std::uint64_t>("audio/buffer_start");
    st.next_step = in.scalar<std::uint64_t>("audio/next_step");
    st.queue = in.array<float>("audio/queue");
    try {
      mapper = std::make_shared<sensory::AudioMapper>(ap);
      mapper->set_state(std::move(st));
    } catch (const InputError& e) {
      corrupt_checkpoint(in, std::string("its audio state is invalid: ") + e.what());
    }
  }
  grating_ = grating;
  gray_.swap(gray);
  pending_ = pending;
  frames_applied_ = frames;
  audio_frames_applied_ = audio_frames;
  audio_ = std::move(mapper);
}

}  // namespace spikegraph
