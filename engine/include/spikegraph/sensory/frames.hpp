// spikegraph/sensory/frames.hpp
// Visual sensory input (docs/model.md step 1): maps an image frame onto the sensory
// grid (gray luminance, exact area-averaging resampling, drive = gain * gray), and
// generates the default network's built-in input, a moving sinusoidal grating.
//
// Units: gray values are dimensionless in [0, 1] (0 black, 1 white); drive is in
// the units of the node's `drive` (docs/model.md step 3), gain * gray. Time enters the
// grating as an integer step and the step length dt in ms.
//
// Ownership: every function here reads caller-owned input and writes into
// caller-owned output arrays; nothing is retained after the call returns and no
// memory is handed to the caller. Output arrays must not overlap the input or
// each other.
//
// Errors: invalid arguments raise spikegraph::InputError with a message starting
// with the function's name. All validation happens before any output element is
// written: on error the outputs are left untouched.
//
// Determinism: results depend only on the arguments; they are bit-identical for
// any thread count (each output value is computed by one thread, always in the
// same order of floating-point operations).
#pragma once

#include <cstddef>
#include <cstdint>

namespace spikegraph::sensory {

/// Largest sensory grid side map_frame and the grid grating accept.
constexpr int kMaxGridSide = 4096;

/// Largest frame side map_frame accepts (2^24; keeps its integer sums of u8 frames exact).
constexpr int kMaxFrameSide = 1 << 24;

/// A read-only view of one image frame in caller-owned memory (nothing is copied
/// or retained). Pixels of a row are packed (channel values of a pixel adjacent,
/// pixels adjacent); rows start `row_stride_bytes` apart, which may exceed the
/// packed row size (padding) or be negative (bottom-up storage; `data` then points
/// at row 0, the top row).
struct FrameView {
  enum class Type { u8, f32, f64 };

  const void* data = nullptr;  ///< first value of row 0; aligned to the value type's size
  int height = 0;              ///< rows, in [1, kMaxFrameSide]
  int width = 0;               ///< columns, in [1, kMaxFrameSide]
  /// 1 (gray), 3 (RGB) or 4 (RGBA; the alpha channel is neither read nor validated).
  int channels = 0;
  /// Value type. u8 values are scaled by 1/255. f32/f64 values must be finite
  /// and within [0, 1].
  Type type = Type::u8;
  /// Bytes from the start of one row to the start of the next; |stride| must be at
  /// least width * channels * sizeof(value) and a multiple of sizeof(value).
  std::ptrdiff_t row_stride_bytes = 0;
};

/// Maps a frame onto a grid_h x grid_w sensory grid (docs/model.md step 1).
///
/// Each pixel is converted to gray luminance 0.2126 R + 0.7152 G + 0.0722 B (gray
/// frames: the value itself), and each grid cell receives the exact average of the
/// frame area it covers (box filter with fractional coverage at cell borders; the
/// frame is stretched to the grid, so both up- and down-sampling work and the aspect
/// ratio is not preserved). Writes, row-major, grid_h * grid_w values each:
///   gray_out[r * grid_w + c]  = g in [0, 1],
///   drive_out[r * grid_w + c] = gain * g.
/// u8 frames are summed exactly in integers (rounded once, at the end); f32/f64
/// frames are accumulated in double. `threads` (>= 1) threads split the grid rows
/// (more threads than grid rows are not used).
///
/// Throws InputError, before writing anything, for: null data or outputs,
/// non-positive frame or grid sizes, a frame side above kMaxFrameSide or a grid side
/// above kMaxGridSide, a channel count other than 1, 3 or 4, an unknown type, a row
/// stride too small or misaligned, misaligned data, a non-finite gain, threads < 1,
/// and (f32/f64) a value that is not finite or outside [0, 1]: the message names the
/// first offending value in row-major order, e.g.
/// "map_frame: pixel (row 3, col 7) channel 1 = nan is not finite".
void map_frame(const FrameView& frame, int grid_h, int grid_w, float gain, float* gray_out,
               float* drive_out, int threads = 1);

/// Parameters of the built-in moving grating.
struct GratingParams {
  double wavelength_px = 8;     ///< spatial period in pixels (grid cells on a grid), > 0
  double orientation_deg = 30;  ///< direction of the wave vector from the +x (column) axis
  double speed_hz = 2;          ///< temporal frequency in cycles per second of model time
  double contrast = 1;          ///< in [0, 1]; 0 gives uniform 0.5 gray
};

/// The built-in input of the default network: a sinusoidal grating drifting along
/// its wave vector. For pixel (row y, column x), writes row-major into gray_out
/// (height * width values)
///   gray = 0.5 + 0.5 * contrast * sin(2 pi (x cos t + y sin t) / wavelength_px
///                                     - 2 pi speed_hz * t_s),
/// with t = orientation_deg in radians and t_s = step * dt_ms / 1000 the model time in
/// seconds. Values lie in [0, 1]. Deterministic: the same arguments give the same
/// values (the temporal phase is reduced modulo one cycle, so it stays accurate for
/// long runs). Throws InputError (before writing) for non-positive sizes, null
/// output, non-finite or non-positive dt_ms or wavelength, non-finite orientation or
/// speed, contrast outside [0, 1].
void moving_grating(int height, int width, std::int64_t step, double dt_ms, const GratingParams& p,
                    float* gray_out);

/// The grating produced directly on a grid_h x grid_w sensory grid, with the outputs
/// of map_frame: gray_out as moving_grating(grid_h, grid_w, step, dt_ms, p, gray_out)
/// (wavelength in grid cells) and drive_out = gain * gray. Also checks the grid limit
/// (kMaxGridSide), non-null drive_out and a finite gain.
void moving_grating(int grid_h, int grid_w, std::int64_t step, double dt_ms, const GratingParams& p,
                    float gain, float* gray_out, float* drive_out);

}  // namespace spikegraph::sensory
