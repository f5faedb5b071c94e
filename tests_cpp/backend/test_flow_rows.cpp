// backend/cpu/flow_rows: the energy flow's row sums. The lane order of
// kernels::flow_out_row / flow_in_row against a plain re-derivation, and the
// AVX-512 rows (where this CPU runs them) bit-identical to the scalar reference on
// random rows of every length around the 16-lane chunks.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/flow_rows.hpp"
#include "spikegraph/kernels/energy.hpp"

namespace k = spikegraph::kernels;
using spikegraph::cpu::FlowRowFunctions;

namespace {

struct Rows {
  std::vector<std::uint32_t> ids;
  std::vector<float> weights;
  std::vector<std::uint8_t> carries;
  std::vector<float> energy;
  std::vector<k::FlowSource<float>> sources;
};

Rows random_rows(std::uint32_t nodes, std::uint32_t edges, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Rows r;
  for (std::uint32_t e = 0; e < edges; ++e) {
    r.ids.push_back(static_cast<std::uint32_t>(rng() % nodes));
    r.weights.push_back(u(rng));
    r.carries.push_back(static_cast<std::uint8_t>(rng() % 4 != 0));
  }
  for (std::uint32_t i = 0; i < nodes; ++i) {
    r.energy.push_back(5.0f * u(rng));
    r.sources.push_back(k::FlowSource<float>{r.energy.back(), 0.02f * u(rng)});
  }
  return r;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("flow rows: lane k % 16, lanes from +0, halving tree", "[backend][energy]") {
  const Rows r = random_rows(200, 300, 7);
  for (std::uint32_t count : {0u, 1u, 15u, 16u, 17u, 40u, 300u}) {
    float lanes_w[k::kFlowLanes] = {}, lanes_d[k::kFlowLanes] = {}, lanes_in[k::kFlowLanes] = {};
    const float e_s = 2.5f;
    for (std::uint32_t i = 0; i < count; ++i) {
      const float w = r.carries[i] ? r.weights[i] : 0.0f;
      const float diff = e_s - r.energy[r.ids[i]];
      lanes_w[i % 16] += w;
      lanes_d[i % 16] += w * (diff > 0.0f ? diff : 0.0f);
      const auto& s = r.sources[r.ids[i]];
      const float d_in = s.energy - e_s;
      lanes_in[i % 16] += (s.scale * r.weights[i]) * (d_in > 0.0f ? d_in : 0.0f);
    }
    for (float* l : {lanes_w, lanes_d, lanes_in}) {
      for (int w = 8; w > 0; w /= 2) {
        for (int i = 0; i < w; ++i) l[i] += l[i + w];
      }
    }
    float ws = -1, ds = -1;
    k::flow_out_row(r.ids.data(), r.weights.data(), r.carries.data(), count, r.energy.data(), e_s, ws, ds);
    CHECK(same_bits(ws, lanes_w[0]));
    CHECK(same_bits(ds, lanes_d[0]));
    CHECK(same_bits(k::flow_in_row(r.ids.data(), r.weights.data(), count, r.sources.data(), e_s), lanes_in[0]));
    // One lane at a time (the GPU's thread per lane), joined by the same tree.
    float by_w[16], by_d[16], by_in[16];
    for (unsigned l = 0; l < 16; ++l) {
      k::flow_out_lane(r.ids.data(), r.weights.data(), r.carries.data(), count, l, r.energy.data(), e_s, by_w[l],
                       by_d[l]);
      by_in[l] = k::flow_in_lane(r.ids.data(), r.weights.data(), count, l, r.sources.data(), e_s);
    }
    CHECK(same_bits(k::combine_flow_lanes(by_w), ws));
    CHECK(same_bits(k::combine_flow_lanes(by_d), ds));
    CHECK(same_bits(k::combine_flow_lanes(by_in), lanes_in[0]));
  }
}

TEST_CASE("flow rows: the AVX-512 rows equal the scalar reference bit for bit", "[backend][energy]") {
  const FlowRowFunctions* fast = spikegraph::cpu::avx512_flow_rows();
  const FlowRowFunctions& ref = spikegraph::cpu::scalar_flow_rows();
  CHECK(std::string(ref.name) == "scalar");
  CHECK(std::string(spikegraph::cpu::best_flow_rows().name) == (fast ? "avx512" : "scalar"));
  if (!fast) {
    WARN("this CPU has no AVX-512: only the scalar rows run here");
    return;
  }
  const Rows r = random_rows(5000, 20000, 11);
  std::mt19937 rng(3);
  std::uint32_t offset = 0;
  for (std::uint32_t count = 0; count < 70; ++count) {
    for (int rep = 0; rep < 20; ++rep) {
      offset = static_cast<std::uint32_t>(rng() % (r.ids.size() - count));
      const float e = r.energy[rng() % r.energy.size()];
      float w1, d1, w2, d2;
      ref.out_row(r.ids.data() + offset, r.weights.data() + offset, r.carries.data() + offset, count,
                  r.energy.data(), e, w1, d1);
      fast->out_row(r.ids.data() + offset, r.weights.data() + offset, r.carries.data() + offset, count,
                    r.energy.data(), e, w2, d2);
      REQUIRE(same_bits(w1, w2));
      REQUIRE(same_bits(d1, d2));
      const float in1 = ref.in_row(r.ids.data() + offset, r.weights.data() + offset, count, r.sources.data(), e);
      const float in2 = fast->in_row(r.ids.data() + offset, r.weights.data() + offset, count, r.sources.data(), e);
      REQUIRE(same_bits(in1, in2));
    }
  }
}
