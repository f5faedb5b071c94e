// Frame-to-grid mapping and the built-in moving grating (see sensory/frames.hpp).
//
// map_frame layout of the work, per output (grid) row r:
//   vertical pass   the input rows r covers are combined value by value:
//                   comb = w_first * row_a + w_interior * (row_a+1 + ... + row_b-2)
//                        + w_last * row_b-1,
//                   with the area weights of kernels/sensory.hpp (the interior rows lie
//                   wholly inside the cell: summed first, weighted once). These loops run
//                   over contiguous values, so the compiler vectorises them, and they
//                   validate each value read in the same pass.
//   horizontal pass each cell sums its column span of comb in the same way, per
//                   channel; then luminance and normalisation, once per cell (luminance
//                   is linear: applying it to area sums equals averaging per-pixel
//                   luminance).
// The vertical pass goes first because summing rows element-wise vectorises, while
// the horizontal sums over interleaved RGB pixels do not; the horizontal pass then runs
// on grid_h combined rows instead of on every input row.
// u8 frames are summed in integers (exact: 32-bit vertical sums, 64-bit horizontal
// ones); f32/f64 frames in double. Threads own contiguous blocks of output rows and
// each output value is summed in a fixed order by one thread, so the results are
// bit-identical for any thread count. A thread stops at the first invalid value in
// its rows; the first over all threads is reported. Nothing is written to the
// caller's arrays until the whole frame has been read and validated.
#include "spikegraph/sensory/frames.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "../backend/cpu/thread_pool.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/kernels/sensory.hpp"

namespace spikegraph::sensory {
namespace {

namespace k = spikegraph::kernels;

// ------------------------------------------------------------------ formatting

template <class T>
std::string format_value(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, res.ptr);
}

std::string dims(std::int64_t h, std::int64_t w) {
  return std::to_string(h) + "x" + std::to_string(w);
}

// ------------------------------------------------------------------ value types

// VAcc: vertical sums of raw values (one per value of a row, alpha included);
// HAcc: the horizontal sums of those. u8 sums are exact integers: a vertical sum is
// at most 255 * height < 2^32 (height <= 2^24), a horizontal one 255 * height * width.
template <class T>
struct ValueTraits;

template <>
struct ValueTraits<std::uint8_t> {
  using VAcc = std::uint32_t;
  using HAcc = std::uint64_t;
  static constexpr bool kChecked = false;
  static constexpr double kScale = 255.0;
};

template <>
struct ValueTraits<float> {
  using VAcc = double;
  using HAcc = double;
  static constexpr bool kChecked = true;
  static constexpr double kScale = 1.0;
};

template <>
struct ValueTraits<double> {
  using VAcc = double;
  using HAcc = double;
  static constexpr bool kChecked = true;
  static constexpr double kScale = 1.0;
};

template <class T>
inline bool out_of_range(T v) {  // true for NaN as well
  return !(v >= T(0) && v <= T(1));
}

// Whether value k of a row is unusable: out of range or NaN, and not an alpha value
// (alpha is never checked). Branch-free so that the row loops below vectorise.
// Returns 0 when usable, 1 when not (an integer, so that loops reduce it with |).
template <class T, int C>
inline unsigned unusable(T v, std::size_t k) {
  const unsigned bad = static_cast<unsigned>(!(v >= T(0))) | static_cast<unsigned>(!(v <= T(1)));
  if constexpr (C == 4) return bad & static_cast<unsigned>((k & 3u) != 3u);
  return bad;
}

// The first invalid value a part found (row-major order within the part's rows).
struct BadValue {
  bool found = false;
  int row = 0;
  int col = 0;
  int channel = 0;
  double value = 0.0;
  bool is_float = false;  // print as float (f32) rather than double
};

bool before(const BadValue& a, const BadValue& b) {
  if (a.row != b.row) return a.row < b.row;
  if (a.col != b.col) return a.col < b.col;
  return a.channel < b.channel;
}

// Area weights along one axis, per output cell: its input span [first, end) and the
// overlaps of the first and last input cell (interior cells have overlap n_out).
struct AxisTaps {
  std::vector<int> first, end;
  std::vector<std::int64_t> w_first, w_last;
  std::int64_t w_interior = 0;

