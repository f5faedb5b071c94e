// The CPU backend: node state as structure of arrays, a ring of input
// accumulators ([slot][node], one slot per step of delay), and per-phase loops
// split over threads by node (update) or by target range (delivery), so that
// every floating-point sum is taken in the same order for any thread count.
#include "cpu_backend.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "parallel.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/kernels/neuron.hpp"
#include "spikegraph/kernels/rng.hpp"
#include "spikegraph/kernels/synapse.hpp"
#include "spikegraph/sim/model_params.hpp"

namespace spikegraph {

namespace cpu {
int hardware_threads() {
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h);
}
}  // namespace cpu

namespace {

// Nodes are processed in blocks; Poisson counts of a block are computed first in a
// loop the compiler vectorises, then the neuron update.
constexpr std::size_t kBlock = 256;
// Below this many synaptic events a step's delivery runs on one thread (waking the
// team costs more than it saves).
constexpr std::size_t kParallelDeliveryEvents = 4096;
// Delivery prefetches the input slot of the edge this many edges ahead: the
// scattered adds are bound by cache-miss latency, not bandwidth.
constexpr offset_t kPrefetchAhead = 16;

// A run of consecutive nodes of one type.
struct Segment {
  index_t begin;
  index_t end;
  std::uint8_t type;
};

// The neuron update of `len` consecutive nodes of one type. A free function with
// restrict-qualified arrays and a local copy of the parameters, so the compiler
// can prove the stores do not alias and vectorises the loop; every store is
// unconditional and every choice a select (a conditional store would stop GCC
// from vectorising). last_spike is stamped in collect_spikes (spikes are rare).
template <class Real, bool kCoupled>
void update_nodes(Real* __restrict v, std::uint16_t* __restrict refr, const Real* __restrict thr,
                  const Real* __restrict drive, const Real* __restrict energy, Real* __restrict in,
                  const std::uint32_t* __restrict counts, const std::uint8_t* __restrict alive,
                  std::uint8_t* __restrict spiked, std::size_t len, const kernels::NeuronParams<Real>& params,
                  bool ignores) {
  const kernels::NeuronParams<Real> p = params;
  const Real pw = p.poisson_weight;
  const Real keep_input = ignores ? Real(0) : Real(1);
  const kernels::Decay<Real> fixed{p.decay, p.drive_gain};
  for (std::size_t j = 0; j < len; ++j) {
    const Real x = (in[j] + static_cast<Real>(counts[j]) * pw) * keep_input;
    in[j] = Real(0);
    kernels::Decay<Real> d = fixed;
    if constexpr (kCoupled) d = kernels::membrane_decay(p, energy[j]);
    const Real v_old = v[j];
    const std::uint16_t r_old = refr[j];
    Real vj = v_old;
    std::uint16_t rj = r_old;
    const bool s = kernels::neuron_step(vj, rj, thr[j], drive[j], x, energy[j], d, p);
    // Dead nodes (alive = 0) keep their state and never fire.
    const bool live = alive[j] != 0;
    v[j] = kernels::select_bits(live, vj, v_old);
    refr[j] = kernels::select_bits(live, rj, r_old);
    spiked[j] = static_cast<std::uint8_t>(s & live);
  }
}

template <class Real>
class CpuBackend final : public Backend {
 public:
  CpuBackend(const Graph& graph, const config::Config& cfg, int threads)
      : graph_(graph), params_(make_model_params<Real>(cfg)), threads_(std::max(1, threads)) {
    const index_t n = graph.num_nodes();
    ring_slots_ = static_cast<std::size_t>(graph.max_delay()) + 1;
    v_.resize(n);
    threshold_.resize(n);
    drive_.resize(n);
    energy_.assign(n, params_.initial_energy);
    refractory_.assign(n, 0);
    last_spike_.assign(n, -1);
    alive_.assign(n, 1);
    phase_.assign(n, 0);
    spiked_.assign(n, 0);
    ring_.assign(ring_slots_ * n, Real(0));
    poisson_key_ = kernels::make_key(params_.seed, static_cast<std::uint64_t>(kernels::RngStream::poisson_input));
    const auto init_key = kernels::make_key(params_.seed, static_cast<std::uint64_t>(kernels::RngStream::initial_state));
    const auto osc_key = kernels::make_key(params_.seed, static_cast<std::uint64_t>(kernels::RngStream::oscillator_phase));
    const auto& types = graph.node_type();
    for (index_t i = 0; i < n; ++i) {
      const auto& p = params_.neuron[types[i]];
      const double u = kernels::draw_uniform(init_key, i, 0);
      v_[i] = params_.init_v_min == params_.init_v_max
                  ? params_.init_v_min
                  : static_cast<Real>(params_.init_v_min + (params_.init_v_max - params_.init_v_min) * u);
      threshold_[i] = p.threshold;
      const std::string pre = std::string("node.") + node_type_name(static_cast<NodeType>(types[i])) + ".";
      drive_[i] = static_cast<Real>(cfg.real(pre + "drive"));
      const std::int32_t period = params_.oscillator_period[types[i]];
      if (period > 0) phase_[i] = static_cast<std::int32_t>(kernels::draw_u32(osc_key, i, 0) % period);
    }
    for (index_t i = 0; i < n;) {
      index_t j = i;
      while (j < n && types[j] == types[i]) ++j;
      segments_.push_back(Segment{i, j, types[i]});
      i = j;
    }
    thread_spikes_.resize(static_cast<std::size_t>(threads_));
  }

