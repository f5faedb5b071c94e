// Simulation::push_audio and friends: the coordinator's side of audio input (the
// mapping is sensory/audio.cpp; the sensory service applies one band vector a step).
#include <cmath>
#include <sstream>

#include "spikegraph/core/error.hpp"
#include "spikegraph/sensory/audio.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph {

void Simulation::push_audio(const float* samples, std::size_t count, double sample_rate) {
  const std::string op = "push_audio";
  if (sensory_.audio_bands == 0) {
    throw InputError(op + ": the network has no audio sensory nodes (set sensory.audio_bands)");
  }
  if (!(sample_rate > 0.0) || !std::isfinite(sample_rate) || sample_rate > 1e7) {
    std::ostringstream os;
    os << op << ": sample rate must be in (0, 1e7] Hz, got " << sample_rate;
    throw InputError(os.str());
  }
  if (sensory_.audio && sensory_.audio->params().sample_rate != sample_rate) {
    std::ostringstream os;
    os << op << ": sample rate " << sample_rate << " Hz differs from the queued audio's "
       << sensory_.audio->params().sample_rate << " Hz (call reset_audio first)";
    throw InputError(os.str());
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(samples[i])) throw InputError(op + ": sample " + std::to_string(i) + " is not finite");
  }
  if (!sensory_.audio) {
    sensory::AudioParams p;
    p.sample_rate = sample_rate;
    p.samples_per_step = sample_rate * dt_ / 1000.0;
    p.window_samples = static_cast<int>(
        std::max<long long>(2, std::llround(config_.real("sensory.audio_window") * sample_rate / 1000.0)));
    p.bands = sensory_.audio_bands;
    p.fmin_hz = config_.real("sensory.audio_fmin");
    p.fmax_hz = config_.real("sensory.audio_fmax");
    p.floor_db = config_.real("sensory.audio_floor_db");
    sensory_.audio = std::make_shared<sensory::AudioMapper>(p);  // validates; may throw
  }
  sensory_.audio->push(samples, count);
}

std::size_t Simulation::audio_frames_pending() const { return sensory_.audio ? sensory_.audio->pending() : 0; }

void Simulation::reset_audio() { sensory_.audio.reset(); }

}  // namespace spikegraph
