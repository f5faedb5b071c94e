// sensory/audio + Simulation::push_audio: mel filters, tone -> its band, silence ->
// 0, one band vector per step whatever the block sizes, the audio sensory nodes'
// drive/energy and the ledger's inflow, checkpoints with queued audio.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/sensory/audio.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

namespace s = spikegraph::sensory;
using spikegraph::InputError;
using spikegraph::Simulation;

namespace {

std::vector<float> tone(double hz, double amplitude, double rate, std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(amplitude * std::sin(2.0 * 3.14159265358979323846 * hz * static_cast<double>(i) / rate));
  }
  return x;
}

double mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }

s::AudioParams params16k() {
  s::AudioParams p;
  p.sample_rate = 16000.0;
  p.samples_per_step = 16.0;
  p.window_samples = 400;
  p.bands = 32;
  p.fmin_hz = 30.0;
  p.fmax_hz = 8000.0;
  p.floor_db = -80.0;
  return p;
}

}  // namespace

TEST_CASE("mel filter bank: triangles peaking at mel-spaced centres", "[sensory][audio]") {
  const int bands = 16, fft = 1024;
  const double rate = 16000.0;
  const auto f = s::mel_filter_bank(bands, fft, rate, 100.0, 6000.0);
  const int bins = fft / 2 + 1;
  REQUIRE(f.size() == static_cast<std::size_t>(bands * bins));
  double previous_peak = 0.0;
  for (int b = 0; b < bands; ++b) {
    const float* row = f.data() + b * bins;
    const int peak = static_cast<int>(std::max_element(row, row + bins) - row);
    const double peak_hz = peak * rate / fft;
    const double expected_mel = mel(100.0) + (mel(6000.0) - mel(100.0)) * (b + 1) / (bands + 1);
    CHECK(mel(peak_hz) == Approx(expected_mel).margin(mel(peak_hz + rate / fft) - mel(peak_hz)));
    CHECK(peak_hz > previous_peak);
    previous_peak = peak_hz;
    for (int k = 0; k < bins; ++k) {
      CHECK(row[k] >= 0.0f);
      CHECK(row[k] <= 1.0f);
    }
  }
}

TEST_CASE("audio mapper: a tone lights its band, silence is 0, level follows amplitude", "[sensory][audio]") {
  const s::AudioParams p = params16k();
  auto loudest_band = [&](double hz, double amplitude, std::vector<float>& out) {
    s::AudioMapper m(p);
    const auto x = tone(hz, amplitude, p.sample_rate, 4000);
    m.push(x.data(), x.size());
    REQUIRE(m.pending() > 100);
    out.assign(static_cast<std::size_t>(p.bands), 0.0f);
    for (int k = 0; k < 50; ++k) m.pop(out.data());  // a window well inside the tone
    return static_cast<int>(std::max_element(out.begin(), out.end()) - out.begin());
  };
  std::vector<float> v;
  const int band = loudest_band(1000.0, 1.0, v);
  // The band whose centre is nearest 1 kHz on the mel scale.
  int nearest = 0;
  double best = 1e9;
  for (int b = 0; b < p.bands; ++b) {
    const double c = mel(p.fmin_hz) + (mel(p.fmax_hz) - mel(p.fmin_hz)) * (b + 1) / (p.bands + 1);
    if (std::abs(c - mel(1000.0)) < best) best = std::abs(c - mel(1000.0)), nearest = b;
  }
  CHECK(std::abs(band - nearest) <= 1);
  CHECK(v[static_cast<std::size_t>(band)] > 0.85f);  // full scale: about -3 dB -> 0.96
  CHECK(v[0] < 0.3f);                                 // far from the tone
  std::vector<float> quiet;
  loudest_band(1000.0, 0.01, quiet);                  // -40 dB -> about 0.5
  CHECK(quiet[static_cast<std::size_t>(band)] == Approx(v[static_cast<std::size_t>(band)] - 0.5f).margin(0.05));
  s::AudioMapper silent(p);
  const std::vector<float> zeros(1000, 0.0f);
  silent.push(zeros.data(), zeros.size());
  std::vector<float> out(static_cast<std::size_t>(p.bands), 1.0f);
  REQUIRE(silent.pop(out.data()));
  for (float x : out) CHECK(x == 0.0f);
}

