// Private (CUDA backend): the CUDA executor of StepEngine (step_engine.hpp).
//
// - One launch helper, for_each: a grid-stride loop calling a kernel body for every
//   index, checked with cudaGetLastError after the launch (and synchronised in
//   debug builds so that a faulting kernel is reported at its launch).
// - Every CUDA call goes through check_cuda, which throws spikegraph::BackendError
//   with the operation and CUDA's error name and text: GPU failures are exceptions,
//   never aborts.
// - Memory: Buffer<T> is cudaMalloc'ed device memory, SharedAlloc managed memory
//   (cudaMallocManaged, the node state's arrays), both released with their buffers.
// - All work goes to one stream of the device; synchronize() waits for it (and, on
//   devices without concurrent managed access, for the whole device, so the host may
//   touch managed memory afterwards).
// - The stream compaction (spike lists) and the sort (sparse delivery) are CUB's
//   DeviceSelect::Flagged (order-preserving) and DeviceRadixSort::SortPairs (stable).
#pragma once

#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "backend/buffer.hpp"
#include "spikegraph/backend/backend.hpp"
#include "spikegraph/core/error.hpp"

namespace spikegraph::gpu {

/// Throws BackendError("cuda backend: <what>: <error name>: <error text>") unless ok.
inline void check_cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call reports its own
  throw BackendError(std::string("cuda backend: ") + what + ": " + cudaGetErrorName(err) + ": " +
                     cudaGetErrorString(err));
}

inline std::string mebibytes(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

/// The kernel of every launch: thread i of a grid-stride loop runs body(i).
template <class F>
__global__ void for_each_kernel(std::size_t n, F body) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) body(i);
}

/// The kernel of for_each_row: F::kLanes consecutive threads per row (a divisor of 32,
/// so a row's lanes are in one warp). Every thread of the grid takes part in the
/// shuffles (rows past the end with zeros), so the full-warp mask is exact.
template <class F>
__global__ void for_each_row_kernel(std::size_t rows, F body) {
  constexpr unsigned kLanes = F::kLanes;
  static_assert(32 % kLanes == 0, "a row's lanes must lie in one warp");
  const std::size_t t = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::size_t row = t / kLanes;
  const unsigned lane = threadIdx.x % kLanes;
  typename F::Lanes acc{};
  if (row < rows) acc = body.lane(row, lane);
  // The tree of HostExec::for_each_row and kernels::combine_flow_lanes: lane l adds
  // lane l + w for w = kLanes/2 ... 1 (lanes >= w compute values nobody reads).
  for (unsigned w = kLanes / 2; w > 0; w /= 2) {
    typename F::Lanes other;
    for (int k = 0; k < F::Lanes::kCount; ++k) other.v[k] = __shfl_down_sync(0xffffffffu, acc.v[k], w, kLanes);
    acc.add(other);
  }
  if (lane == 0 && row < rows) body.finish(row, acc);
}

class CudaExec {
 public:
  struct DeviceAlloc {
    static void* allocate(std::size_t bytes, const char* what) {
      void* p = nullptr;
      const cudaError_t err = cudaMalloc(&p, bytes);
      if (err != cudaSuccess) {
        cudaGetLastError();
        throw BackendError(std::string("cuda backend: cannot allocate ") + mebibytes(bytes) +
                           " of device memory for '" + what + "': " + cudaGetErrorString(err));
      }
      return p;
    }
    static void release(void* p) noexcept { cudaFree(p); }
  };
  struct ManagedAlloc {
    static void* allocate(std::size_t bytes, const char* what) {
      void* p = nullptr;
      const cudaError_t err = cudaMallocManaged(&p, bytes, cudaMemAttachGlobal);
      if (err != cudaSuccess) {
        cudaGetLastError();
        throw BackendError(std::string("cuda backend: cannot allocate ") + mebibytes(bytes) +
                           " of managed memory for '" + what + "': " + cudaGetErrorString(err));
      }
      return p;
    }
    static void release(void* p) noexcept { cudaFree(p); }
  };
  template <class T>
  using Buffer = spikegraph::Buffer<T, DeviceAlloc>;
  /// The allocation policy of memory both sides use (the node state table's arrays).
  using SharedAlloc = ManagedAlloc;

  static constexpr const char* kName = "cuda";
  /// The device ordinal.
  using Options = int;

  explicit CudaExec(int device) : device_(device) {
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    int managed = 0;
    check_cuda(cudaDeviceGetAttribute(&managed, cudaDevAttrManagedMemory, device_), "cudaDeviceGetAttribute");
    if (!managed) throw BackendError("cuda backend: the device cannot allocate managed memory (needed for state views)");
    int concurrent = 0;
    check_cuda(cudaDeviceGetAttribute(&concurrent, cudaDevAttrConcurrentManagedAccess, device_),
               "cudaDeviceGetAttribute");
    concurrent_managed_ = concurrent != 0;
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  }
  CudaExec(const CudaExec&) = delete;
  CudaExec& operator=(const CudaExec&) = delete;
  ~CudaExec() {
    temp_.reset();
    if (stream_) cudaStreamDestroy(stream_);
  }

