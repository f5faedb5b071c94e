// The one-rank communicator, and what a build without MPI says when asked for MPI.
#include <chrono>

#include "failure.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"

namespace spikegraph::dist {

namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string kind() const override { return "local"; }
  void allgather(const std::vector<index_t>& mine, std::vector<index_t>& all, bool ok,
                 const std::exception_ptr& failure) override {
    if (!ok) agree(failure ? failure : std::make_exception_ptr(BackendError("allgather: this rank failed")));
    all = mine;
  }
  void allgather_bytes(const std::vector<unsigned char>& mine, std::vector<unsigned char>& all,
                       std::vector<std::uint64_t>& offsets) override {
    all = mine;
    offsets = {0, mine.size()};
  }
  void gather_bytes(const std::vector<unsigned char>& mine, std::vector<unsigned char>& all,
                    std::vector<std::uint64_t>& offsets) override {
    allgather_bytes(mine, all, offsets);
  }
  void sum_in_rank_order(std::vector<double>&) override {}
  void sum_counts(std::vector<std::uint64_t>& values, std::vector<std::uint64_t>* before) override {
    if (before) before->assign(values.size(), 0);
  }
  void agree(const std::exception_ptr& failure) override {
    if (failure) std::rethrow_exception(failure);
  }
  void abort(int) override {}
};

}  // namespace

std::shared_ptr<Communicator> local_communicator() { return std::make_shared<LocalCommunicator>(); }

#ifndef SPIKEGRAPH_WITH_MPI
namespace {
[[noreturn]] void no_mpi(const char* op) {
  throw BackendError(std::string(op) +
                     ": spikegraph was built without MPI (configure with -DSPIKEGRAPH_MPI=ON and an MPI library)");
}
}  // namespace
bool mpi_compiled() { return false; }
std::shared_ptr<Communicator> mpi_world() { no_mpi("mpi_world"); }
std::shared_ptr<Communicator> mpi_communicator_from_fortran(std::int64_t) { no_mpi("MPI communicator"); }
std::string mpi_library_version() { return ""; }
#endif

}  // namespace spikegraph::dist