  AxisTaps(int n_in, int n_out)
      : first(static_cast<std::size_t>(n_out)),
        end(static_cast<std::size_t>(n_out)),
        w_first(static_cast<std::size_t>(n_out)),
        w_last(static_cast<std::size_t>(n_out)),
        w_interior(n_out) {
    for (int j = 0; j < n_out; ++j) {
      const auto u = static_cast<std::size_t>(j);
      first[u] = k::area_first_input(j, n_in, n_out);
      end[u] = k::area_end_input(j, n_in, n_out);
      w_first[u] = k::area_overlap(first[u], j, n_in, n_out);
      w_last[u] = k::area_overlap(end[u] - 1, j, n_in, n_out);
    }
  }
};

// ------------------------------------------------------------------ row loops

// The loops over the n = width * C values of one input row. Each returns false when
// a value it read is invalid (f32/f64 only); the caller then looks for it.

// comb = w * x
template <class T, int C, class A>
bool row_scaled(const T* x, std::size_t n, A w, A* comb) {
  unsigned bad = 0;
  for (std::size_t q = 0; q < n; ++q) {
    if constexpr (ValueTraits<T>::kChecked) bad |= unusable<T, C>(x[q], q);
    comb[q] = w * static_cast<A>(x[q]);
  }
  return bad == 0;
}

// acc += x
template <class T, int C, class A>
bool row_add(const T* x, std::size_t n, A* acc) {
  unsigned bad = 0;
  for (std::size_t q = 0; q < n; ++q) {
    if constexpr (ValueTraits<T>::kChecked) bad |= unusable<T, C>(x[q], q);
    acc[q] += static_cast<A>(x[q]);
  }
  return bad == 0;
}

// comb = (comb + wi * interior) + wb * x
template <class T, int C, class A>
bool row_finish(const T* x, std::size_t n, A wi, const A* interior, A wb, A* comb) {
  unsigned bad = 0;
  for (std::size_t q = 0; q < n; ++q) {
    if constexpr (ValueTraits<T>::kChecked) bad |= unusable<T, C>(x[q], q);
    comb[q] = (comb[q] + wi * interior[q]) + wb * static_cast<A>(x[q]);
  }
  return bad == 0;
}

// First invalid value of a row known to contain one.
template <class T, int C, int NC>
BadValue find_bad(const T* row, int row_index, int width) {
  BadValue bad;
  for (int x = 0; x < width; ++x) {
    for (int c = 0; c < NC; ++c) {
      const T v = row[static_cast<std::ptrdiff_t>(x) * C + c];
      if (out_of_range(v)) {
        bad.found = true;
        bad.row = row_index;
        bad.col = x;
        bad.channel = c;
        bad.value = static_cast<double>(v);
        bad.is_float = std::is_same<T, float>::value;
        return bad;
      }
    }
  }
  return bad;  // not reached for a row that failed a row loop
}

// Horizontal pass of one vertically combined row: for each column cell j and used
// channel c, sum_i overlap(i, j) * comb[i * C + c] (border pixels weighted by their
// overlap, interior pixels summed in two interleaved partial sums and weighted once),
// then luminance and normalisation, clamped to [0, 1].
template <class T, int C, int NC>
void horizontal(const typename ValueTraits<T>::VAcc* comb, const AxisTaps& tx, int grid_w,
                double norm, float* out) {
  using H = typename ValueTraits<T>::HAcc;
  const H wi = static_cast<H>(tx.w_interior);
  for (int j = 0; j < grid_w; ++j) {
    const auto u = static_cast<std::size_t>(j);
    const int a = tx.first[u];
    const int b = tx.end[u];
    const auto* pa = comb + static_cast<std::ptrdiff_t>(a) * C;
    const H wa = static_cast<H>(tx.w_first[u]);
    H sum[NC];
    if (b - a == 1) {
      for (int c = 0; c < NC; ++c) sum[c] = wa * static_cast<H>(pa[c]);
    } else {
      H s0[NC];
      H s1[NC];
      for (int c = 0; c < NC; ++c) s0[c] = s1[c] = H(0);
      const auto* p = pa + C;
      const auto* const last = comb + static_cast<std::ptrdiff_t>(b - 1) * C;
      for (; p + C < last; p += 2 * C) {
        for (int c = 0; c < NC; ++c) {
          s0[c] += static_cast<H>(p[c]);
          s1[c] += static_cast<H>(p[C + c]);
        }
      }
      if (p < last)
        for (int c = 0; c < NC; ++c) s0[c] += static_cast<H>(p[c]);
      const H wb = static_cast<H>(tx.w_last[u]);
      for (int c = 0; c < NC; ++c)
        sum[c] = (wa * static_cast<H>(pa[c]) + wi * (s0[c] + s1[c])) + wb * static_cast<H>(last[c]);
    }
    double lum;
    if constexpr (NC == 1) {
      lum = static_cast<double>(sum[0]);
    } else {
      lum = k::luminance(static_cast<double>(sum[0]), static_cast<double>(sum[1]),
                         static_cast<double>(sum[2]));
    }
    double g = lum / norm;
    g = g < 0.0 ? 0.0 : (g > 1.0 ? 1.0 : g);
    out[j] = static_cast<float>(g);
  }
}

// ------------------------------------------------------------------ threads

// Runs fn(p) for p in [0, parts), in parallel, on the CPU backend's workers.
template <class Fn>
void run_parts(int parts, const Fn& fn) {
  cpu::run_parts(parts, [&fn](int p) { fn(p); });
}

// ------------------------------------------------------------------ the mapping

template <class T, int C>
void map_typed(const FrameView& f, int grid_h, int grid_w, int threads, float* stage,
               BadValue& first_bad) {
  constexpr int NC = C == 1 ? 1 : 3;
  using V = typename ValueTraits<T>::VAcc;
  const int H = f.height;
  const int W = f.width;
  const AxisTaps tx(W, grid_w);
  const AxisTaps ty(H, grid_h);
  const int parts = std::min(threads, grid_h);
  const std::size_t n = static_cast<std::size_t>(W) * C;  // values per row
  // Per part: the vertical interior sum and the combined row.
  std::vector<V> buffers(static_cast<std::size_t>(parts) * 2 * n);
  std::vector<BadValue> bad(static_cast<std::size_t>(parts));
  const auto* base = static_cast<const unsigned char*>(f.data);
  const std::ptrdiff_t stride = f.row_stride_bytes;
  // Divisor of the cell sums: area of a cell on the common axes (W * H) times the
  // u8 scale. Exact in double for any frame that fits in memory.
  const double norm = ValueTraits<T>::kScale * static_cast<double>(W) * static_cast<double>(H);
  const V wi = static_cast<V>(ty.w_interior);

  run_parts(parts, [&](int p) {
    const int r_begin = static_cast<int>(static_cast<std::int64_t>(grid_h) * p / parts);
    const int r_end = static_cast<int>(static_cast<std::int64_t>(grid_h) * (p + 1) / parts);
    V* interior = buffers.data() + static_cast<std::size_t>(p) * 2 * n;
    V* comb = interior + n;
    auto row_at = [&](int i) {
      return reinterpret_cast<const T*>(base + stride * static_cast<std::ptrdiff_t>(i));
    };
    auto fail = [&](int i) { bad[static_cast<std::size_t>(p)] = find_bad<T, C, NC>(row_at(i), i, W); };

    for (int r = r_begin; r < r_end; ++r) {
      const auto ur = static_cast<std::size_t>(r);
      const int a = ty.first[ur];
      const int b = ty.end[ur];
      // comb = (w_first * row a + w_interior * sum of rows a+1 .. b-2) + w_last * row b-1
      if (!row_scaled<T, C>(row_at(a), n, static_cast<V>(ty.w_first[ur]), comb)) return fail(a);
      if (b - a > 1) {
        std::fill(interior, interior + n, V(0));
        for (int i = a + 1; i < b - 1; ++i)
          if (!row_add<T, C>(row_at(i), n, interior)) return fail(i);
        if (!row_finish<T, C>(row_at(b - 1), n, wi, interior, static_cast<V>(ty.w_last[ur]), comb))
          return fail(b - 1);
      }
      horizontal<T, C, NC>(comb, tx, grid_w, norm, stage + ur * static_cast<std::size_t>(grid_w));
    }
  });

  for (const BadValue& b : bad) {
    if (b.found && (!first_bad.found || before(b, first_bad))) first_bad = b;
  }
}

template <class T>
void map_channels(const FrameView& f, int grid_h, int grid_w, int threads, float* stage,
                  BadValue& bad) {
  switch (f.channels) {
    case 1: map_typed<T, 1>(f, grid_h, grid_w, threads, stage, bad); break;
    case 3: map_typed<T, 3>(f, grid_h, grid_w, threads, stage, bad); break;
    default: map_typed<T, 4>(f, grid_h, grid_w, threads, stage, bad); break;
  }
}

void check_grid(const char* op, int grid_h, int grid_w) {
  if (grid_h < 1 || grid_w < 1)
    throw InputError(std::string(op) + ": grid " + dims(grid_h, grid_w) + " is not positive");
  if (grid_h > kMaxGridSide || grid_w > kMaxGridSide)
    throw InputError(std::string(op) + ": grid " + dims(grid_h, grid_w) + " is larger than " +
                     dims(kMaxGridSide, kMaxGridSide));
}

void check_gain(const char* op, float gain) {
  if (!std::isfinite(gain))
    throw InputError(std::string(op) + ": gain = " + format_value(gain) + " is not finite");
}

}  // namespace

