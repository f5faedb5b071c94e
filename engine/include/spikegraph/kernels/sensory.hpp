// spikegraph/kernels/sensory.hpp
// Per-element math of docs/model.md step 1 (sensory input): gray luminance of an RGB
// value, and the weights of an exact area-averaging (box-filter) resampling along
// one axis, for any input and output length, up- or down-sampling.
//
// Area averaging on one axis. Put n_in input cells and n_out output cells on a
// common integer axis of length n_in * n_out:
//   input  cell i covers [i * n_out, (i + 1) * n_out),
//   output cell j covers [j * n_in,  (j + 1) * n_in).
// The overlap of input i with output j is then an exact integer in [0, min(n_in, n_out)],
// the overlaps of every input with one output sum to n_in, and output j is
//   out_j = sum_i overlap(i, j) * in_i / n_in,
// the average of the input area it covers, with fractional coverage at cell borders.
// An input cell lying wholly inside output j (downsampling) has overlap n_out. On a
// 2-D grid the weight of a pixel is the product of its row and column weights.
// Integer arithmetic only (64-bit intermediates): exact for any n_in, n_out < 2^31.
#pragma once

#include <cstdint>

#include "spikegraph/kernels/hd.hpp"

namespace spikegraph::kernels {

/// Rec. 709 luma weights of docs/model.md step 1 (they sum to 1).
constexpr double kLumaR = 0.2126;
constexpr double kLumaG = 0.7152;
constexpr double kLumaB = 0.0722;

/// Gray luminance 0.2126 R + 0.7152 G + 0.0722 B of one RGB value. Inputs in [0, 1]
/// give a result in [0, 1] (up to one rounding). Linear, so it may equally be applied
/// to sums or averages of channel values (the luminance of an average is the average
/// of the luminances).
SG_HD inline float luminance(float r, float g, float b) {
  return 0.2126f * r + 0.7152f * g + 0.0722f * b;
}

/// Double-precision luminance, for channel sums accumulated in double or integers.
SG_HD inline double luminance(double r, double g, double b) {
  return kLumaR * r + kLumaG * g + kLumaB * b;
}

/// Overlap of input cell i with output cell j, in units of the common axis
/// (0 when they do not touch). Requires 0 <= i < n_in, 0 <= j < n_out.
SG_HD inline std::int64_t area_overlap(int i, int j, int n_in, int n_out) {
  const std::int64_t in_lo = static_cast<std::int64_t>(i) * n_out;
  const std::int64_t in_hi = in_lo + n_out;
  const std::int64_t out_lo = static_cast<std::int64_t>(j) * n_in;
  const std::int64_t out_hi = out_lo + n_in;
  const std::int64_t lo = in_lo > out_lo ? in_lo : out_lo;
  const std::int64_t hi = in_hi < out_hi ? in_hi : out_hi;
  return hi > lo ? hi - lo : 0;
}

/// First input cell that output cell j covers: floor(j * n_in / n_out).
SG_HD inline int area_first_input(int j, int n_in, int n_out) {
  return static_cast<int>(static_cast<std::int64_t>(j) * n_in / n_out);
}

/// One past the last input cell that output cell j covers: ceil((j + 1) * n_in / n_out).
SG_HD inline int area_end_input(int j, int n_in, int n_out) {
  return static_cast<int>((static_cast<std::int64_t>(j + 1) * n_in + n_out - 1) / n_out);
}

/// First output cell that input cell i touches: floor(i * n_out / n_in).
SG_HD inline int area_first_output(int i, int n_in, int n_out) {
  return area_first_input(i, n_out, n_in);
}

/// One past the last output cell that input cell i touches: ceil((i + 1) * n_out / n_in).
SG_HD inline int area_end_output(int i, int n_in, int n_out) {
  return area_end_input(i, n_out, n_in);
}

/// Weight of input cell i in output cell j: the fraction of output cell j that input
/// cell i covers, overlap(i, j) / n_in. The weights of one output sum to 1.
SG_HD inline double area_weight(int i, int j, int n_in, int n_out) {
  return static_cast<double>(area_overlap(i, j, n_in, n_out)) / static_cast<double>(n_in);
}

/// An upper bound on the number of input cells any one output cell covers (>= 1):
/// ceil(n_in / n_out) + 1, at most n_in.
SG_HD inline int area_max_span(int n_in, int n_out) {
  const std::int64_t span = (static_cast<std::int64_t>(n_in) + n_out - 1) / n_out + 1;
  return static_cast<int>(span < n_in ? span : n_in);
}

}  // namespace spikegraph::kernels
