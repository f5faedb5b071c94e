// Audio sensory input: STFT + mel filter bank (see spikegraph/sensory/audio.hpp).
#include "spikegraph/sensory/audio.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "spikegraph/core/error.hpp"

namespace spikegraph::sensory {

namespace {

constexpr double kPi = 3.14159265358979323846;

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// In-place iterative radix-2 FFT of n = 2^k complex values.
void fft(std::vector<double>& re, std::vector<double>& im) {
  const std::size_t n = re.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      std::swap(re[i], re[j]);
      std::swap(im[i], im[j]);
    }
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double angle = -2.0 * kPi / static_cast<double>(len);
    for (std::size_t i = 0; i < n; i += len) {
      for (std::size_t k = 0; k < len / 2; ++k) {
        const double wr = std::cos(angle * static_cast<double>(k)), wi = std::sin(angle * static_cast<double>(k));
        const std::size_t a = i + k, b = i + k + len / 2;
        const double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

}  // namespace

std::vector<float> mel_filter_bank(int bands, int fft_size, double sample_rate, double fmin_hz, double fmax_hz) {
  const int bins = fft_size / 2 + 1;
  const double top = std::min(fmax_hz, sample_rate / 2.0);
  const double m_lo = hz_to_mel(fmin_hz), m_hi = hz_to_mel(top);
  std::vector<double> edges(static_cast<std::size_t>(bands) + 2);
  for (std::size_t i = 0; i < edges.size(); ++i) {
    edges[i] = mel_to_hz(m_lo + (m_hi - m_lo) * static_cast<double>(i) / static_cast<double>(bands + 1));
  }
  std::vector<float> f(static_cast<std::size_t>(bands) * static_cast<std::size_t>(bins), 0.0f);
  for (int b = 0; b < bands; ++b) {
    const double lo = edges[static_cast<std::size_t>(b)], mid = edges[static_cast<std::size_t>(b) + 1],
                 hi = edges[static_cast<std::size_t>(b) + 2];
    double sum = 0.0;
    for (int k = 0; k < bins; ++k) {
      const double hz = static_cast<double>(k) * sample_rate / static_cast<double>(fft_size);
      double v = 0.0;
      if (hz > lo && hz < hi) v = hz <= mid ? (hz - lo) / (mid - lo) : (hi - hz) / (hi - mid);
      f[static_cast<std::size_t>(b) * bins + static_cast<std::size_t>(k)] = static_cast<float>(v);
      sum += v;
    }
    if (sum == 0.0) {
      // A band narrower than a bin: it takes the nearest bin to its centre.
      const auto k = static_cast<int>(std::lround(mid * fft_size / sample_rate));
      f[static_cast<std::size_t>(b) * bins + static_cast<std::size_t>(std::min(k, bins - 1))] = 1.0f;
    }
  }
  return f;
}

AudioMapper::AudioMapper(const AudioParams& p) : p_(p) {
  const std::string op = "audio input";
  if (!(p.sample_rate > 0.0) || !std::isfinite(p.sample_rate)) throw InputError(op + ": sample rate must be > 0");
  if (!(p.samples_per_step > 0.0) || !std::isfinite(p.samples_per_step)) {
    throw InputError(op + ": samples per step must be > 0");
  }
  if (p.window_samples < 2 || p.window_samples > (1 << 22)) throw InputError(op + ": window must have 2 to 2^22 samples");
  if (p.bands < 1 || p.bands > 4096) throw InputError(op + ": bands must be in [1, 4096]");
  if (!(p.fmin_hz >= 0.0) || !(p.fmin_hz < std::min(p.fmax_hz, p.sample_rate / 2.0))) {
    throw InputError(op + ": need 0 <= fmin < min(fmax, sample_rate / 2)");
  }
  if (!(p.floor_db < 0.0)) throw InputError(op + ": floor_db must be < 0");
  fft_size_ = 1;
  while (fft_size_ < p.window_samples) fft_size_ <<= 1;
  window_.resize(static_cast<std::size_t>(p.window_samples));
  double sum = 0.0;
  for (int i = 0; i < p.window_samples; ++i) {
    window_[static_cast<std::size_t>(i)] =
        static_cast<float>(0.5 - 0.5 * std::cos(2.0 * kPi * i / static_cast<double>(p.window_samples)));
    sum += window_[static_cast<std::size_t>(i)];
  }
  power_scale_ = 2.0 / (sum * sum);
  filters_ = mel_filter_bank(p.bands, fft_size_, p.sample_rate, p.fmin_hz, p.fmax_hz);
  re_.resize(static_cast<std::size_t>(fft_size_));
  im_.resize(static_cast<std::size_t>(fft_size_));
}

void AudioMapper::reset() {
  buffer_.clear();
  buffer_start_ = 0;
  next_step_ = 0;
  queue_.clear();
}

void AudioMapper::push(const float* samples, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(samples[i])) {
      throw InputError("audio input: sample " + std::to_string(i) + " is not finite");
    }
  }
  buffer_.insert(buffer_.end(), samples, samples + count);
  std::vector<float> bands(static_cast<std::size_t>(p_.bands));
  const auto window = static_cast<std::uint64_t>(p_.window_samples);
  for (;;) {
    const auto start = static_cast<std::uint64_t>(std::llround(static_cast<double>(next_step_) * p_.samples_per_step));
    if (start + window > buffer_start_ + buffer_.size()) break;
    compute_window(buffer_.data() + (start - buffer_start_), bands.data());
    queue_.insert(queue_.end(), bands.begin(), bands.end());
    ++next_step_;
  }
  // Drop samples no future window needs.
  const auto next_start = static_cast<std::uint64_t>(std::llround(static_cast<double>(next_step_) * p_.samples_per_step));
  if (next_start > buffer_start_) {
    const std::uint64_t drop = std::min<std::uint64_t>(next_start - buffer_start_, buffer_.size());
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(drop));
    buffer_start_ += drop;
  }
}