TEST_CASE("audio mapper: one band vector per step, the same for any block sizes", "[sensory][audio]") {
  s::AudioParams p = params16k();
  p.samples_per_step = 44.1;  // 44.1 kHz at dt = 1 ms: fractional steps
  p.sample_rate = 44100.0;
  p.window_samples = 1102;
  const auto x = tone(440.0, 0.5, p.sample_rate, 10000);
  s::AudioMapper whole(p), pieces(p);
  whole.push(x.data(), x.size());
  // Windows start at round(k * 44.1): the last complete one starts at or before 10000 - 1102.
  const auto expected = static_cast<std::size_t>(std::floor((10000.0 - 1102.0) / 44.1)) + 1;
  CHECK(whole.pending() == expected);
  std::size_t at = 0, step = 1;
  while (at < x.size()) {
    const std::size_t n = std::min(x.size() - at, step);
    pieces.push(x.data() + at, n);
    at += n;
    step = step * 3 % 997 + 1;
  }
  REQUIRE(pieces.pending() == whole.pending());
  std::vector<float> a(32), b(32);
  while (whole.pop(a.data())) {
    REQUIRE(pieces.pop(b.data()));
    REQUIRE(a == b);
  }
  CHECK_FALSE(pieces.pop(b.data()));
  // A NaN sample is refused and nothing is queued.
  std::vector<float> bad(500, 0.1f);
  bad[123] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(whole.push(bad.data(), bad.size()), Catch::Contains("sample 123 is not finite"));
  CHECK(whole.pending() == 0);
  CHECK_THROWS_AS(s::AudioMapper(s::AudioParams{0.0, 1.0, 100, 8, 0.0, 100.0, -80.0}), InputError);
}

TEST_CASE("push_audio drives the audio sensory nodes and the ledger counts it", "[sensory][audio][sim]") {
  auto cfg = spikegraph::config::Config::from_toml(spikegraph::config::default_run_toml(), "<default run>");
  cfg.update(spikegraph::config::parse_toml(R"(
graph.sensory_side = 4
graph.workspace_side = 2
sensory.audio_bands = 8
sensory.source = "none"
energy.record_ledger = true
)", "<test>"));
  const auto graph = spikegraph::make_network(cfg);
  const auto& types = graph->node_type();
  CHECK(std::count(types.begin(), types.end(), static_cast<std::uint8_t>(spikegraph::NodeType::sensory)) == 16 + 8);
  Simulation sim(graph, cfg);
  CHECK(sim.sensory_grid_height() == 4);  // the grid is the first 16 sensory nodes
  const auto x = tone(1000.0, 0.8, 16000.0, 16000);
  sim.push_audio(x.data(), x.size(), 16000.0);
  const std::size_t queued = sim.audio_frames_pending();
  CHECK(queued == (16000 - 400) / 16 + 1);
  sim.run_steps(10);
  CHECK(sim.audio_frames_applied() == 10);
  CHECK(sim.audio_frames_pending() == queued - 10);
  const auto drive = sgtest::state_of(sim, "drive");
  const double gain = cfg.real("sensory.gain");
  double loudest = 0.0;
  for (std::size_t i = 16; i < 24; ++i) loudest = std::max(loudest, drive[i] / gain);
  CHECK(loudest > 0.5);
  CHECK(sim.ledger_history().front().inflow != 0.0);  // audio set the audio nodes' energy: counted as inflow
  for (const auto& l : sim.ledger_history()) CHECK(std::abs(l.error()) <= 1e-4 * l.total_after);
  CHECK_THROWS_WITH(sim.push_audio(x.data(), 10, 8000.0), Catch::Contains("call reset_audio first"));
  sim.reset_audio();
  CHECK(sim.audio_frames_pending() == 0);
  sim.push_audio(x.data(), 1000, 8000.0);

  SECTION("checkpoints keep queued audio") {
    sgtest::TempDir dir;
    sim.save(dir.file("a.sgckpt"));
    auto resumed = Simulation::load(dir.file("a.sgckpt"));
    CHECK(resumed->audio_frames_pending() == sim.audio_frames_pending());
    resumed->run_steps(30);
    sim.run_steps(30);
    CHECK(resumed->spikes().nodes == sim.spikes().nodes);
    CHECK(sgtest::state_of(*resumed, "drive") == sgtest::state_of(sim, "drive"));
  }
  SECTION("a network without audio nodes refuses audio") {
    auto plain = cfg;
    plain.update(spikegraph::config::parse_toml("sensory.audio_bands = 0", "<test>"));
    Simulation no_audio(spikegraph::make_network(plain), plain);
    CHECK_THROWS_WITH(no_audio.push_audio(x.data(), 10, 16000.0), Catch::Contains("no audio sensory nodes"));
  }
}
