// Private (CUDA backend, tests): an executor that runs the CUDA backend's step on the
// host, sequentially. StepEngine<HostExec, Real> is the CUDA backend with every
// kernel body (step_bodies.hpp), every launch sequence and every buffer of the
// device version, but loops instead of launches, host memory instead of device
// memory, std::stable_sort instead of CUB's (stable) radix sort and a loop instead
// of CUB's (order-preserving) selection. tests_cpp/backend/test_cuda_emulation.cpp
// runs it against the CPU backend on every build, GPU or not.
//
// To catch a kernel body that depends on the order of its threads (a race on the
// device), for_each runs the indices in reverse by default.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>
#include <string>
#include <vector>

#include "backend/buffer.hpp"
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/core/error.hpp"

namespace spikegraph::gpu {

class HostExec {
 public:
  using HostAlloc = spikegraph::HostAlloc;
  /// Device memory (here: host memory).
  template <class T>
  using Buffer = spikegraph::Buffer<T, HostAlloc>;
  /// The allocation policy of memory both sides use (the node state table's arrays).
  using SharedAlloc = HostAlloc;

  static constexpr const char* kName = "cuda-emulated";

  /// Order in which for_each visits the indices (the result must not depend on it).
  enum class Order { forward, reverse };
  /// What StepEngine passes to the constructor.
  using Options = Order;
  explicit HostExec(Order order = Order::reverse) : order_(order) {}

  template <class F>
  void for_each(std::size_t n, const F& f) {
    if (order_ == Order::forward) {
      for (std::size_t i = 0; i < n; ++i) f(i);
    } else {
      for (std::size_t i = n; i-- > 0;) f(i);
    }
    ++launches_;
  }

  /// For each row r in [0, rows): body.lane(r, l) for the kLanes lanes l, joined
  /// member by member as a halving tree (lane l += lane l + w, w = kLanes/2 ... 1),
  /// then body.finish(r, lane 0): what CudaExec::for_each_row does with one thread per
  /// lane and warp shuffles.
  template <class F>
  void for_each_row(std::size_t rows, const F& body) {
    auto one = [&](std::size_t r) {
      typename F::Lanes lanes[F::kLanes];
      for (unsigned l = 0; l < F::kLanes; ++l) lanes[l] = body.lane(r, l);
      for (unsigned w = F::kLanes / 2; w > 0; w /= 2) {
        for (unsigned l = 0; l < w; ++l) lanes[l].add(lanes[l + w]);
      }
      body.finish(r, lanes[0]);
    };
    if (order_ == Order::forward) {
      for (std::size_t r = 0; r < rows; ++r) one(r);
    } else {
      for (std::size_t r = rows; r-- > 0;) one(r);
    }
    ++launches_;
  }

  /// out[0..count) = the in[i] with flags[i] != 0, in ascending i; *count on the device.
  void select_flagged(const std::uint32_t* in, const std::uint8_t* flags, std::uint32_t* out, std::uint32_t* count,
                      std::size_t n) {
    std::uint32_t c = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (flags[i]) out[c++] = in[i];
    }
    *count = c;
    ++launches_;
  }

  /// Stable sort of (key, value) pairs by the low `end_bit` bits of the key.
  void sort_pairs(const std::uint64_t* keys_in, std::uint64_t* keys_out, const std::uint32_t* values_in,
                  std::uint32_t* values_out, std::size_t n, int end_bit) {
    const std::uint64_t mask = end_bit >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << end_bit) - 1);
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return (keys_in[a] & mask) < (keys_in[b] & mask); });
    for (std::size_t k = 0; k < n; ++k) {
      keys_out[k] = keys_in[idx[k]];
      values_out[k] = values_in[idx[k]];
    }
    ++launches_;
  }

  void to_device(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    copy(dst, src, bytes);
    transfers_.to_device_bytes += bytes;
    ++transfers_.to_device_copies;
  }
  void to_host(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    copy(dst, src, bytes);
    transfers_.to_host_bytes += bytes;
    ++transfers_.to_host_copies;
  }
  void device_copy(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  void zero(void* dst, std::size_t bytes) {
    if (bytes) std::memset(dst, 0, bytes);
  }
  /// Moves shared memory to the device ahead of use (a hint; nothing here).
  void prefetch(const void*, std::size_t) {}
  void synchronize() {}

  /// Kernel launches so far (tests check that work was done on the "device").
  std::size_t launches() const { return launches_; }
  /// Bytes and calls of to_device / to_host so far (what would cross the bus).
  const TransferStats& transfers() const { return transfers_; }

 private:
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes) std::memmove(dst, src, bytes);
  }
  Order order_;
  std::size_t launches_ = 0;
  TransferStats transfers_;
};

}  // namespace spikegraph::gpu
