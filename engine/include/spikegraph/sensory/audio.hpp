// spikegraph/sensory/audio.hpp
// Audio sensory input (docs/model.md step 1): a block of samples becomes, for every
// simulation step, one vector of mel-band energies in [0, 1] that drives the audio
// sensory nodes the way gray values drive the visual grid.
//
// Per step k the mapper takes the window of `window_samples` samples starting at
// sample round(k * samples_per_step) (a Hann window, zero-padded to a power of two,
// a real FFT), the one-sided power spectrum normalised so that a full-scale sine
// centred on a bin has power 1/2, and `bands` triangular filters with centres
// equally spaced on the mel scale (2595 log10(1 + f / 700)) between fmin_hz and
// fmax_hz (at most the Nyquist frequency). A band's level in decibels relative to
// full scale, L = 10 log10(P + 1e-12), becomes the value clamp(1 + L / -floor_db, 0, 1):
// silence is 0, a full-scale tone about 1.
//
// Units: sample rate in Hz, samples dimensionless (full scale -1..1), window and
// step in samples, frequencies in Hz, levels in dB.
//
// Ownership: the mapper owns its sample buffer and its queue of band vectors;
// push() copies the caller's samples.
//
// Errors: InputError with a message starting with the operation; on error nothing
// changes (samples are validated before any is appended).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace spikegraph::sensory {

struct AudioParams {
  double sample_rate = 16000.0;    ///< Hz, > 0
  double samples_per_step = 16.0;  ///< sample_rate * dt / 1000, > 0
  int window_samples = 400;        ///< STFT window length, >= 2
  int bands = 32;                  ///< mel bands, >= 1
  double fmin_hz = 30.0;           ///< lowest band edge, >= 0
  double fmax_hz = 8000.0;         ///< highest band edge (clamped to sample_rate / 2)
  double floor_db = -80.0;         ///< level mapped to 0, < 0
};

/// Triangular mel filters over the bins of an FFT of `fft_size` points at
/// `sample_rate`: row b (b < bands) of the returned bands x (fft_size / 2 + 1)
/// matrix, row-major. Exposed for tests and for users who want the filters.
std::vector<float> mel_filter_bank(int bands, int fft_size, double sample_rate, double fmin_hz, double fmax_hz);

class AudioMapper {
 public:
  /// Throws InputError for invalid parameters.
  explicit AudioMapper(const AudioParams& p);

  const AudioParams& params() const { return p_; }
  int fft_size() const { return fft_size_; }

  /// Append mono samples (finite, |x| <= 1 is full scale; louder values are allowed
  /// and clamp at value 1). Computes the band vectors of every step whose window is
  /// now complete. Throws InputError for a NaN or infinite sample.
  void push(const float* samples, std::size_t count);
  /// Band vectors computed and not yet taken.
  std::size_t pending() const { return queue_.size() / static_cast<std::size_t>(p_.bands); }
  /// Take the oldest band vector into `bands_out` (params().bands values); false
  /// when none is pending.
  bool pop(float* bands_out);
  /// Drop pending vectors and buffered samples; the next push starts at step 0.
  void reset();

  /// Everything push() has buffered and computed (for checkpoints).
  struct State {
    std::vector<float> buffer;        ///< samples still needed, from absolute index buffer_start
    std::uint64_t buffer_start = 0;
    std::uint64_t next_step = 0;      ///< the next window to compute
    std::vector<float> queue;         ///< pending band vectors, oldest first
  };
  State state() const;
  /// Restore a state() of a mapper with the same parameters. Throws InputError when
  /// the sizes do not fit (the queue must hold whole band vectors).
  void set_state(State s);

 private:
  void compute_window(const float* window_start, float* out);

  AudioParams p_;
  int fft_size_ = 0;
  std::vector<float> window_;   // Hann coefficients
  std::vector<float> filters_;  // bands x (fft_size/2 + 1)
  double power_scale_ = 1.0;    // 2 / (sum of window)^2
  std::vector<float> buffer_;   // samples not yet consumed, starting at absolute index buffer_start_
  std::uint64_t buffer_start_ = 0;
  std::uint64_t next_step_ = 0;  // the next step whose window is computed
  std::deque<float> queue_;
  std::vector<double> re_, im_;  // FFT scratch
};

}  // namespace spikegraph::sensory