AudioMapper::State AudioMapper::state() const {
  return State{buffer_, buffer_start_, next_step_, std::vector<float>(queue_.begin(), queue_.end())};
}

void AudioMapper::set_state(State s) {
  if (s.queue.size() % static_cast<std::size_t>(p_.bands) != 0) {
    throw InputError("audio input: the queued band values are not whole vectors of " + std::to_string(p_.bands));
  }
  const auto start = static_cast<std::uint64_t>(std::llround(static_cast<double>(s.next_step) * p_.samples_per_step));
  if (start < s.buffer_start) throw InputError("audio input: the buffer starts after the next window");
  buffer_ = std::move(s.buffer);
  buffer_start_ = s.buffer_start;
  next_step_ = s.next_step;
  queue_.assign(s.queue.begin(), s.queue.end());
}

bool AudioMapper::pop(float* bands_out) {
  if (queue_.size() < static_cast<std::size_t>(p_.bands)) return false;
  std::copy(queue_.begin(), queue_.begin() + p_.bands, bands_out);
  queue_.erase(queue_.begin(), queue_.begin() + p_.bands);
  return true;
}

void AudioMapper::compute_window(const float* x, float* out) {
  std::fill(re_.begin(), re_.end(), 0.0);
  std::fill(im_.begin(), im_.end(), 0.0);
  for (int i = 0; i < p_.window_samples; ++i) {
    re_[static_cast<std::size_t>(i)] = static_cast<double>(x[i]) * window_[static_cast<std::size_t>(i)];
  }
  fft(re_, im_);
  const int bins = fft_size_ / 2 + 1;
  for (int b = 0; b < p_.bands; ++b) {
    const float* f = filters_.data() + static_cast<std::size_t>(b) * static_cast<std::size_t>(bins);
    double power = 0.0;
    for (int k = 0; k < bins; ++k) {
      if (f[k] == 0.0f) continue;
      const double p = re_[static_cast<std::size_t>(k)] * re_[static_cast<std::size_t>(k)] +
                       im_[static_cast<std::size_t>(k)] * im_[static_cast<std::size_t>(k)];
      power += f[k] * p;
    }
    const double level_db = 10.0 * std::log10(power * power_scale_ + 1e-12);
    const double v = 1.0 + level_db / -p_.floor_db;
    out[b] = static_cast<float>(std::min(1.0, std::max(0.0, v)));
  }
}

}  // namespace spikegraph::sensory
