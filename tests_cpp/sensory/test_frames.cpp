// sensory/frames.hpp and kernels/sensory.hpp: luminance, the area-averaging weights,
// map_frame (exact area averages against a plain double-precision reference, input
// types and layouts, validation, thread-count independence) and the moving grating.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/kernels/sensory.hpp"
#include "spikegraph/sensory/frames.hpp"
#include "support/test_util.hpp"

namespace k = spikegraph::kernels;
namespace sn = spikegraph::sensory;
using spikegraph::InputError;
using Type = sn::FrameView::Type;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// A frame held in 8-byte-aligned storage, with optional row padding (filled with 0xFF
// bytes: 255 for u8, NaN for f32/f64) and optional bottom-up storage (negative stride).
struct Frame {
  std::vector<std::uint64_t> storage;
  sn::FrameView view;

  unsigned char* row_ptr(int y) {
    return const_cast<unsigned char*>(static_cast<const unsigned char*>(view.data)) +
           view.row_stride_bytes * static_cast<std::ptrdiff_t>(y);
  }
  const unsigned char* row_ptr(int y) const {
    return static_cast<const unsigned char*>(view.data) +
           view.row_stride_bytes * static_cast<std::ptrdiff_t>(y);
  }
  // Stores v (in [0,1] for u8: rounded to v * 255; any value for floats).
  void set(int y, int x, int c, double v) {
    unsigned char* p = row_ptr(y);
    const std::size_t i = static_cast<std::size_t>(x) * view.channels + c;
    switch (view.type) {
      case Type::u8: p[i] = static_cast<unsigned char>(std::lround(v * 255.0)); break;
      case Type::f32: {
        const float f = static_cast<float>(v);
        std::memcpy(p + 4 * i, &f, 4);
        break;
      }
      case Type::f64: std::memcpy(p + 8 * i, &v, 8); break;
    }
  }
  // The stored value as map_frame reads it (u8 scaled by 1/255).
  double get(int y, int x, int c) const {
    const unsigned char* p = row_ptr(y);
    const std::size_t i = static_cast<std::size_t>(x) * view.channels + c;
    switch (view.type) {
      case Type::u8: return p[i] / 255.0;
      case Type::f32: {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        return f;
      }
      case Type::f64: {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        return d;
      }
    }
    return 0;
  }
};

std::size_t value_size(Type t) { return t == Type::u8 ? 1 : (t == Type::f32 ? 4 : 8); }

Frame make_frame(int h, int w, int ch, Type t, const std::function<double(int, int, int)>& f,
                 int pad_values = 0, bool bottom_up = false) {
  Frame fr;
  const std::size_t vs = value_size(t);
  const std::size_t row_bytes = (static_cast<std::size_t>(w) * ch + pad_values) * vs;
  fr.storage.assign((row_bytes * h + 7) / 8 + 1, ~std::uint64_t{0});
  auto* base = reinterpret_cast<unsigned char*>(fr.storage.data());
  fr.view.height = h;
  fr.view.width = w;
  fr.view.channels = ch;
  fr.view.type = t;
  if (bottom_up) {
    fr.view.data = base + row_bytes * (h - 1);
    fr.view.row_stride_bytes = -static_cast<std::ptrdiff_t>(row_bytes);
  } else {
    fr.view.data = base;
    fr.view.row_stride_bytes = static_cast<std::ptrdiff_t>(row_bytes);
  }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < ch; ++c) fr.set(y, x, c, f(y, x, c));
  return fr;
}

// Deterministic pseudo-random value in [0, 1].
double noise(int y, int x, int c, std::uint32_t seed = 1) {
  std::uint32_t h = seed * 0x9E3779B9u;
  h ^= static_cast<std::uint32_t>(y) * 0x85EBCA6Bu;
  h = (h ^ (h >> 13)) * 0xC2B2AE35u;
  h ^= static_cast<std::uint32_t>(x) * 0x27D4EB2Fu;
  h = (h ^ (h >> 15)) * 0x165667B1u;
  h ^= static_cast<std::uint32_t>(c) * 0x61C88647u;
  h = (h ^ (h >> 16)) * 0x7FEB352Du;
  h ^= h >> 15;
  return static_cast<double>(h % 1000001u) / 1000000.0;
}

