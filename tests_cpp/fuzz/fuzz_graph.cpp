// libFuzzer harness for the graph builder from arrays (GraphBuilder::from_arrays, the
// path of Network.from_arrays and the importers): the input is decoded into a node
// count, node types and edge arrays with arbitrary values (out-of-range ids, NaN and
// negative weights, zero and huge delays, unknown kinds). The builder must return a
// graph or a GraphError; an accepted graph must hold exactly the edges given, valid by
// its own checks, and simulate.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace {

// Reads fixed-size values from the input, zeros past its end.
struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  template <class T>
  T get() {
    T v{};
    const std::size_t k = n < sizeof(T) ? n : sizeof(T);
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  const std::size_t nodes = in.get<std::uint8_t>() % 65;  // 0..64
  const std::size_t edges = in.get<std::uint8_t>() % 129;
  std::vector<std::int64_t> types(nodes);
  for (auto& t : types) t = in.get<std::uint8_t>() % 9;  // includes unknown types
  std::vector<std::int64_t> src(edges), tgt(edges), delay(edges), kind(edges);
  std::vector<double> w(edges);
  std::vector<std::uint8_t> plastic(edges);
  const std::uint8_t mode = in.get<std::uint8_t>();
  for (std::size_t e = 0; e < edges; ++e) {
    // Mostly plausible values, sometimes raw ones.
    src[e] = (mode & 1) ? in.get<std::int64_t>() : in.get<std::uint8_t>() % (nodes + 2);
    tgt[e] = (mode & 2) ? in.get<std::int64_t>() : in.get<std::uint8_t>() % (nodes + 2);
    w[e] = (mode & 4) ? in.get<double>() : in.get<std::uint8_t>() / 64.0;
    delay[e] = (mode & 8) ? in.get<std::int64_t>() : in.get<std::uint8_t>() % 20;
    kind[e] = in.get<std::uint8_t>() % 5;
    plastic[e] = in.get<std::uint8_t>() % 3;
  }
  spikegraph::EdgeArrays a;
  a.num_edges = edges;
  a.sources = src.data();
  a.targets = tgt.data();
  a.weights = w.data();
  a.delays = (mode & 16) ? nullptr : delay.data();
  a.kinds = (mode & 32) ? nullptr : kind.data();
  a.plastic = (mode & 64) ? nullptr : plastic.data();
  std::shared_ptr<const spikegraph::Graph> g;
  try {
    g = spikegraph::GraphBuilder::from_arrays(nodes, (mode & 128) ? nullptr : types.data(), a);
  } catch (const spikegraph::Error&) {
    return 0;
  }
  if (g->num_nodes() != nodes || g->num_edges() != edges) std::abort();
  const auto& off = g->out_offsets();
  for (std::size_t s = 0; s < nodes; ++s) {
    if (off[s + 1] < off[s]) std::abort();
    for (auto e = off[s]; e < off[s + 1]; ++e) {
      if (g->edge_target()[e] >= nodes || !(g->edge_weight()[e] >= 0.0f) || g->edge_delay()[e] < 1) std::abort();
    }
  }
  try {
    spikegraph::config::Config cfg;
    cfg.update({{"sim.threads", spikegraph::config::Value::integer(1)}});
    spikegraph::Simulation sim(g, cfg);
    sim.run_steps(5);
  } catch (const spikegraph::Error&) {
  }
  return 0;
}
