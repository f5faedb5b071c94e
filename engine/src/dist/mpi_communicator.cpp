// The MPI communicator (built with SPIKEGRAPH_MPI). Spike lists are all-gathered, in
// fixed blocks (one collective per step while the lists fit one): every rank needs
// every spike (each rank delivers to its own targets from any source, and the per-node
// phases that only depend on spikes run everywhere), so an all-to-all by target rank
// would send the same ids once per rank anyway.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "failure.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/dist/communicator.hpp"

namespace spikegraph::dist {

namespace {

static_assert(sizeof(index_t) == 4, "spike ids travel as MPI_UINT32_T");

void check(int rc, const char* op) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw BackendError(std::string(op) + ": " + std::string(text, static_cast<std::size_t>(len)));
}

int as_count(std::size_t n, const char* op) {
  if (n > static_cast<std::size_t>(INT_MAX)) {
    throw BackendError(std::string(op) + ": a block of " + std::to_string(n) + " elements exceeds MPI's int counts");
  }
  return static_cast<int>(n);
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) {
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "mpi"; }

  void allgather(const std::vector<index_t>& mine, std::vector<index_t>& all, bool ok,
                 const std::exception_ptr& failure) override {
    Timer timer(*this);
    // One MPI_Allgather of fixed blocks [count, up to capacity_ ids, padding] per call;
    // a rank with more ids sends the rest in a second round (MPI_Allgatherv, whose counts
    // every rank then knows). A failing rank sends kFailed as its count, so a failure
    // costs no extra collective either.
    std::exception_ptr mine_failed = ok ? nullptr : failure;
    if (mine.size() >= kFailed) {  // a count the block cannot carry: fail on every rank
      ok = false;
      mine_failed = std::make_exception_ptr(BackendError("spike exchange: too many spikes on one rank"));
    }
    const std::size_t width = capacity_ + 1, ranks = static_cast<std::size_t>(size_);
    const std::size_t head = std::min(mine.size(), capacity_);
    // Scratch kept between calls: the exchange runs every step (or window).
    std::vector<index_t>& block = block_;
    std::vector<index_t>& blocks = blocks_;
    block.assign(width, 0);
    blocks.resize(width * ranks);
    block[0] = ok ? static_cast<index_t>(mine.size()) : kFailed;
    std::copy_n(mine.begin(), head, block.begin() + 1);
    check(MPI_Allgather(block.data(), as_count(width, "spike exchange"), MPI_UINT32_T, blocks.data(),
                        as_count(width, "spike exchange"), MPI_UINT32_T, comm_),
          "spike exchange");
    bytes_sent_ += width * sizeof(index_t);
    std::size_t total = 0, most = 0;
    bool any_failed = false;
    for (std::size_t r = 0; r < ranks; ++r) {
      const index_t count = blocks[r * width];
      any_failed = any_failed || count == kFailed;
      total += count;
      most = std::max<std::size_t>(most, count);
    }
    if (any_failed) {
      agree(ok ? nullptr
               : (mine_failed ? mine_failed : std::make_exception_ptr(BackendError("spike exchange failed"))));
    }
    // The rest of the lists longer than a block.
    std::vector<index_t>& rest = rest_;
    std::vector<int>& sizes = sizes_;
    std::vector<int>& displs = displs_;
    rest.clear();
    sizes.assign(ranks, 0);
    displs.assign(ranks, 0);
    if (most > capacity_) {
      std::size_t at = 0;
      for (std::size_t r = 0; r < ranks; ++r) {
        const std::size_t extra = blocks[r * width] - std::min<std::size_t>(blocks[r * width], capacity_);
        sizes[r] = as_count(extra, "spike exchange");
        displs[r] = as_count(at, "spike exchange");
        at += extra;
      }
      rest.resize(at);
      check(MPI_Allgatherv(mine.data() + head, as_count(mine.size() - head, "spike exchange"), MPI_UINT32_T,
                           rest.data(), sizes.data(), displs.data(), MPI_UINT32_T, comm_),
            "spike exchange");
      bytes_sent_ += (mine.size() - head) * sizeof(index_t);
    }
    all.clear();
    all.reserve(total);
    for (std::size_t r = 0; r < ranks; ++r) {
      const index_t* b = blocks.data() + r * width;
      all.insert(all.end(), b + 1, b + 1 + std::min<std::size_t>(b[0], capacity_));
      const auto* extra = rest.data() + displs[r];
      all.insert(all.end(), extra, extra + sizes[r]);
    }
    // The next block fits twice this call's longest list (within bounds); every rank
    // computes the same capacity from the same counts.
    capacity_ = std::clamp<std::size_t>(2 * most, kMinBlock, kMaxBlock);
  }