void map_frame(const FrameView& frame, int grid_h, int grid_w, float gain, float* gray_out,
               float* drive_out, int threads) {
  const std::string op = "map_frame";
  if (frame.data == nullptr) throw InputError(op + ": frame data is null");
  if (frame.height < 1 || frame.width < 1)
    throw InputError(op + ": frame size " + dims(frame.height, frame.width) +
                     " (height x width) is not positive");
  if (frame.height > kMaxFrameSide || frame.width > kMaxFrameSide)
    throw InputError(op + ": frame size " + dims(frame.height, frame.width) +
                     " (height x width) is larger than " + dims(kMaxFrameSide, kMaxFrameSide));
  if (frame.channels != 1 && frame.channels != 3 && frame.channels != 4)
    throw InputError(op + ": channels = " + std::to_string(frame.channels) +
                     "; expected 1 (gray), 3 (RGB) or 4 (RGBA)");
  std::ptrdiff_t value_size = 0;
  const char* type_name = "";
  switch (frame.type) {
    case FrameView::Type::u8: value_size = 1; type_name = "u8"; break;
    case FrameView::Type::f32: value_size = 4; type_name = "f32"; break;
    case FrameView::Type::f64: value_size = 8; type_name = "f64"; break;
    default:
      throw InputError(op + ": unknown frame type " +
                       std::to_string(static_cast<int>(frame.type)));
  }
  const std::ptrdiff_t row_bytes =
      static_cast<std::ptrdiff_t>(frame.width) * frame.channels * value_size;
  const std::ptrdiff_t stride = frame.row_stride_bytes;
  const std::ptrdiff_t abs_stride = stride < 0 ? -stride : stride;
  if (abs_stride < row_bytes)
    throw InputError(op + ": row_stride_bytes = " + std::to_string(stride) +
                     " is smaller than a row (" + std::to_string(frame.width) + " pixels x " +
                     std::to_string(frame.channels) + " channels x " +
                     std::to_string(value_size) + " bytes = " + std::to_string(row_bytes) + ")");
  if (stride % value_size != 0)
    throw InputError(op + ": row_stride_bytes = " + std::to_string(stride) +
                     " is not a multiple of the " + type_name + " value size (" +
                     std::to_string(value_size) + " bytes)");
  if (reinterpret_cast<std::uintptr_t>(frame.data) % static_cast<std::uintptr_t>(value_size) != 0)
    throw InputError(op + ": frame data is not aligned to the " + type_name + " value size (" +
                     std::to_string(value_size) + " bytes)");
  check_grid(op.c_str(), grid_h, grid_w);
  check_gain(op.c_str(), gain);
  if (gray_out == nullptr) throw InputError(op + ": gray_out is null");
  if (drive_out == nullptr) throw InputError(op + ": drive_out is null");
  if (threads < 1)
    throw InputError(op + ": threads = " + std::to_string(threads) + "; expected at least 1");

  const std::size_t n = static_cast<std::size_t>(grid_h) * static_cast<std::size_t>(grid_w);
  std::vector<float> stage(n);
  BadValue bad;
  switch (frame.type) {
    case FrameView::Type::u8:
      map_channels<std::uint8_t>(frame, grid_h, grid_w, threads, stage.data(), bad);
      break;
    case FrameView::Type::f32:
      map_channels<float>(frame, grid_h, grid_w, threads, stage.data(), bad);
      break;
    case FrameView::Type::f64:
      map_channels<double>(frame, grid_h, grid_w, threads, stage.data(), bad);
      break;
  }
  if (bad.found) {
    const std::string value =
        bad.is_float ? format_value(static_cast<float>(bad.value)) : format_value(bad.value);
    const bool finite = std::isfinite(bad.value);
    throw InputError(op + ": pixel (row " + std::to_string(bad.row) + ", col " +
                     std::to_string(bad.col) + ") channel " + std::to_string(bad.channel) +
                     " = " + value + (finite ? " is outside [0, 1]" : " is not finite"));
  }
  for (std::size_t q = 0; q < n; ++q) {
    gray_out[q] = stage[q];
    drive_out[q] = gain * stage[q];
  }
}