  std::string name() const override { return "cpu"; }
  int threads() const override { return threads_; }
  Precision precision() const override {
    return sizeof(Real) == 4 ? Precision::float32 : Precision::float64;
  }
  const std::vector<index_t>& spikes() const override { return spikes_; }
  std::size_t last_synaptic_events() const override { return last_events_; }

  void begin_step(step_t) override {
    delivering_.swap(spikes_);
    spikes_.clear();
    last_events_ = 0;
  }

  void deliver(step_t t) override {
    last_events_ = 0;
    if (delivering_.empty()) return;
    const auto& off = graph_.out_offsets();
    for (index_t s : delivering_) last_events_ += off[s + 1] - off[s];
    const index_t n = graph_.num_nodes();
    const int parts = last_events_ >= kParallelDeliveryEvents ? threads_ : 1;
    cpu::parallel_parts(parts, n, [&](int, std::size_t lo, std::size_t hi) {
      deliver_range(t - 1, static_cast<index_t>(lo), static_cast<index_t>(hi));
    });
  }

  void update_neurons(step_t t) override {
    const std::size_t slot = static_cast<std::size_t>(t % static_cast<step_t>(ring_slots_));
    const index_t n = graph_.num_nodes();
    for (auto& list : thread_spikes_) list.clear();
    cpu::parallel_parts(threads_, n, [&](int part, std::size_t lo, std::size_t hi) {
      for (const Segment& seg : segments_) {
        const std::size_t b = std::max<std::size_t>(lo, seg.begin);
        const std::size_t e = std::min<std::size_t>(hi, seg.end);
        if (b < e) update_segment(t, slot, seg.type, b, e);
      }
      collect_spikes(t, lo, hi, thread_spikes_[static_cast<std::size_t>(part)]);
    });
    spikes_.clear();
    for (const auto& list : thread_spikes_) spikes_.insert(spikes_.end(), list.begin(), list.end());
  }

  std::vector<std::string> state_names() const override {
    return {"v", "threshold", "drive", "energy", "refractory", "last_spike", "alive", "phase"};
  }

