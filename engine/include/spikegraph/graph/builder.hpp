// spikegraph/graph/builder.hpp
// Networks from populations and projections, the way NEST, Brian2 and PyNN describe
// them: named populations of a node type and size, and projections between them with
// a connection rule (all-to-all, one-to-one, fixed in-degree, fixed out-degree, fixed
// total number, pairwise Bernoulli; autapses and multapses on or off) and weights and
// delays as constants or distributions. Every random choice comes from the
// counter-based generator keyed by (seed, projection, element, draw), so the network
// is the same on every machine and thread count.
//
// Ownership: a builder owns its description; build() returns a new immutable Graph.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"
#include "spikegraph/graph/graph.hpp"

namespace spikegraph {

/// A value per edge: a constant or a distribution. Weights are magnitudes (>= 0; the
/// edge kind gives the sign); delays are in ms (rounded to whole steps, at least one).
struct Distribution {
  enum class Kind : std::uint8_t {
    constant,   ///< a
    uniform,    ///< uniform on [a, b)
    normal,     ///< mean a, standard deviation b; clipped to [low, high]
    normal_redrawn,  ///< the same, drawn again until inside [low, high]
    lognormal,  ///< exp(normal(a, b)): a and b are the mean and deviation of the log
  };
  Kind kind = Kind::constant;
  double a = 0.0;
  double b = 0.0;
  double low = -1e300;
  double high = 1e300;

  static Distribution constant_value(double v) { return {Kind::constant, v, 0.0}; }
};

/// How a projection chooses its pairs (NEST's names).
struct ConnectionRule {
  enum class Kind : std::uint8_t {
    all_to_all,
    one_to_one,          ///< pre and post of equal size, i -> i
    fixed_indegree,      ///< every post node gets `n` sources
    fixed_outdegree,     ///< every pre node gets `n` targets
    fixed_total_number,  ///< `n` pairs in all
    pairwise_bernoulli,  ///< every pair with probability `p`
    from_list,           ///< the pairs (pre[k], post[k]): indices within the populations
  };
  Kind kind = Kind::all_to_all;
  std::int64_t n = 0;
  double p = 0.0;
  bool autapses = true;   ///< a node may connect to itself (same population only)
  bool multapses = true;  ///< a pair may be connected more than once (from_list: as listed)
  std::vector<index_t> pre, post;  ///< from_list: the pairs, in order
};

/// A contiguous range of node ids.
struct Population {
  std::string name;
  NodeType type = NodeType::dynamic;
  index_t first = 0;
  index_t size = 0;
};

class NetworkBuilder {
 public:
  /// `seed` keys every draw; `dt_ms` turns delays into steps.
  NetworkBuilder(std::uint64_t seed, double dt_ms);

  /// Append a population of `size` nodes (ids follow the previous population's).
  /// Throws GraphError for an empty or duplicate name or a total beyond 2^32 - 2 nodes.
  const Population& add_population(const std::string& name, NodeType type, std::int64_t size);

  /// Describe a projection from `pre` to `post`. Everything is checked here (names,
  /// the rule's numbers against the population sizes, distributions: weights must be
  /// able to draw only values >= 0, delays only values >= 0); throws GraphError naming
  /// the projection and the problem, and then nothing is added.
  void connect(const std::string& pre, const std::string& post, const ConnectionRule& rule,
               const Distribution& weight, const Distribution& delay_ms, EdgeKind kind = EdgeKind::excitatory,
               bool plastic = false);

  /// Initial values of a population's nodes for a node state variable (a row of
  /// state/node_state.hpp other than "alive", e.g. "v", "threshold", "drive",
  /// "poisson_rate"; units as there): one draw of `value` per node, from the
  /// counter-based generator keyed by the seed, the population and the variable (any
  /// value: these are not edge magnitudes), or one given value per node. A later call
  /// for the same population and variable replaces an earlier one. Throws GraphError
  /// for an unknown population or variable, a bad distribution, a wrong count or a
  /// non-finite value; nothing changes then.
  void set_initial(const std::string& population, const std::string& variable, const Distribution& value);
  void set_initial(const std::string& population, const std::string& variable, std::vector<double> values);
  /// The initial values set_initial describes, for a network of these populations: per
  /// variable one value per node, NaN for nodes of populations that did not set it.
  /// Simulation::set_initial_state applies them.
  std::map<std::string, std::vector<double>> initial_state() const;

  const std::vector<Population>& populations() const { return populations_; }
  /// The population named `name`; GraphError if there is none.
  const Population& population(const std::string& name) const;
  std::size_t num_projections() const { return projections_.size(); }
  /// Nodes of the network: the populations' sizes added up.
  std::size_t num_nodes() const;

  /// Draw every projection and build the graph on `threads` threads (0: all the
  /// hardware has). The graph is the same on any thread count: every pair, weight and
  /// delay is a function of its index in the projection. Throws GraphError when a rule
  /// cannot be met (for example fixed in-degree without multapses beyond the sources
  /// there are), a redrawn normal finds no value in its bounds, or a delay exceeds 65535
  /// steps.
  std::shared_ptr<const Graph> build(int threads = 0) const;
  /// One rank's part of the graph build() makes (dist::GraphPart), without ever holding
  /// the whole: the edges into nodes [begin, end) and, with `source_rows`, out of them,
  /// in the whole graph's order; `row_base[s]` gets the whole graph's index of the first
  /// of them in row s and `total_edges` the whole graph's edge count. Every projection is
  /// drawn in turn (the memory of the largest one, not of the graph). Errors as build(),
  /// and GraphError when [begin, end) is not a range of the nodes.
  std::shared_ptr<const Graph> build_part(index_t begin, index_t end, bool source_rows,
                                          std::vector<std::uint64_t>& row_base, std::uint64_t& total_edges,
                                          int threads = 0) const;
  /// Each node's number of incoming edges in build()'s graph, drawn projection by
  /// projection (for dist::partition_by_in_edges).
  std::vector<std::uint64_t> in_degrees(int threads = 0) const;

 private:
  struct Projection {
    std::size_t pre, post;
    ConnectionRule rule;
    Distribution weight, delay;
    EdgeKind kind;
    bool plastic;
  };
  std::uint64_t seed_;
  double dt_;
  std::vector<Population> populations_;
  std::vector<Projection> projections_;
  struct Initial {
    std::size_t population;
    std::string variable;
    Distribution value;
    std::vector<double> values;  // given per node (then `value` is unused)
  };
  // "build: projection q (...)", for errors.
  std::string projection_name(std::size_t q) const;
  // Appends projection q's pairs (whole-graph ids, in the projection's order).
  void draw_pairs(std::size_t q, int threads, std::vector<index_t>& src, std::vector<index_t>& tgt) const;
  // Weights and delays (steps) of projection q's first `count` edges.
  void draw_values(std::size_t q, int threads, std::size_t count, float* weights, std::uint16_t* delays) const;
  std::vector<std::uint8_t> node_types() const;
  void put_initial(Initial initial);  // replaces the one for the same population and variable
  std::vector<Initial> initial_;
};

}  // namespace spikegraph