namespace {

void grating_into(int height, int width, std::int64_t step, double dt_ms,
                  const GratingParams& p, float gain, float* gray_out, float* drive_out) {
  const std::size_t rows = static_cast<std::size_t>(height);
  const std::size_t cols = static_cast<std::size_t>(width);
  const double two_pi = 6.283185307179586476925286766559;
  const double theta = p.orientation_deg * (two_pi / 360.0);
  const double kx = two_pi * std::cos(theta) / p.wavelength_px;
  const double ky = two_pi * std::sin(theta) / p.wavelength_px;
  // Temporal phase in cycles, reduced modulo 1 to keep precision for large steps.
  double cycles = std::fmod(p.speed_hz * (static_cast<double>(step) * dt_ms / 1000.0), 1.0);
  const double phase_t = two_pi * cycles;
  // sin(kx x + ky y - phase_t) = sin(kx x) cos(ky y - phase_t) + cos(kx x) sin(ky y - phase_t):
  // 2 (width + height) transcendentals instead of one per pixel.
  std::vector<double> sx(cols), cx(cols), sy(rows), cy(rows);
  for (std::size_t x = 0; x < cols; ++x) {
    const double a = kx * static_cast<double>(x);
    sx[x] = std::sin(a);
    cx[x] = std::cos(a);
  }
  for (std::size_t y = 0; y < rows; ++y) {
    const double b = ky * static_cast<double>(y) - phase_t;
    sy[y] = std::sin(b);
    cy[y] = std::cos(b);
  }
  const double amp = 0.5 * p.contrast;
  for (std::size_t y = 0; y < rows; ++y) {
    float* g_row = gray_out + y * cols;
    for (std::size_t x = 0; x < cols; ++x) {
      double g = 0.5 + amp * (sx[x] * cy[y] + cx[x] * sy[y]);
      g = g < 0.0 ? 0.0 : (g > 1.0 ? 1.0 : g);
      g_row[x] = static_cast<float>(g);
    }
    if (drive_out != nullptr) {
      float* d_row = drive_out + y * cols;
      for (std::size_t x = 0; x < cols; ++x) d_row[x] = gain * g_row[x];
    }
  }
}

void check_grating(const std::string& op, int height, int width, double dt_ms,
                   const GratingParams& p, float* gray_out) {
  if (height < 1 || width < 1)
    throw InputError(op + ": size " + dims(height, width) + " (height x width) is not positive");
  if (!(std::isfinite(dt_ms) && dt_ms > 0))
    throw InputError(op + ": dt_ms = " + format_value(dt_ms) + " is not a positive finite number");
  if (!(std::isfinite(p.wavelength_px) && p.wavelength_px > 0))
    throw InputError(op + ": wavelength_px = " + format_value(p.wavelength_px) +
                     " is not a positive finite number");
  if (!std::isfinite(p.orientation_deg))
    throw InputError(op + ": orientation_deg = " + format_value(p.orientation_deg) +
                     " is not finite");
  if (!std::isfinite(p.speed_hz))
    throw InputError(op + ": speed_hz = " + format_value(p.speed_hz) + " is not finite");
  if (!(p.contrast >= 0 && p.contrast <= 1))
    throw InputError(op + ": contrast = " + format_value(p.contrast) + " is outside [0, 1]");
  if (gray_out == nullptr) throw InputError(op + ": gray_out is null");
}

}  // namespace

void moving_grating(int height, int width, std::int64_t step, double dt_ms, const GratingParams& p,
                    float* gray_out) {
  const std::string op = "moving_grating";
  check_grating(op, height, width, dt_ms, p, gray_out);
  grating_into(height, width, step, dt_ms, p, 0.0f, gray_out, nullptr);
}

void moving_grating(int grid_h, int grid_w, std::int64_t step, double dt_ms, const GratingParams& p,
                    float gain, float* gray_out, float* drive_out) {
  const std::string op = "moving_grating";
  check_grid(op.c_str(), grid_h, grid_w);
  check_grating(op, grid_h, grid_w, dt_ms, p, gray_out);
  check_gain(op.c_str(), gain);
  if (drive_out == nullptr) throw InputError(op + ": drive_out is null");
  grating_into(grid_h, grid_w, step, dt_ms, p, gain, gray_out, drive_out);
}

}  // namespace spikegraph::sensory