  /// Runs body(i) for i in [0, n) on the device. Small launches (the ledger's block
  /// sums: a thread per 1024 nodes, each a long sequential loop) use blocks of one
  /// warp, so that they spread over the multiprocessors.
  template <class F>
  void for_each(std::size_t n, const F& body) {
    if (n == 0) return;
    const unsigned threads = n < kSmallLaunch ? 32u : kThreads;
    const std::size_t blocks = std::min<std::size_t>((n + threads - 1) / threads, kMaxBlocks);
    for_each_kernel<<<static_cast<unsigned>(blocks), threads, 0, stream_>>>(n, body);
    after_launch("kernel launch");
  }

  /// For each row of [0, rows), F::kLanes threads compute body.lane(row, lane), joined
  /// by warp shuffles in HostExec::for_each_row's tree, then body.finish(row, total).
  template <class F>
  void for_each_row(std::size_t rows, const F& body) {
    if (rows == 0) return;
    const std::size_t threads = rows * F::kLanes;
    const std::size_t blocks = (threads + kThreads - 1) / kThreads;
    if (blocks > 0x7FFFFFFFu) throw BackendError("cuda backend: too many rows for one launch");
    for_each_row_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream_>>>(rows, body);
    after_launch("kernel launch (rows)");
  }

  /// out[0..*count) = the in[i] with flags[i] != 0, ascending i (*count on the device).
  void select_flagged(const std::uint32_t* in, const std::uint8_t* flags, std::uint32_t* out, std::uint32_t* count,
                      std::size_t n) {
    std::size_t bytes = 0;
    const auto items = static_cast<std::int64_t>(n);
    check_cuda(cub::DeviceSelect::Flagged(nullptr, bytes, in, flags, out, count, items, stream_),
               "spike selection (scratch size)");
    temp_.reserve(std::max<std::size_t>(bytes, 1), "CUB scratch");
    check_cuda(cub::DeviceSelect::Flagged(temp_.data(), bytes, in, flags, out, count, items, stream_),
               "spike selection");
    after_launch("spike selection");
  }

  /// Stable sort of (key, value) pairs by the low end_bit bits of the keys.
  void sort_pairs(const std::uint64_t* keys_in, std::uint64_t* keys_out, const std::uint32_t* values_in,
                  std::uint32_t* values_out, std::size_t n, int end_bit) {
    if (n == 0) return;
    if (n > 0xFFFFFFFFu) throw BackendError("cuda backend: delivery: more than 2^32 - 1 events in one step");
    const auto items = static_cast<std::uint32_t>(n);
    std::size_t bytes = 0;
    check_cuda(cub::DeviceRadixSort::SortPairs(nullptr, bytes, keys_in, keys_out, values_in, values_out, items, 0,
                                               end_bit, stream_),
               "delivery sort (scratch size)");
    temp_.reserve(std::max<std::size_t>(bytes, 1), "CUB scratch");
    check_cuda(cub::DeviceRadixSort::SortPairs(temp_.data(), bytes, keys_in, keys_out, values_in, values_out, items,
                                               0, end_bit, stream_),
               "delivery sort");
    after_launch("delivery sort");
  }

  void to_device(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_), "copy to the device");
    transfers_.to_device_bytes += bytes;
    ++transfers_.to_device_copies;
  }
  /// Synchronous: the data is on the host when this returns.
  void to_host(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_), "copy to the host");
    transfers_.to_host_bytes += bytes;
    ++transfers_.to_host_copies;
    check_cuda(cudaStreamSynchronize(stream_), "copy to the host");
  }
  void device_copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes) check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_), "device copy");
  }
  void zero(void* dst, std::size_t bytes) {
    if (bytes) check_cuda(cudaMemsetAsync(dst, 0, bytes, stream_), "cudaMemsetAsync");
  }
  /// Moves managed memory to the device ahead of the kernels (a hint: where the
  /// device cannot prefetch, pages move on first use instead).
  void prefetch(const void* p, std::size_t bytes) {
    if (!bytes || !concurrent_managed_) return;
    cudaMemLocation where{};
    where.type = cudaMemLocationTypeDevice;
    where.id = device_;
    check_cuda(cudaMemPrefetchAsync(p, bytes, where, 0, stream_), "cudaMemPrefetchAsync");
  }
  /// Waits until the device has finished everything launched so far; reports the
  /// first error of an asynchronous kernel.
  void synchronize() {
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    if (!concurrent_managed_) check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  /// Bytes and calls of to_device / to_host so far.
  const TransferStats& transfers() const { return transfers_; }

 private:
  static constexpr unsigned kThreads = 256;
  static constexpr std::size_t kSmallLaunch = 32768;
  static constexpr std::size_t kMaxBlocks = std::size_t{1} << 20;

  void after_launch(const char* what) {
    check_cuda(cudaGetLastError(), what);
#ifndef NDEBUG
    check_cuda(cudaStreamSynchronize(stream_), what);
#endif
  }

  int device_ = 0;
  bool concurrent_managed_ = false;
  cudaStream_t stream_ = nullptr;
  Buffer<unsigned char> temp_;  // CUB's scratch, grown as needed
  TransferStats transfers_;
};

}  // namespace spikegraph::gpu
