// spikegraph/dist/communicator.hpp
// The collectives a simulation on several processes (ranks) needs, behind one small
// interface: MPI when spikegraph is built with it (SPIKEGRAPH_MPI), and a one-rank
// communicator that needs nothing. Every call is collective: all ranks of the
// communicator make the same calls in the same order (the simulation's steps do).
//
// Errors: agree() is how one rank's failure reaches every rank. A rank that failed
// passes its exception; every rank then throws: the failing rank its own exception,
// the others an error of the same class naming the rank and its message. No rank is
// left waiting in a collective the failing one never reaches.
//
// Ownership: communicators are shared (std::shared_ptr) by the simulations that use
// them. An MPI communicator made from a handle does not own or free that handle.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  /// This process's rank, 0 .. size()-1.
  virtual int rank() const = 0;
  /// Number of ranks.
  virtual int size() const = 0;
  /// "mpi" or "local".
  virtual std::string kind() const = 0;

  /// Every rank's `mine`, concatenated in rank order, on every rank. When `ok` is
  /// false on any rank, every rank throws (as agree() does) with `failure`.
  virtual void allgather(const std::vector<index_t>& mine, std::vector<index_t>& all, bool ok = true,
                         const std::exception_ptr& failure = nullptr) = 0;
  /// Byte blocks, one per rank, concatenated in rank order on every rank; `offsets`
  /// gets size()+1 entries (rank r's block is [offsets[r], offsets[r+1])).
  virtual void allgather_bytes(const std::vector<unsigned char>& mine, std::vector<unsigned char>& all,
                               std::vector<std::uint64_t>& offsets) = 0;
  /// The same, gathered on rank 0 only (checkpoints): `all` and `offsets` are filled
  /// on rank 0 and left empty elsewhere.
  virtual void gather_bytes(const std::vector<unsigned char>& mine, std::vector<unsigned char>& all,
                            std::vector<std::uint64_t>& offsets) = 0;
  /// The sum over ranks of `values` (element-wise), taken in rank order on every rank,
  /// so the result is the same bits on every rank.
  virtual void sum_in_rank_order(std::vector<double>& values) = 0;
  /// Counts, element-wise: `values` becomes the sum over ranks and, when `before` is
  /// given, *before the sum over the ranks below this one (zeros on rank 0). Integer
  /// sums are exact in any order, so the reduction needs no gathering: each rank sends
  /// and receives about the array's size, whatever the number of ranks.
  virtual void sum_counts(std::vector<std::uint64_t>& values, std::vector<std::uint64_t>* before = nullptr) = 0;
  /// Returns normally when no rank failed; otherwise throws on every rank (see above).
  virtual void agree(const std::exception_ptr& failure) = 0;
  /// Ends every rank of the communicator (MPI_Abort) with exit code `code`: for an
  /// error outside the collective calls, which the other ranks could not see. The
  /// one-rank communicator returns (the caller's own error handling ends the process).
  virtual void abort(int code) = 0;
  /// Seconds and bytes this rank spent in (and sent through) collectives since the
  /// last reset: the communication share of a step.
  double seconds() const { return seconds_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  void reset_counters() {
    seconds_ = 0.0;
    bytes_sent_ = 0;
  }

 protected:
  double seconds_ = 0.0;
  std::uint64_t bytes_sent_ = 0;
};

/// A communicator of one rank (no MPI needed): every collective is a copy.
std::shared_ptr<Communicator> local_communicator();

/// Whether this build has MPI support.
bool mpi_compiled();
/// MPI_COMM_WORLD; initialises MPI when nobody has (and finalises it at exit).
/// Throws BackendError when spikegraph was built without MPI.
std::shared_ptr<Communicator> mpi_world();
/// A communicator from an MPI Fortran handle (mpi4py: comm.py2f()), for embedders
/// whose MPI was initialised elsewhere. Throws BackendError without MPI support, or
/// when MPI is not initialised.
std::shared_ptr<Communicator> mpi_communicator_from_fortran(std::int64_t handle);
/// The MPI library's version string, or "" without MPI support.
std::string mpi_library_version();

}  // namespace spikegraph::dist