  void allgather_bytes(const std::vector<unsigned char>& mine, std::vector<unsigned char>& all,
                       std::vector<std::uint64_t>& offsets) override {
    Timer timer(*this);
    const std::uint64_t count = mine.size();
    std::vector<std::uint64_t> counts(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&count, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, comm_), "gather");
    std::vector<int> sizes(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
    offsets.assign(static_cast<std::size_t>(size_) + 1, 0);
    for (int r = 0; r < size_; ++r) {
      const auto ur = static_cast<std::size_t>(r);
      offsets[ur + 1] = offsets[ur] + counts[ur];
      sizes[ur] = as_count(counts[ur], "gather");
      displs[ur] = as_count(offsets[ur], "gather");
    }
    all.resize(offsets.back());
    check(MPI_Allgatherv(mine.data(), as_count(mine.size(), "gather"), MPI_BYTE, all.data(), sizes.data(),
                         displs.data(), MPI_BYTE, comm_),
          "gather");
    bytes_sent_ += sizeof(std::uint64_t) + mine.size();
  }

  void gather_bytes(const std::vector<unsigned char>& mine, std::vector<unsigned char>& all,
                    std::vector<std::uint64_t>& offsets) override {
    Timer timer(*this);
    const std::uint64_t count = mine.size();
    const bool root = rank_ == 0;
    std::vector<std::uint64_t> counts(root ? static_cast<std::size_t>(size_) : 0);
    check(MPI_Gather(&count, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, 0, comm_), "gather");
    std::vector<int> sizes(counts.size()), displs(counts.size());
    all.clear();
    offsets.clear();
    if (root) {
      offsets.assign(static_cast<std::size_t>(size_) + 1, 0);
      for (std::size_t r = 0; r < counts.size(); ++r) {
        offsets[r + 1] = offsets[r] + counts[r];
        sizes[r] = as_count(counts[r], "gather");
        displs[r] = as_count(offsets[r], "gather");
      }
      all.resize(offsets.back());
    }
    check(MPI_Gatherv(mine.data(), as_count(mine.size(), "gather"), MPI_BYTE, all.data(), sizes.data(),
                      displs.data(), MPI_BYTE, 0, comm_),
          "gather");
    bytes_sent_ += sizeof(std::uint64_t) + mine.size();
  }

  void sum_in_rank_order(std::vector<double>& values) override {
    Timer timer(*this);
    const int n = as_count(values.size(), "sum");
    std::vector<double> all(values.size() * static_cast<std::size_t>(size_));
    check(MPI_Allgather(values.data(), n, MPI_DOUBLE, all.data(), n, MPI_DOUBLE, comm_), "sum");
    for (std::size_t k = 0; k < values.size(); ++k) {
      double s = 0.0;
      for (int r = 0; r < size_; ++r) s += all[static_cast<std::size_t>(r) * values.size() + k];
      values[k] = s;
    }
    bytes_sent_ += values.size() * sizeof(double);
  }