  ArrayRef state(const std::string& name) override {
    if (name == "v") return ref(v_);
    if (name == "threshold") return ref(threshold_);
    if (name == "drive") return ref(drive_);
    if (name == "energy") return ref(energy_);
    if (name == "refractory") return ref(refractory_);
    if (name == "last_spike") return ref(last_spike_);
    if (name == "alive") return ref(alive_);
    if (name == "phase") return ref(phase_);
    std::string all;
    for (const auto& s : state_names()) all += (all.empty() ? "" : ", ") + s;
    throw InputError("state: unknown variable '" + name + "' (known: " + all + ")");
  }

  std::size_t memory_bytes() const override {
    std::size_t b = 0;
    b += v_.capacity() * sizeof(Real) * 3 + energy_.capacity() * sizeof(Real);
    b += refractory_.capacity() * 2 + last_spike_.capacity() * 4 + alive_.capacity() + phase_.capacity() * 4;
    b += spiked_.capacity() + ring_.capacity() * sizeof(Real) +
         (spikes_.capacity() + delivering_.capacity()) * sizeof(index_t);
    for (const auto& l : thread_spikes_) b += l.capacity() * sizeof(index_t);
    return b;
  }

 private:
  template <class T>
  static ArrayRef ref(std::vector<T>& v) {
    return ArrayRef{v.data(), v.size(), dtype_of<T>()};
  }

  // Adds the spikes of step `t_emit` to the rings of targets in [lo, hi). Each row is
  // sorted by target, so the part of a row inside [lo, hi) is found by binary search;
  // per target, additions happen in spike order then row order for any partition.
  void deliver_range(step_t t_emit, index_t lo, index_t hi) {
    const auto& off = graph_.out_offsets();
    const index_t* tgt = graph_.edge_target().data();
    const float* w = graph_.edge_weight().data();
    const std::uint16_t* delay = graph_.edge_delay().data();
    const std::uint8_t* kind = graph_.edge_kind().data();
    const std::uint8_t* types = graph_.node_type().data();
    const index_t n = graph_.num_nodes();
    const bool whole = lo == 0 && hi == n;
    const auto slots = static_cast<step_t>(ring_slots_);
    const std::size_t base_slot = static_cast<std::size_t>(t_emit % slots);
    Real* ring = ring_.data();
    for (index_t s : delivering_) {
      Real factor[kEdgeKindCount];
      kernels::spike_factors(params_.synapse, energy_[s], params_.out_gain[types[s]], factor);
      offset_t e = off[s];
      offset_t end = off[s + 1];
      if (!whole) {
        e = static_cast<offset_t>(std::lower_bound(tgt + e, tgt + end, lo) - tgt);
        end = static_cast<offset_t>(std::lower_bound(tgt + e, tgt + end, hi) - tgt);
      }
      for (; e < end; ++e) {
        if (e + kPrefetchAhead < end) {
          std::size_t ahead = base_slot + delay[e + kPrefetchAhead];
          if (ahead >= ring_slots_) ahead -= ring_slots_;
          __builtin_prefetch(ring + ahead * n + tgt[e + kPrefetchAhead], 1);
        }
        std::size_t slot = base_slot + delay[e];
        if (slot >= ring_slots_) slot -= ring_slots_;
        ring[slot * n + tgt[e]] += factor[kind[e]] * static_cast<Real>(w[e]);
      }
    }
  }