// Straightforward reference: pixel (y, x) is the square [x, x+1) x [y, y+1); grid
// cell (r, j) is the rectangle [j W/gw, (j+1) W/gw) x [r H/gh, (r+1) H/gh); the cell
// value is the coverage-weighted mean of the pixels' luminance, all in double.
std::vector<double> reference(const Frame& fr, int gh, int gw) {
  const int H = fr.view.height, W = fr.view.width;
  std::vector<double> out(static_cast<std::size_t>(gh) * gw);
  auto lum = [&](int y, int x) {
    if (fr.view.channels == 1) return fr.get(y, x, 0);
    return 0.2126 * fr.get(y, x, 0) + 0.7152 * fr.get(y, x, 1) + 0.0722 * fr.get(y, x, 2);
  };
  for (int r = 0; r < gh; ++r) {
    const double y0 = static_cast<double>(r) * H / gh, y1 = static_cast<double>(r + 1) * H / gh;
    for (int j = 0; j < gw; ++j) {
      const double x0 = static_cast<double>(j) * W / gw, x1 = static_cast<double>(j + 1) * W / gw;
      double sum = 0;
      for (int y = 0; y < H; ++y) {
        const double oy = std::min<double>(y + 1, y1) - std::max<double>(y, y0);
        if (oy <= 0) continue;
        for (int x = 0; x < W; ++x) {
          const double ox = std::min<double>(x + 1, x1) - std::max<double>(x, x0);
          if (ox <= 0) continue;
          sum += oy * ox * lum(y, x);
        }
      }
      out[static_cast<std::size_t>(r) * gw + j] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

struct Mapped {
  std::vector<float> gray, drive;
};

Mapped map(const Frame& fr, int gh, int gw, float gain = 2.0f, int threads = 1) {
  Mapped m;
  m.gray.assign(static_cast<std::size_t>(gh) * gw, -7.0f);
  m.drive.assign(static_cast<std::size_t>(gh) * gw, -7.0f);
  sn::map_frame(fr.view, gh, gw, gain, m.gray.data(), m.drive.data(), threads);
  return m;
}

void check_against_reference(const Frame& fr, int gh, int gw, double tol = 1e-6) {
  const Mapped m = map(fr, gh, gw, 2.0f);
  const std::vector<double> ref = reference(fr, gh, gw);
  for (std::size_t q = 0; q < ref.size(); ++q) {
    INFO("frame " << fr.view.height << "x" << fr.view.width << "x" << fr.view.channels
                  << " type " << static_cast<int>(fr.view.type) << " -> grid " << gh << "x"
                  << gw << ", cell " << q);
    REQUIRE(m.gray[q] == Approx(ref[q]).margin(tol));
    REQUIRE(m.gray[q] >= 0.0f);
    REQUIRE(m.gray[q] <= 1.0f);
    REQUIRE(m.drive[q] == 2.0f * m.gray[q]);
  }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

// ------------------------------------------------------------------ kernels

TEST_CASE("luminance uses the Rec. 709 weights", "[sensory][kernels]") {
  CHECK(k::luminance(1.0f, 0.0f, 0.0f) == 0.2126f);
  CHECK(k::luminance(0.0f, 1.0f, 0.0f) == 0.7152f);
  CHECK(k::luminance(0.0f, 0.0f, 1.0f) == 0.0722f);
  CHECK(k::luminance(0.0f, 0.0f, 0.0f) == 0.0f);
  CHECK(k::luminance(1.0f, 1.0f, 1.0f) == Approx(1.0f).margin(1e-7));
  CHECK(k::luminance(0.5f, 0.25f, 1.0f) == Approx(0.2126 * 0.5 + 0.7152 * 0.25 + 0.0722));
  CHECK(k::luminance(1.0, 0.0, 0.0) == 0.2126);
  CHECK(k::luminance(0.0, 1.0, 0.0) == 0.7152);
  CHECK(k::luminance(0.0, 0.0, 1.0) == 0.0722);
  CHECK(k::kLumaR + k::kLumaG + k::kLumaB == Approx(1.0).margin(1e-15));
}

TEST_CASE("area weights are the exact coverage fractions", "[sensory][kernels]") {
  const int sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 30, 31, 64, 100};
  for (int n_in : sizes) {
    for (int n_out : sizes) {
      INFO("n_in " << n_in << ", n_out " << n_out);
      const double cell = static_cast<double>(n_in) / n_out;  // output cell width in inputs
      for (int j = 0; j < n_out; ++j) {
        const int a = k::area_first_input(j, n_in, n_out);
        const int b = k::area_end_input(j, n_in, n_out);
        REQUIRE(0 <= a);
        REQUIRE(a < b);
        REQUIRE(b <= n_in);
        REQUIRE(b - a <= k::area_max_span(n_in, n_out));
        std::int64_t total = 0;
        double weights = 0;
        for (int i = 0; i < n_in; ++i) {
          const std::int64_t ov = k::area_overlap(i, j, n_in, n_out);
          const double lo = std::max<double>(i, j * cell), hi = std::min<double>(i + 1, (j + 1) * cell);
          const double expected = std::max(0.0, hi - lo) / cell;
          REQUIRE(k::area_weight(i, j, n_in, n_out) == Approx(expected).margin(1e-12));
          REQUIRE((ov > 0) == (a <= i && i < b));  // the span is exactly the covered inputs
          REQUIRE(ov <= std::min(n_in, n_out));
          total += ov;
          weights += k::area_weight(i, j, n_in, n_out);
        }
        REQUIRE(total == n_in);
        REQUIRE(weights == Approx(1.0).margin(1e-12));
      }
      for (int i = 0; i < n_in; ++i) {
        const int a = k::area_first_output(i, n_in, n_out);
        const int b = k::area_end_output(i, n_in, n_out);
        for (int j = 0; j < n_out; ++j)
          REQUIRE((k::area_overlap(i, j, n_in, n_out) > 0) == (a <= j && j < b));
      }
    }
  }
  // Hand-checked: 3 inputs onto 2 outputs; output 0 covers input 0 fully and half of input 1.
  CHECK(k::area_weight(0, 0, 3, 2) == Approx(2.0 / 3.0));
  CHECK(k::area_weight(1, 0, 3, 2) == Approx(1.0 / 3.0));
  CHECK(k::area_weight(2, 0, 3, 2) == 0.0);
  // 2 inputs onto 3 outputs: output 1 straddles the border between the inputs.
  CHECK(k::area_weight(0, 1, 2, 3) == Approx(0.5));
  CHECK(k::area_weight(1, 1, 2, 3) == Approx(0.5));
  CHECK(k::area_weight(0, 0, 2, 3) == 1.0);
}

// ------------------------------------------------------------------ map_frame: values

TEST_CASE("map_frame maps uniform frames to the same value everywhere", "[sensory][frames]") {
  const int shapes[][4] = {{1, 1, 1, 1},   {4, 4, 2, 2},   {7, 5, 3, 2},    {270, 480, 64, 64},
                           {3, 2, 7, 5},   {5, 9, 5, 9},   {480, 640, 32, 32}, {2, 3, 4096, 1}};
  for (Type t : {Type::u8, Type::f32, Type::f64}) {
    for (int ch : {1, 3, 4}) {
      for (double v : {0.0, 1.0, 128.0 / 255.0, 0.25}) {
        // Slow builds map one value that u8 holds exactly and one it rounds.
        if (sgtest::kSlowBuild && (v == 0.0 || v == 1.0)) continue;
        for (const auto& s : shapes) {
          const Frame fr = make_frame(s[0], s[1], ch, t, [&](int, int, int) { return v; });
          const double stored = fr.get(0, 0, 0);
          const Mapped m = map(fr, s[2], s[3], 1.5f);
          for (std::size_t q = 0; q < m.gray.size(); ++q) {
            INFO("type " << static_cast<int>(t) << " channels " << ch << " value " << v << " shape "
                         << s[0] << "x" << s[1] << "->" << s[2] << "x" << s[3]);
            REQUIRE(m.gray[q] == Approx(stored).margin(1e-7));
            REQUIRE(m.gray[q] == m.gray[0]);
            REQUIRE(m.drive[q] == 1.5f * m.gray[q]);
          }
          if (v == 0.0 || v == 1.0) REQUIRE(m.gray[0] == static_cast<float>(v));
        }
      }
    }
  }
}

TEST_CASE("map_frame on hand-made frames gives the hand-computed area averages",
          "[sensory][frames]") {
  SECTION("one row of three onto two cells (factor 1.5)") {
    const double vals[] = {0.0, 0.5, 1.0};
    const Frame fr = make_frame(1, 3, 1, Type::f32, [&](int, int x, int) { return vals[x]; });
    const Mapped m = map(fr, 1, 2, 1.0f);
    CHECK(m.gray[0] == Approx((0.0 * 1.0 + 0.5 * 0.5) / 1.5).margin(1e-7));
    CHECK(m.gray[1] == Approx((0.5 * 0.5 + 1.0 * 1.0) / 1.5).margin(1e-7));
  }
  SECTION("2x2 checkerboard of 4x4 onto 2x2 (factor 2)") {
    const Frame fr =
        make_frame(4, 4, 1, Type::u8, [](int y, int x, int) { return ((y + x) % 2) ? 1.0 : 0.0; });
    const Mapped m = map(fr, 2, 2, 1.0f);
    for (float g : m.gray) CHECK(g == 0.5f);
  }
  SECTION("upsampling two pixels onto three cells") {
    const Frame fr = make_frame(1, 2, 1, Type::f64, [](int, int x, int) { return x ? 1.0 : 0.2; });
    const Mapped m = map(fr, 1, 3, 1.0f);
    CHECK(m.gray[0] == Approx(0.2).margin(1e-7));
    CHECK(m.gray[1] == Approx(0.6).margin(1e-7));  // half of each pixel
    CHECK(m.gray[2] == Approx(1.0).margin(1e-7));
  }
  SECTION("RGB pixels are converted to luminance before averaging") {
    // Two pixels: pure red and pure green, averaged into one cell.
    const Frame fr = make_frame(1, 2, 3, Type::u8, [](int, int x, int c) { return c == x ? 1.0 : 0.0; });
    const Mapped m = map(fr, 1, 1, 1.0f);
    CHECK(m.gray[0] == Approx((0.2126 + 0.7152) / 2).margin(1e-7));
  }
  SECTION("a single pixel fills every cell") {
    const Frame fr = make_frame(1, 1, 3, Type::f32, [](int, int, int c) { return 0.25 * (c + 1); });
    const Mapped m = map(fr, 3, 5, 1.0f);
    for (float g : m.gray) CHECK(g == Approx(0.2126 * 0.25 + 0.7152 * 0.5 + 0.0722 * 0.75).margin(1e-7));
  }
}

TEST_CASE("map_frame equals the double-precision area-average reference", "[sensory][frames]") {
  // {height, width, grid_h, grid_w}: integer factors, non-integer factors, upsampling,
  // mixed (down in one axis, up in the other), the whole frame onto one cell.
  const int shapes[][4] = {{8, 8, 4, 4},  {8, 12, 2, 3},  {9, 6, 3, 3},   {7, 5, 3, 2},
                           {10, 13, 4, 6}, {11, 17, 5, 7}, {3, 2, 7, 5},   {4, 5, 9, 11},
                           {6, 3, 4, 7},  {3, 10, 8, 4},  {13, 9, 1, 1},  {1, 9, 1, 4},
                           {9, 1, 4, 1},  {5, 5, 5, 5},   {64, 48, 17, 13}, {2, 2, 3, 3}};
  for (Type t : {Type::u8, Type::f32, Type::f64}) {
    for (int ch : {1, 3, 4}) {
      for (const auto& s : shapes) {
        const Frame fr = make_frame(s[0], s[1], ch, t, [&](int y, int x, int c) {
          return noise(y, x, c, static_cast<std::uint32_t>(ch * 10 + static_cast<int>(t)));
        });
        check_against_reference(fr, s[2], s[3]);
      }
    }
  }
}

TEST_CASE("map_frame: u8 and f32 input agree", "[sensory][frames]") {
  for (int ch : {1, 3, 4}) {
    auto f = [&](int y, int x, int c) { return noise(y, x, c, 7); };
    const Frame fu = make_frame(37, 53, ch, Type::u8, f);
    // The same stored u8 values, as floats v / 255.
    const Frame ff = make_frame(37, 53, ch, Type::f32, [&](int y, int x, int c) { return fu.get(y, x, c); });
    const Frame fd = make_frame(37, 53, ch, Type::f64, [&](int y, int x, int c) { return fu.get(y, x, c); });
    for (const auto& g : {std::pair<int, int>{8, 8}, {5, 7}, {64, 80}}) {
      const Mapped mu = map(fu, g.first, g.second);
      const Mapped mf = map(ff, g.first, g.second);
      const Mapped md = map(fd, g.first, g.second);
      for (std::size_t q = 0; q < mu.gray.size(); ++q) {
        REQUIRE(mu.gray[q] == Approx(mf.gray[q]).margin(1e-6));
        REQUIRE(mu.gray[q] == Approx(md.gray[q]).margin(1e-6));
      }
    }
  }
}

TEST_CASE("map_frame ignores the alpha channel of RGBA frames", "[sensory][frames]") {
  for (Type t : {Type::u8, Type::f32, Type::f64}) {
    const Frame rgb = make_frame(19, 23, 3, t, [](int y, int x, int c) { return noise(y, x, c, 3); });
    // Alpha holds noise (u8) or values that would be rejected in a color channel (floats).
    const Frame rgba = make_frame(19, 23, 4, t, [&](int y, int x, int c) {
      if (c < 3) return noise(y, x, c, 3);
      if (t == Type::u8) return noise(y, x, c, 99);
      return (x + y) % 3 == 0 ? kNaN : ((x + y) % 3 == 1 ? -5.0 : kInf);
    });
    for (const auto& g : {std::pair<int, int>{4, 4}, {7, 5}, {40, 50}}) {
      REQUIRE(same_bits(map(rgb, g.first, g.second).gray, map(rgba, g.first, g.second).gray));
      REQUIRE(same_bits(map(rgb, g.first, g.second).drive, map(rgba, g.first, g.second).drive));
    }
  }
}

TEST_CASE("map_frame respects the row stride (padding, bottom-up storage)", "[sensory][frames]") {
  for (Type t : {Type::u8, Type::f32, Type::f64}) {
    for (int ch : {1, 3, 4}) {
      auto f = [&](int y, int x, int c) { return noise(y, x, c, 5); };
      const Frame packed = make_frame(21, 17, ch, t, f);
      const Frame padded = make_frame(21, 17, ch, t, f, 5);  // padding = 0xFF bytes (NaN for floats)
      const Frame flipped = make_frame(21, 17, ch, t, f, 3, true);
      REQUIRE(padded.view.row_stride_bytes >
              static_cast<std::ptrdiff_t>(17 * ch * value_size(t)));
      REQUIRE(flipped.view.row_stride_bytes < 0);
      for (const auto& g : {std::pair<int, int>{4, 4}, {6, 5}, {30, 40}}) {
        const Mapped a = map(packed, g.first, g.second);
        REQUIRE(same_bits(a.gray, map(padded, g.first, g.second).gray));
        REQUIRE(same_bits(a.gray, map(flipped, g.first, g.second).gray));
      }
      check_against_reference(padded, 6, 5);
    }
  }
}

TEST_CASE("map_frame gives bit-identical results for any thread count", "[sensory][frames]") {
  const int shapes[][4] = {{120, 160, 64, 64}, {123, 77, 10, 9}, {50, 40, 64, 48},
                           {31, 29, 3, 5},     {9, 9, 2, 2},     {1, 1, 5, 3}};
  for (Type t : {Type::u8, Type::f32, Type::f64}) {
    for (int ch : {1, 3, 4}) {
      for (const auto& s : shapes) {
        const Frame fr = make_frame(s[0], s[1], ch, t, [](int y, int x, int c) { return noise(y, x, c, 11); });
        const Mapped one = map(fr, s[2], s[3], 2.0f, 1);
        for (int threads : {2, 3, 4, 7}) {
          INFO("threads " << threads << " shape " << s[0] << "x" << s[1] << "->" << s[2] << "x" << s[3]);
          const Mapped many = map(fr, s[2], s[3], 2.0f, threads);
          REQUIRE(same_bits(one.gray, many.gray));
          REQUIRE(same_bits(one.drive, many.drive));
        }
      }
    }
  }
}

// ------------------------------------------------------------------ map_frame: validation

namespace {

// Runs map_frame on the given view and requires an InputError with exactly `message`
// (or starting with it when prefix_only), leaving both outputs untouched.
void require_rejected(const sn::FrameView& view, int gh, int gw, const std::string& message,
                      bool prefix_only = false, float gain = 2.0f, int threads = 1,
                      bool null_gray = false, bool null_drive = false) {
  std::vector<float> gray(64 * 64, -7.0f), drive(64 * 64, -9.0f);
  try {
    sn::map_frame(view, gh, gw, gain, null_gray ? nullptr : gray.data(),
                  null_drive ? nullptr : drive.data(), threads);
    FAIL("no exception; expected: " << message);
  } catch (const InputError& e) {
    const std::string what = e.what();
    if (prefix_only) {
      REQUIRE(what.rfind(message, 0) == 0);
    } else {
      REQUIRE(what == message);
    }
  }
  bool untouched = true;
  for (float g : gray) untouched = untouched && g == -7.0f;
  for (float d : drive) untouched = untouched && d == -9.0f;
  REQUIRE(untouched);
}

}  // namespace

TEST_CASE("map_frame rejects invalid arguments and leaves the outputs untouched",
          "[sensory][frames][errors]") {
  const Frame good = make_frame(6, 8, 3, Type::f32, [](int y, int x, int c) { return noise(y, x, c); });
  sn::FrameView v = good.view;

  SECTION("frame") {
    v.data = nullptr;
    require_rejected(v, 4, 4, "map_frame: frame data is null");
    v = good.view;
    v.height = 0;
    require_rejected(v, 4, 4, "map_frame: frame size 0x8 (height x width) is not positive");
    v = good.view;
    v.width = -3;
    require_rejected(v, 4, 4, "map_frame: frame size 6x-3 (height x width) is not positive");
    v = good.view;
    v.height = (1 << 24) + 1;  // rejected before any value is read
    require_rejected(v, 4, 4,
                     "map_frame: frame size 16777217x8 (height x width) is larger than 16777216x16777216");
    for (int ch : {0, 2, 5, -1}) {
      v = good.view;
      v.channels = ch;
      require_rejected(v, 4, 4, "map_frame: channels = " + std::to_string(ch) +
                                    "; expected 1 (gray), 3 (RGB) or 4 (RGBA)");
    }
    v = good.view;
    v.type = static_cast<Type>(7);
    require_rejected(v, 4, 4, "map_frame: unknown frame type 7");
  }
  SECTION("layout") {
    v.row_stride_bytes = 8 * 3 * 4 - 4;
    require_rejected(v, 4, 4,
                     "map_frame: row_stride_bytes = 92 is smaller than a row (8 pixels x 3 channels "
                     "x 4 bytes = 96)");
    v.row_stride_bytes = -92;
    require_rejected(v, 4, 4, "map_frame: row_stride_bytes = -92 is smaller", true);
    v.row_stride_bytes = 98;
    require_rejected(v, 4, 4,
                     "map_frame: row_stride_bytes = 98 is not a multiple of the f32 value size (4 bytes)");
    v = good.view;
    v.data = static_cast<const unsigned char*>(good.view.data) + 2;
    require_rejected(v, 4, 4, "map_frame: frame data is not aligned to the f32 value size (4 bytes)");
  }
  SECTION("grid, gain, outputs, threads") {
    require_rejected(v, 0, 4, "map_frame: grid 0x4 is not positive");
    require_rejected(v, 4, -1, "map_frame: grid 4x-1 is not positive");
    require_rejected(v, 4097, 4, "map_frame: grid 4097x4 is larger than 4096x4096");
    require_rejected(v, 4, 4097, "map_frame: grid 4x4097 is larger than 4096x4096");
    require_rejected(v, 4, 4, "map_frame: gain = nan is not finite", false,
                     std::numeric_limits<float>::quiet_NaN());
    require_rejected(v, 4, 4, "map_frame: gain = inf is not finite", false,
                     std::numeric_limits<float>::infinity());
    require_rejected(v, 4, 4, "map_frame: gray_out is null", false, 2.0f, 1, true, false);
    require_rejected(v, 4, 4, "map_frame: drive_out is null", false, 2.0f, 1, false, true);
    require_rejected(v, 4, 4, "map_frame: threads = 0; expected at least 1", false, 2.0f, 0);
    require_rejected(v, 4, 4, "map_frame: threads = -2; expected at least 1", false, 2.0f, -2);
  }
  SECTION("the largest grid is accepted") {
    std::vector<float> gray(4096), drive(4096);
    REQUIRE_NOTHROW(sn::map_frame(v, 4096, 1, 1.0f, gray.data(), drive.data()));
    REQUIRE_NOTHROW(sn::map_frame(v, 1, 4096, 1.0f, gray.data(), drive.data()));
  }
}

TEST_CASE("map_frame rejects non-finite and out-of-range values, naming the first one",
          "[sensory][frames][errors]") {
  for (Type t : {Type::f32, Type::f64}) {
    INFO("type " << static_cast<int>(t));
    Frame fr = make_frame(10, 12, 3, t, [](int y, int x, int c) { return noise(y, x, c); });
    fr.set(3, 7, 1, kNaN);
    require_rejected(fr.view, 4, 4, "map_frame: pixel (row 3, col 7) channel 1 = nan is not finite");
    for (int threads : {2, 3}) require_rejected(fr.view, 4, 4,
        "map_frame: pixel (row 3, col 7) channel 1 = nan is not finite", false, 2.0f, threads);
    // Later offenders, in other threads' rows too, do not hide the first.
    fr.set(9, 0, 0, 2.0);
    fr.set(3, 9, 0, -1.0);
    fr.set(6, 2, 2, kInf);
    for (int threads : {1, 2, 3, 4})
      require_rejected(fr.view, 5, 3, "map_frame: pixel (row 3, col 7) channel 1 = nan is not finite",
                       false, 2.0f, threads);
    // Earlier in the same pixel / row.
    fr.set(3, 7, 0, 1.5);
    require_rejected(fr.view, 4, 4, "map_frame: pixel (row 3, col 7) channel 0 = 1.5 is outside [0, 1]");
    fr.set(3, 1, 2, -kInf);
    require_rejected(fr.view, 2, 2, "map_frame: pixel (row 3, col 1) channel 2 = -inf is not finite",
                     false, 2.0f, 2);
    fr.set(0, 11, 2, -0.25);
    require_rejected(fr.view, 3, 3, "map_frame: pixel (row 0, col 11) channel 2 = -0.25 is outside [0, 1]",
                     false, 2.0f, 3);
  }
  SECTION("a value just above 1 is printed exactly") {
    Frame fr = make_frame(2, 2, 1, Type::f32, [](int, int, int) { return 0.5; });
    fr.set(1, 1, 0, static_cast<double>(std::nextafter(1.0f, 2.0f)));
    require_rejected(fr.view, 1, 1, "map_frame: pixel (row 1, col 1) channel 0 = 1.0000001 is outside [0, 1]");
    Frame fd = make_frame(2, 2, 1, Type::f64, [](int, int, int) { return 0.5; });
    fd.set(1, 0, 0, std::nextafter(0.0, -1.0));
    require_rejected(fd.view, 1, 1, "map_frame: pixel (row 1, col 0) channel 0 = -5e-324 is outside [0, 1]");
  }
  SECTION("every pixel is checked, for every layout and resampling") {
    for (int ch : {1, 3, 4}) {
      for (const auto& g : {std::pair<int, int>{1, 1}, {3, 4}, {7, 9}, {20, 30}}) {
        for (int y = 0; y < 7; ++y) {
          for (int x = 0; x < 9; ++x) {
            Frame fr = make_frame(7, 9, ch, Type::f32, [](int, int, int) { return 0.5; }, 1, (x + y) % 2);
            const int c = (ch == 1) ? 0 : (x + y) % 3;
            fr.set(y, x, c, 1.25);
            require_rejected(fr.view, g.first, g.second,
                             "map_frame: pixel (row " + std::to_string(y) + ", col " +
                                 std::to_string(x) + ") channel " + std::to_string(c) +
                                 " = 1.25 is outside [0, 1]",
                             false, 1.0f, 1 + (x % 2));
          }
        }
      }
    }
  }
  SECTION("the boundary values 0 and 1 are accepted") {
    const Frame fr = make_frame(3, 3, 3, Type::f64, [](int y, int, int) { return y == 1 ? 1.0 : 0.0; });
    const Mapped m = map(fr, 3, 1);
    CHECK(m.gray[0] == 0.0f);
    CHECK(m.gray[1] == 1.0f);
    CHECK(m.gray[2] == 0.0f);
  }
}

// ------------------------------------------------------------------ moving grating

TEST_CASE("moving_grating stays in [0, 1] and follows the formula", "[sensory][grating]") {
  const int H = 24, W = 40;
  std::vector<float> g(H * W, -1.0f);
  sn::GratingParams p;  // defaults: wavelength 8, orientation 30, 2 Hz, contrast 1
  float lo = 2, hi = -1;
  for (std::int64_t step : {0, 1, 17, 250, 999}) {
    sn::moving_grating(H, W, step, 1.0, p, g.data());
    const double t_s = static_cast<double>(step) * 1.0 / 1000.0;
    const double th = 30.0 * 3.14159265358979323846 / 180.0;
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        const float v = g[static_cast<std::size_t>(y) * W + x];
        REQUIRE(v >= 0.0f);
        REQUIRE(v <= 1.0f);
        const double expected =
            0.5 + 0.5 * std::sin(2 * 3.14159265358979323846 * (x * std::cos(th) + y * std::sin(th)) / 8.0 -
                                 2 * 3.14159265358979323846 * 2.0 * t_s);
        REQUIRE(v == Approx(expected).margin(1e-6));
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  CHECK(lo < 0.01f);
  CHECK(hi > 0.99f);
  // Contrast scales the amplitude around 0.5; contrast 0 is uniform gray.
  p.contrast = 0.0;
  sn::moving_grating(H, W, 3, 1.0, p, g.data());
  for (float v : g) REQUIRE(v == 0.5f);
  p.contrast = 0.4;
  sn::moving_grating(H, W, 3, 1.0, p, g.data());
  for (float v : g) {
    REQUIRE(v >= 0.3f - 1e-6f);
    REQUIRE(v <= 0.7f + 1e-6f);
  }
}

TEST_CASE("moving_grating with orientation 0 is periodic in x and constant in y", "[sensory][grating]") {
  sn::GratingParams p;
  p.orientation_deg = 0;
  p.wavelength_px = 8;
  const int H = 5, W = 48;
  std::vector<float> g(H * W);
  sn::moving_grating(H, W, 123, 1.0, p, g.data());
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      REQUIRE(g[static_cast<std::size_t>(y) * W + x] == Approx(g[static_cast<std::size_t>(x)]).margin(1e-6));
      if (x + 8 < W)
        REQUIRE(g[static_cast<std::size_t>(y) * W + x + 8] ==
                Approx(g[static_cast<std::size_t>(y) * W + x]).margin(1e-6));
    }
  }
  // Not constant within a period: samples a quarter period apart span the full range.
  float lo = 2, hi = -1;
  for (int x = 0; x < 8; ++x) {
    lo = std::min(lo, g[static_cast<std::size_t>(x)]);
    hi = std::max(hi, g[static_cast<std::size_t>(x)]);
  }
  CHECK(hi - lo > 0.7f);
}

TEST_CASE("moving_grating moves with time, by wavelength * speed * t", "[sensory][grating]") {
  sn::GratingParams p;
  p.orientation_deg = 0;
  p.wavelength_px = 8;
  p.speed_hz = 2;
  const int H = 3, W = 32;
  std::vector<float> a(H * W), b(H * W), c(H * W);
  // dt = 62.5 ms: one step is 1/8 of a cycle, i.e. one pixel along +x.
  sn::moving_grating(H, W, 10, 62.5, p, a.data());
  sn::moving_grating(H, W, 11, 62.5, p, b.data());
  REQUIRE(!same_bits(a, b));
  for (int y = 0; y < H; ++y)
    for (int x = 0; x + 1 < W; ++x)
      REQUIRE(b[static_cast<std::size_t>(y) * W + x + 1] ==
              Approx(a[static_cast<std::size_t>(y) * W + x]).margin(1e-6));
  // After a whole period (8 steps) the pattern repeats.
  sn::moving_grating(H, W, 18, 62.5, p, c.data());
  for (std::size_t q = 0; q < a.size(); ++q) REQUIRE(c[q] == Approx(a[q]).margin(1e-6));
  // Default dt = 1 ms: consecutive steps differ slightly; very late steps stay accurate.
  sn::moving_grating(H, W, 0, 1.0, p, a.data());
  sn::moving_grating(H, W, 1, 1.0, p, b.data());
  REQUIRE(!same_bits(a, b));
  sn::moving_grating(H, W, 500000000000, 1.0, p, c.data());  // 5e8 s: whole cycles
  for (std::size_t q = 0; q < a.size(); ++q) REQUIRE(c[q] == Approx(a[q]).margin(1e-5));
  // Deterministic: the same arguments give the same bits.
  sn::moving_grating(H, W, 1, 1.0, p, c.data());
  REQUIRE(same_bits(b, c));
  // Speed 0: static.
  p.speed_hz = 0;
  sn::moving_grating(H, W, 0, 1.0, p, a.data());
  sn::moving_grating(H, W, 77, 1.0, p, b.data());
  REQUIRE(same_bits(a, b));
}

TEST_CASE("moving_grating on a grid writes gray and drive like map_frame", "[sensory][grating]") {
  sn::GratingParams p;
  std::vector<float> plain(32 * 32), gray(32 * 32), drive(32 * 32);
  sn::moving_grating(32, 32, 42, 1.0, p, plain.data());
  sn::moving_grating(32, 32, 42, 1.0, p, 2.0f, gray.data(), drive.data());
  REQUIRE(same_bits(plain, gray));
  for (std::size_t q = 0; q < gray.size(); ++q) REQUIRE(drive[q] == 2.0f * gray[q]);
}

TEST_CASE("moving_grating rejects invalid arguments and leaves the outputs untouched",
          "[sensory][grating][errors]") {
  std::vector<float> gray(16, -7.0f), drive(16, -9.0f);
  auto untouched = [&] {
    for (float g : gray) REQUIRE(g == -7.0f);
    for (float d : drive) REQUIRE(d == -9.0f);
  };
  sn::GratingParams p;
  REQUIRE_THROWS_WITH(sn::moving_grating(0, 4, 0, 1.0, p, gray.data()),
                      "moving_grating: size 0x4 (height x width) is not positive");
  REQUIRE_THROWS_WITH(sn::moving_grating(4, 4, 0, 0.0, p, gray.data()),
                      "moving_grating: dt_ms = 0 is not a positive finite number");
  REQUIRE_THROWS_WITH(sn::moving_grating(4, 4, 0, kNaN, p, gray.data()),
                      "moving_grating: dt_ms = nan is not a positive finite number");
  REQUIRE_THROWS_AS(sn::moving_grating(4, 4, 0, 1.0, p, nullptr), InputError);
  auto bad = [&](sn::GratingParams q, const std::string& msg) {
    REQUIRE_THROWS_WITH(sn::moving_grating(4, 4, 0, 1.0, q, gray.data()), msg);
    REQUIRE_THROWS_WITH(sn::moving_grating(4, 4, 0, 1.0, q, 2.0f, gray.data(), drive.data()), msg);
  };
  sn::GratingParams q = p;
  q.wavelength_px = 0;
  bad(q, "moving_grating: wavelength_px = 0 is not a positive finite number");
  q = p;
  q.wavelength_px = kInf;
  bad(q, "moving_grating: wavelength_px = inf is not a positive finite number");
  q = p;
  q.orientation_deg = kNaN;
  bad(q, "moving_grating: orientation_deg = nan is not finite");
  q = p;
  q.speed_hz = -kInf;
  bad(q, "moving_grating: speed_hz = -inf is not finite");
  q = p;
  q.contrast = 1.5;
  bad(q, "moving_grating: contrast = 1.5 is outside [0, 1]");
  q = p;
  q.contrast = kNaN;
  bad(q, "moving_grating: contrast = nan is outside [0, 1]");
  REQUIRE_THROWS_WITH(sn::moving_grating(4, 4097, 0, 1.0, p, 2.0f, gray.data(), drive.data()),
                      "moving_grating: grid 4x4097 is larger than 4096x4096");
  REQUIRE_THROWS_WITH(sn::moving_grating(4, 4, 0, 1.0, p, 2.0f, gray.data(), nullptr),
                      "moving_grating: drive_out is null");
  REQUIRE_THROWS_WITH(sn::moving_grating(4, 4, 0, 1.0, p, std::numeric_limits<float>::quiet_NaN(),
                                         gray.data(), drive.data()),
                      "moving_grating: gain = nan is not finite");
  untouched();
}
