// Private: the backend part of a checkpoint ("backend/..." sections), one format for
// every backend so that a checkpoint of one loads into another. A backend describes
// where its arrays are (read-only spans: host vectors, managed memory or a fresh
// download) to write them, and gets plain host vectors back from read_backend_state,
// which checks every section (presence, dtype, size, contents) before the backend
// changes anything.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/core/types.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/state/node_state.hpp"

namespace spikegraph::backend_state {

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
  std::array<ArrayRef, kNodeVarCount> nodes;  ///< the node state table's arrays ("backend/<name>")
  Span<std::uint8_t> spiked;   ///< per node: spiked at the last step
  Span<index_t> spikes;        ///< the last step's spikes, ascending, delivered at the next step
  std::uint64_t ring_slots = 0;
  Span<Real> ring;             ///< delay ring, channels x ring_slots x nodes (one rank: its own nodes)
  Span<float> weights;         ///< live weights (empty when the backend uses the graph's)
  Span<float> eligibility;     ///< empty without the eligibility rule
  double gain = 1.0;
  double signal = 0.0;
};

/// The same, read back into host vectors.
template <class Real>
struct State {
  std::array<std::vector<unsigned char>, kNodeVarCount> nodes;  ///< each table array's bytes
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
  std::size_t ring_channels = 1;  ///< 2 when inhibitory input has its own ring (lif_exp)
  NodeFeatures features;          ///< which optional node arrays exist
  std::size_t weights = 0;      ///< 0 when the backend uses the graph's weights
  std::size_t eligibility = 0;  ///< 0 without the eligibility rule
  std::size_t ring_nodes = 0;   ///< nodes per ring row when not every node's (one rank's); 0: `nodes`
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
  for (const auto& row : kNodeVars) {
    const ArrayRef& a = s.nodes[static_cast<std::size_t>(row.id)];
    out.add(std::string("backend/") + row.name, a.dtype, a.data, a.size);
  }
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
  for (const auto& row : kNodeVars) {
    const DType dtype = node_var_dtype(row, sizeof(Real) == 8);
    const std::string name = std::string("backend/") + row.name;
    // An optional array this simulation does not allocate: absent (checkpoints written
    // before it existed) or empty.
    const std::size_t count = shape.features.has(row.feature) ? n : 0;
    if (count == 0 && !in.has(name)) continue;
    // Checkpoints from before per-node Poisson rates: the nodes keep the rates of their
    // types (empty bytes leave the array as the backend initialised it).
    if (row.id == NodeVar::poisson_rate && !in.has(name)) continue;
    std::vector<unsigned char>& bytes = s.nodes[static_cast<std::size_t>(row.id)];
    bytes.resize(count * dtype_size(dtype));
    in.read_into(name, dtype, bytes.data(), count);
  }
  s.spiked = in.array<std::uint8_t>("backend/spiked", n);
  s.spikes = in.array<index_t>("backend/spikes");
  const std::size_t ring_n = shape.ring_nodes != 0 ? shape.ring_nodes : n;
  s.ring = in.array<Real>("backend/ring", shape.ring_channels * static_cast<std::size_t>(slots) * ring_n);
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
