// Private (backends): a typed, move-only array whose memory comes from an allocation
// policy. The CPU backend uses it with HostAlloc (below) for its node state; the CUDA
// executor with cudaMalloc (device memory) and cudaMallocManaged (state the host reads
// and writes through Backend::state views); the CUDA backend's host executor of the
// tests with HostAlloc. Plain C++: compiled by nvcc and by the host compiler alike.
//
// A policy provides
//   static void* allocate(std::size_t bytes, const char* what);  // throws on failure
//   static void release(void* p) noexcept;
// and is never asked for 0 bytes: an empty Buffer holds no memory (data() is null).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string>
#include <utility>

#include "spikegraph/core/error.hpp"

namespace spikegraph {

/// Host memory, 64-byte aligned (a cache line; enough for any element type).
struct HostAlloc {
  static void* allocate(std::size_t bytes, const char* what) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw BackendError(std::string("out of memory allocating '") + what + "'");
    return p;
  }
  static void release(void* p) noexcept { std::free(p); }
};

template <class T, class Alloc>
class Buffer {
 public:
  Buffer() = default;
  /// `count` elements, uninitialised; `what` names the array in allocation errors.
  Buffer(std::size_t count, const char* what) { resize(count, what); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~Buffer() { reset(); }

  /// Reallocates to `count` elements when the size differs; the contents are lost.
  void resize(std::size_t count, const char* what) {
    if (count == size_) return;
    reset();
    if (count == 0) return;
    ptr_ = static_cast<T*>(Alloc::allocate(count * sizeof(T), what));
    size_ = count;
  }
  /// Grows to at least `count` elements (contents lost when it grows).
  void reserve(std::size_t count, const char* what) {
    if (count > size_) resize(count, what);
  }
  void reset() noexcept {
    if (ptr_) Alloc::release(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }
  void swap(Buffer& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }
  bool empty() const { return size_ == 0; }

 private:
  T* ptr_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace spikegraph
