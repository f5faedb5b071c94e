// frames_bench: throughput of spikegraph::sensory::map_frame (docs/model.md step 1) on
// camera-sized frames: a 1920x1080 RGB frame (u8, then f32, plus u8 RGBA and gray)
// mapped onto a 64x64 sensory grid (and the default network's 32x32), with 1 and 2
// threads. Prints the median over repeats of the time per frame, frames/s and the
// input bandwidth (frame bytes / time) at the median, and the best time (useful on a
// shared machine, where a thread that waits for a core stalls a whole frame).
//
// Standalone build (the engine's Release flags), from the repository root:
//   g++ -std=c++17 -O3 -march=native -ffp-contract=off -pthread -Iengine/include engine/src/sensory/frames.cpp engine/src/backend/cpu/thread_pool.cpp benchmarks/frames_bench.cpp -o /tmp/frames_bench
// (or -DSPIKEGRAPH_BENCHMARKS=ON: target spikegraph_bench_frames)
// Run:  /tmp/frames_bench [repeats=21] [max_threads=2]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "spikegraph/sensory/frames.hpp"

namespace sn = spikegraph::sensory;
using Clock = std::chrono::steady_clock;

namespace {

std::uint32_t hash(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

struct Case {
  std::string name;
  sn::FrameView view;
  int grid_h;
  int grid_w;
  std::size_t bytes;
};

// Median and best seconds per frame of map_frame over `repeats` batches; each batch
// runs enough frames to take at least ~20 ms.
struct Timing {
  double median;
  double best;
};

Timing time_case(const Case& c, int threads, int repeats, double& checksum) {
  std::vector<float> gray(static_cast<std::size_t>(c.grid_h) * c.grid_w);
  std::vector<float> drive(gray.size());
  auto run = [&] { sn::map_frame(c.view, c.grid_h, c.grid_w, 2.0f, gray.data(), drive.data(), threads); };
  run();  // warm-up (page faults, thread pool)
  int batch = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i) run();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > 0.02 || batch >= 1 << 20) break;
    batch *= 2;
  }
  std::vector<double> per_frame;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i) run();
    per_frame.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / batch);
  }
  std::sort(per_frame.begin(), per_frame.end());
  for (float g : gray) checksum += g;
  return Timing{per_frame[per_frame.size() / 2], per_frame.front()};
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 21;
  const int max_threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
  const int H = 1080, W = 1920;

  std::vector<std::uint8_t> rgb8(static_cast<std::size_t>(H) * W * 3);
  std::vector<std::uint8_t> rgba8(static_cast<std::size_t>(H) * W * 4);
  std::vector<std::uint8_t> gray8(static_cast<std::size_t>(H) * W);
  std::vector<float> rgb32(rgb8.size());
  for (std::size_t i = 0; i < rgb8.size(); ++i) {
    rgb8[i] = static_cast<std::uint8_t>(hash(static_cast<std::uint32_t>(i)) & 0xFF);
    rgb32[i] = static_cast<float>(rgb8[i]) / 255.0f;
  }
  for (std::size_t i = 0; i < rgba8.size(); ++i)
    rgba8[i] = static_cast<std::uint8_t>(hash(static_cast<std::uint32_t>(i) + 7u) & 0xFF);
  for (std::size_t i = 0; i < gray8.size(); ++i)
    gray8[i] = static_cast<std::uint8_t>(hash(static_cast<std::uint32_t>(i) + 3u) & 0xFF);

  using T = sn::FrameView::Type;
  auto view = [&](const void* data, int ch, T type, std::size_t value_bytes) {
    return sn::FrameView{data, H, W, ch, type, static_cast<std::ptrdiff_t>(W * ch * value_bytes)};
  };
  const std::vector<Case> cases = {
      {"1920x1080 RGB  u8  -> 64x64", view(rgb8.data(), 3, T::u8, 1), 64, 64, rgb8.size()},
      {"1920x1080 RGB  f32 -> 64x64", view(rgb32.data(), 3, T::f32, 4), 64, 64, rgb32.size() * 4},
      {"1920x1080 RGBA u8  -> 64x64", view(rgba8.data(), 4, T::u8, 1), 64, 64, rgba8.size()},
      {"1920x1080 gray u8  -> 64x64", view(gray8.data(), 1, T::u8, 1), 64, 64, gray8.size()},
      {"1920x1080 RGB  u8  -> 32x32", view(rgb8.data(), 3, T::u8, 1), 32, 32, rgb8.size()},
  };

  std::printf("map_frame throughput (the engine's thread pool), median of %d repeats\n", repeats);
  std::printf("%-30s %7s %10s %10s %9s %10s\n", "case", "threads", "ms/frame", "frames/s", "GB/s",
              "best ms");
  double checksum = 0;
  for (const Case& c : cases) {
    for (int t = 1; t <= max_threads; ++t) {
      const Timing tm = time_case(c, t, repeats, checksum);
      const double s = tm.median;
      std::printf("%-30s %7d %10.3f %10.1f %9.2f %10.3f\n", c.name.c_str(), t, s * 1e3, 1.0 / s,
                  static_cast<double>(c.bytes) / s * 1e-9, tm.best * 1e3);
    }
  }
  std::printf("(checksum %.6f)\n", checksum);
  return 0;
}