  void update_segment(step_t t, std::size_t slot, std::uint8_t type, std::size_t begin, std::size_t end) {
    const kernels::NeuronParams<Real>& p = params_.neuron[type];
    const index_t n = graph_.num_nodes();
    Real* input = ring_.data() + slot * n;
    if (params_.oscillator_period[type] > 0) {
      update_oscillators(type, begin, end, input);
      return;
    }
    const bool ignores = params_.ignores_input[type] != 0;
    const std::uint32_t* table = params_.poisson_table[type].data();
    const int table_size = p.poisson_table_size;
    const bool coupled = p.leaky != 0 && p.energy_coupling != Real(0);
    std::uint32_t counts[kBlock];
    for (std::size_t b0 = begin; b0 < end; b0 += kBlock) {
      const std::size_t len = std::min(kBlock, end - b0);
      if (table_size > 0 && !ignores) {
        for (std::size_t j = 0; j < len; ++j) {
          counts[j] = 0;
        }
        std::uint32_t u[kBlock];
        for (std::size_t j = 0; j < len; ++j) {
          u[j] = kernels::draw_u32(poisson_key_, static_cast<std::uint32_t>(b0 + j), static_cast<std::uint64_t>(t));
        }
        for (int k = 0; k < table_size; ++k) {
          const std::uint32_t threshold = table[k];
          for (std::size_t j = 0; j < len; ++j) counts[j] += u[j] >= threshold ? 1u : 0u;
        }
      } else {
        for (std::size_t j = 0; j < len; ++j) counts[j] = 0;
      }
      if (coupled) {
        update_block<true>(t, p, ignores, b0, len, input, counts);
      } else {
        update_block<false>(t, p, ignores, b0, len, input, counts);
      }
    }
  }

  template <bool kCoupled>
  void update_block(step_t, const kernels::NeuronParams<Real>& params, bool ignores, std::size_t b0,
                    std::size_t len, Real* input, const std::uint32_t* counts) {
    update_nodes<Real, kCoupled>(v_.data() + b0, refractory_.data() + b0, threshold_.data() + b0,
                                 drive_.data() + b0, energy_.data() + b0, input + b0, counts,
                                 alive_.data() + b0, spiked_.data() + b0, len, params, ignores);
  }

  void update_oscillators(std::uint8_t type, std::size_t begin, std::size_t end, Real* input) {
    const auto& p = params_.neuron[type];
    const std::int32_t period = params_.oscillator_period[type];
    for (std::size_t i = begin; i < end; ++i) {
      input[i] = Real(0);  // oscillators ignore input
      bool fired = false;
      if (alive_[i]) {
        if (phase_[i] > 0) {
          --phase_[i];
        } else {
          phase_[i] = period - 1;
          fired = energy_[i] >= p.spike_energy_min;
        }
      }
      spiked_[i] = fired ? 1 : 0;
    }
  }

  // Appends the nodes in [lo, hi) that spiked at step t, ascending, and stamps last_spike.
  void collect_spikes(step_t t, std::size_t lo, std::size_t hi, std::vector<index_t>& out) {
    const std::uint8_t* f = spiked_.data();
    const std::size_t first = out.size();
    std::size_t i = lo;
    // Skip eight quiet nodes at a time: spikes are rare.
    for (; i + 8 <= hi; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, f + i, 8);
      if (word == 0) continue;
      for (std::size_t j = i; j < i + 8; ++j) {
        if (f[j]) out.push_back(static_cast<index_t>(j));
      }
    }
    for (; i < hi; ++i) {
      if (f[i]) out.push_back(static_cast<index_t>(i));
    }
    for (std::size_t k = first; k < out.size(); ++k) last_spike_[out[k]] = static_cast<std::int32_t>(t);
  }

  const Graph& graph_;
  ModelParams<Real> params_;
  int threads_;
  std::size_t ring_slots_ = 1;
  kernels::RngKey poisson_key_{};
  std::vector<Real> v_, threshold_, drive_, energy_;
  std::vector<std::uint16_t> refractory_;
  std::vector<std::int32_t> last_spike_;
  std::vector<std::uint8_t> alive_;
  std::vector<std::int32_t> phase_;
  std::vector<std::uint8_t> spiked_;
  std::vector<Real> ring_;
  std::vector<Segment> segments_;
  std::vector<index_t> spikes_;      // spiked at the current step
  std::vector<index_t> delivering_;  // spiked at the previous step, sent by deliver()
  std::vector<std::vector<index_t>> thread_spikes_;
  std::size_t last_events_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const config::Config& cfg, int threads) {
  if (cfg.string("sim.precision") == "float64") return std::make_unique<CpuBackend<double>>(graph, cfg, threads);
  return std::make_unique<CpuBackend<float>>(graph, cfg, threads);
}

}  // namespace spikegraph
