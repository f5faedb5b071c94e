// The energy flow's row sums (see flow_rows.hpp). The AVX-512 loop keeps the 16
// lanes of kernels::kFlowLanes in one register: full chunks of 16 edges, then one
// masked chunk whose inactive lanes stay unchanged, then the halving tree. The
// energies and scales of sources are one 8-byte record each, so the inflow pass
// needs two 64-bit gathers per 16 edges instead of four 32-bit ones.
#include "flow_rows.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SPIKEGRAPH_FLOW_AVX512 1
#endif

namespace spikegraph::cpu {

namespace {

void scalar_out_row(const std::uint32_t* targets, const float* weights, const std::uint8_t* carries,
                    std::uint32_t count, const float* energy, float source_energy, float& weight_sum,
                    float& drop_sum) {
  kernels::flow_out_row(targets, weights, carries, count, energy, source_energy, weight_sum, drop_sum);
}

float scalar_in_row(const std::uint32_t* sources, const float* flow_weights, std::uint32_t count,
                    const kernels::FlowSource<float>* source_state, float target_energy) {
  return kernels::flow_in_row(sources, flow_weights, count, source_state, target_energy);
}

#if SPIKEGRAPH_FLOW_AVX512
#define SG_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
// GCC 12 warns about the deliberately undefined vectors inside its own AVX-512
// headers when they are used from target-attribute functions (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// The halving tree of kernels::combine_flow_lanes: l += l+8, l += l+4, l += l+2, l += l+1.
SG_AVX512 inline float combine_lanes(__m512 a) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
  return _mm_cvtss_f32(q);
}

SG_AVX512 void avx512_out_row(const std::uint32_t* targets, const float* weights, const std::uint8_t* carries,
                              std::uint32_t count, const float* energy, float source_energy, float& weight_sum,
                              float& drop_sum) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512 e_s = _mm512_set1_ps(source_energy);
  __m512 w_acc = zero, d_acc = zero;
  for (std::uint32_t k = 0; k < count; k += 16) {
    // The last chunk is masked: its inactive lanes load nothing and add +0, as the
    // scalar rows do for edges that carry no energy (every lane sum is >= +0).
    const auto m = count - k >= 16 ? static_cast<__mmask16>(0xFFFF)
                                   : static_cast<__mmask16>((1u << (count - k)) - 1u);
    const __m128i c = _mm_maskz_loadu_epi8(m, carries + k);
    const __mmask16 live = _mm_test_epi8_mask(c, c);
    const __m512i idx = _mm512_maskz_loadu_epi32(live, targets + k);
    const __m512 w = _mm512_maskz_loadu_ps(live, weights + k);
    const __m512 e_t = _mm512_mask_i32gather_ps(zero, live, idx, energy, 4);
    w_acc = _mm512_add_ps(w_acc, w);
    d_acc = _mm512_add_ps(d_acc, _mm512_mul_ps(w, _mm512_max_ps(_mm512_sub_ps(e_s, e_t), zero)));
  }
  weight_sum = combine_lanes(w_acc);
  drop_sum = combine_lanes(d_acc);
}

// 16 edges' terms with lanes outside `m` left out of the sum.
SG_AVX512 inline void add_in_terms(const std::uint32_t* sources, const float* flow_weights, __mmask16 m,
                                   const kernels::FlowSource<float>* source_state, __m512 e_j, __m512& acc) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const __m512i idx = _mm512_maskz_loadu_epi32(m, sources);
  const __m512 w = _mm512_maskz_loadu_ps(m, flow_weights);
  const auto* base = reinterpret_cast<const long long*>(source_state);
  const __m512i lo = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), static_cast<__mmask8>(m),
                                                  _mm512_castsi512_si256(idx), base, 8);
  const __m512i hi = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), static_cast<__mmask8>(m >> 8),
                                                  _mm512_extracti64x4_epi64(idx, 1), base, 8);
  const __m512 e_s = _mm512_permutex2var_ps(_mm512_castsi512_ps(lo), even, _mm512_castsi512_ps(hi));
  const __m512 scale = _mm512_permutex2var_ps(_mm512_castsi512_ps(lo), odd, _mm512_castsi512_ps(hi));
  const __m512 f = _mm512_mul_ps(_mm512_mul_ps(scale, w), _mm512_max_ps(_mm512_sub_ps(e_s, e_j), zero));
  acc = _mm512_mask_add_ps(acc, m, acc, f);
}

SG_AVX512 float avx512_in_row(const std::uint32_t* sources, const float* flow_weights, std::uint32_t count,
                              const kernels::FlowSource<float>* source_state, float target_energy) {
  const __m512 e_j = _mm512_set1_ps(target_energy);
  __m512 acc = _mm512_setzero_ps();
  std::uint32_t k = 0;
  for (; k + 16 <= count; k += 16) add_in_terms(sources + k, flow_weights + k, 0xFFFF, source_state, e_j, acc);
  if (k < count) {
    add_in_terms(sources + k, flow_weights + k, static_cast<__mmask16>((1u << (count - k)) - 1u), source_state, e_j,
             acc);
  }
  return combine_lanes(acc);
}
#pragma GCC diagnostic pop
#endif

}  // namespace

const FlowRowFunctions& scalar_flow_rows() {
  static const FlowRowFunctions f{scalar_out_row, scalar_in_row, "scalar"};
  return f;
}

const FlowRowFunctions* avx512_flow_rows() {
#if SPIKEGRAPH_FLOW_AVX512
  static const FlowRowFunctions f{avx512_out_row, avx512_in_row, "avx512"};
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return supported ? &f : nullptr;
#else
  return nullptr;
#endif
}

const FlowRowFunctions& best_flow_rows() {
  const FlowRowFunctions* v = avx512_flow_rows();
  return v ? *v : scalar_flow_rows();
}

}  // namespace spikegraph::cpu
