// Audio input of a Simulation (module-level functions; python/spikegraph wraps them
// as Simulation methods).
#include <nanobind/stl/vector.h>

#include "common.hpp"
#include "spikegraph/sensory/audio.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph::bindings {

void register_audio(nb::module_& m) {
  using F32 = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
  m.def("push_audio", [](Simulation& sim, F32 samples, double sample_rate) {
    sim.push_audio(samples.data(), samples.shape(0), sample_rate);
  }, nb::arg("simulation"), nb::arg("samples"), nb::arg("sample_rate"),
        "Queue mono float32 samples (full scale -1..1) at sample_rate Hz for the audio sensory nodes.");
  m.def("audio_frames_pending", [](const Simulation& sim) { return sim.audio_frames_pending(); },
        nb::arg("simulation"));
  m.def("audio_frames_applied", [](const Simulation& sim) { return sim.audio_frames_applied(); },
        nb::arg("simulation"));
  m.def("reset_audio", [](Simulation& sim) { sim.reset_audio(); }, nb::arg("simulation"));
  m.def("mel_filter_bank", [](int bands, int fft_size, double sample_rate, double fmin_hz, double fmax_hz) {
    std::vector<float> f = sensory::mel_filter_bank(bands, fft_size, sample_rate, fmin_hz, fmax_hz);
    return owned_array(std::move(f));
  }, nb::arg("bands"), nb::arg("fft_size"), nb::arg("sample_rate"), nb::arg("fmin_hz"), nb::arg("fmax_hz"),
        "The triangular mel filters (bands x (fft_size // 2 + 1), row-major, flattened).");
}

}  // namespace spikegraph::bindings