  void sum_counts(std::vector<std::uint64_t>& values, std::vector<std::uint64_t>* before) override {
    Timer timer(*this);
    // In blocks that fit MPI's int counts.
    constexpr std::size_t kBlock = std::size_t{1} << 28;
    if (before) before->assign(values.size(), 0);
    for (std::size_t at = 0; at < values.size(); at += kBlock) {
      const int n = static_cast<int>(std::min(kBlock, values.size() - at));
      if (before) {
        check(MPI_Exscan(values.data() + at, before->data() + at, n, MPI_UINT64_T, MPI_SUM, comm_), "sum counts");
        if (rank_ == 0) std::fill(before->begin() + static_cast<std::ptrdiff_t>(at),
                                  before->begin() + static_cast<std::ptrdiff_t>(at) + n, 0);  // undefined there
      }
      check(MPI_Allreduce(MPI_IN_PLACE, values.data() + at, n, MPI_UINT64_T, MPI_SUM, comm_), "sum counts");
    }
    bytes_sent_ += values.size() * sizeof(std::uint64_t) * (before ? 2 : 1);
  }

  void agree(const std::exception_ptr& failure) override {
    auto [cls, message] = describe_failure(failure);
    int code = static_cast<int>(cls);
    std::vector<int> codes(static_cast<std::size_t>(size_));
    {
      Timer timer(*this);
      check(MPI_Allgather(&code, 1, MPI_INT, codes.data(), 1, MPI_INT, comm_), "agree");
    }
    int first = -1;
    for (int r = 0; r < size_ && first < 0; ++r) {
      if (codes[static_cast<std::size_t>(r)] != 0) first = r;
    }
    if (first < 0) return;
    // The first failing rank's message, to everyone.
    std::uint64_t len = rank_ == first ? message.size() : 0;
    check(MPI_Bcast(&len, 1, MPI_UINT64_T, first, comm_), "agree");
    std::string text(len, '\0');
    if (rank_ == first) text = message;
    check(MPI_Bcast(text.data(), as_count(len, "agree"), MPI_CHAR, first, comm_), "agree");
    if (failure) std::rethrow_exception(failure);
    throw_remote_failure(static_cast<FailureClass>(codes[static_cast<std::size_t>(first)]), first, text);
  }

  void abort(int code) override { MPI_Abort(comm_, code); }

 private:
  struct Timer {
    explicit Timer(MpiCommunicator& c) : comm(c), start(std::chrono::steady_clock::now()) {}
    ~Timer() { comm.seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
    MpiCommunicator& comm;
    std::chrono::steady_clock::time_point start;
  };

  // The spike exchange's block: ids per rank in the one-collective path (the rest, if
  // any, goes in a second round). Small blocks cost latency only; the upper bound keeps
  // a burst from padding every later step.
  static constexpr std::size_t kMinBlock = 16, kMaxBlock = 4096;
  static constexpr index_t kFailed = 0xFFFFFFFFu;  // a block's count from a failing rank

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::size_t capacity_ = kMinBlock;
  std::vector<index_t> block_, blocks_, rest_;  // the spike exchange's scratch
  std::vector<int> sizes_, displs_;
};

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

bool mpi_compiled() { return true; }

std::shared_ptr<Communicator> mpi_world() {
  int initialized = 0;
  check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    std::atexit(finalize_at_exit);
  }
  return std::make_shared<MpiCommunicator>(MPI_COMM_WORLD);
}

std::shared_ptr<Communicator> mpi_communicator_from_fortran(std::int64_t handle) {
  int initialized = 0;
  check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) throw BackendError("MPI communicator: MPI is not initialised (import mpi4py.MPI first)");
  return std::make_shared<MpiCommunicator>(MPI_Comm_f2c(static_cast<MPI_Fint>(handle)));
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string v(text, static_cast<std::size_t>(len));
  const auto nl = v.find('\n');
  return nl == std::string::npos ? v : v.substr(0, nl);
}

}  // namespace spikegraph::dist
