// Private: the backend part of a checkpoint ("backend/..." sections), one format for
// every backend so that a checkpoint of one loads into another. A backend describes
// where its arrays are (read-only spans: host vectors, managed memory or a fresh
// download) to write them, and gets plain host vectors back from read_backend_state,
// which checks every section (presence, dtype, size, contents) before the backend
// changes anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/core/types.hpp"
#include "spikegraph/io/snapshot.hpp"

namespace spikegraph::backend_state {

/// The node state arrays every backend exposes through Backend::state(), in order.
inline std::vector<std::string> node_state_names() {
  return {"v", "threshold", "drive", "energy", "refractory", "last_spike", "alive", "phase",
          "trace_pre", "trace_post", "rate"};
}

template <class T>
struct Span {
  const T* data = nullptr;
  std::size_t size = 0;
};
template <class T>
Span<T> span(const std::vector<T>& v) {
  return {v.data(), v.size()};
}

/// Where a backend's state is, for writing.
template <class Real>
struct StateSpans {
  Span<Real> v, threshold, drive, energy;
  Span<std::uint16_t> refractory;
  Span<std::int32_t> last_spike;
  Span<std::uint8_t> alive;
  Span<std::int32_t> phase;
  Span<Real> trace_pre, trace_post, rate;
  Span<std::uint8_t> spiked;   ///< per node: spiked at the last step
  Span<index_t> spikes;        ///< the last step's spikes, ascending, delivered at the next step
  std::uint64_t ring_slots = 0;
  Span<Real> ring;             ///< delay ring, ring_slots x nodes
  Span<float> weights;         ///< live weights (empty when the backend uses the graph's)
  Span<float> eligibility;     ///< empty without the eligibility rule
  double gain = 1.0;
  double signal = 0.0;
};

/// The same, read back into host vectors.
template <class Real>
struct State {
  std::vector<Real> v, threshold, drive, energy;
  std::vector<std::uint16_t> refractory;
  std::vector<std::int32_t> last_spike;
  std::vector<std::uint8_t> alive;
  std::vector<std::int32_t> phase;
  std::vector<Real> trace_pre, trace_post, rate;
  std::vector<std::uint8_t> spiked;
  std::vector<index_t> spikes;
  std::vector<Real> ring;
  std::vector<float> weights, eligibility;
  double gain = 1.0;
  double signal = 0.0;
};

/// The sizes the reading backend expects.
struct Shape {
  std::size_t nodes = 0;
  std::uint64_t ring_slots = 0;
  std::size_t weights = 0;      ///< 0 when the backend uses the graph's weights
  std::size_t eligibility = 0;  ///< 0 without the eligibility rule
};

template <class Real>
const char* precision_name() {
  return sizeof(Real) == 4 ? "float32" : "float64";
}

template <class Real>
void write_backend_state(io::SnapshotWriter& out, const StateSpans<Real>& s) {
  auto add = [&out](const char* name, auto sp) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(sp.data)>>;
    out.add(name, dtype_of<T>(), sp.data, sp.size);
  };
  out.add_text("backend/precision", precision_name<Real>());
  add("backend/v", s.v);
  add("backend/threshold", s.threshold);
  add("backend/drive", s.drive);
  add("backend/energy", s.energy);
  add("backend/refractory", s.refractory);
  add("backend/last_spike", s.last_spike);
  add("backend/alive", s.alive);
  add("backend/phase", s.phase);
  add("backend/trace_pre", s.trace_pre);
  add("backend/trace_post", s.trace_post);
  add("backend/rate", s.rate);
  add("backend/spiked", s.spiked);
  add("backend/spikes", s.spikes);
  out.add_scalar("backend/ring_slots", s.ring_slots);
  add("backend/ring", s.ring);
  add("backend/weights", s.weights);
  add("backend/eligibility", s.eligibility);
  out.add_scalar("backend/gain", s.gain);
  out.add_scalar("backend/signal", s.signal);
}

/// Reads and checks every "backend/..." section; throws IoError naming the first
/// problem (nothing of the caller changes then).
template <class Real>
State<Real> read_backend_state(const io::SnapshotReader& in, const Shape& shape) {
  const std::string op = "load checkpoint '" + in.source() + "': ";
  const std::string precision = in.text("backend/precision");
  if (precision != precision_name<Real>()) {
    throw IoError(op + "state was saved in " + precision + ", this simulation runs in " + precision_name<Real>());
  }
  const auto slots = in.scalar<std::uint64_t>("backend/ring_slots");
  if (slots != shape.ring_slots) {
    throw IoError(op + "the delay ring has " + std::to_string(slots) + " slots, this network needs " +
                  std::to_string(shape.ring_slots));
  }
  const std::size_t n = shape.nodes;
  State<Real> s;
  s.v = in.array<Real>("backend/v", n);
  s.threshold = in.array<Real>("backend/threshold", n);
  s.drive = in.array<Real>("backend/drive", n);
  s.energy = in.array<Real>("backend/energy", n);
  s.refractory = in.array<std::uint16_t>("backend/refractory", n);
  s.last_spike = in.array<std::int32_t>("backend/last_spike", n);
  s.alive = in.array<std::uint8_t>("backend/alive", n);
  s.phase = in.array<std::int32_t>("backend/phase", n);
  s.trace_pre = in.array<Real>("backend/trace_pre", n);
  s.trace_post = in.array<Real>("backend/trace_post", n);
  s.rate = in.array<Real>("backend/rate", n);
  s.spiked = in.array<std::uint8_t>("backend/spiked", n);
  s.spikes = in.array<index_t>("backend/spikes");
  s.ring = in.array<Real>("backend/ring", static_cast<std::size_t>(slots) * n);
  s.weights = in.array<float>("backend/weights", shape.weights);
  s.eligibility = in.array<float>("backend/eligibility", shape.eligibility);
  s.gain = in.scalar<double>("backend/gain");
  s.signal = in.scalar<double>("backend/signal");
  for (std::size_t k = 0; k < s.spikes.size(); ++k) {
    if (s.spikes[k] >= n) {
      throw IoError(op + "backend/spikes[" + std::to_string(k) + "] = " + std::to_string(s.spikes[k]) +
                    " is out of range (corrupt)");
    }
    // Backends collect spikes in ascending node order; delivery sums follow it.
    if (k > 0 && s.spikes[k] <= s.spikes[k - 1]) {
      throw IoError(op + "backend/spikes is not strictly ascending (corrupt)");
    }
  }
  for (std::size_t k = 0; k < s.weights.size(); ++k) {
    if (!(s.weights[k] >= 0.0f) || s.weights[k] > std::numeric_limits<float>::max()) {
      throw IoError(op + "backend/weights[" + std::to_string(k) + "] is not a finite weight >= 0 (corrupt)");
    }
  }
  return s;
}

}  // namespace spikegraph::backend_state
