#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/resource.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SG_CPU_RELAX() _mm_pause()
#else
#define SG_CPU_RELAX() std::this_thread::yield()
#endif

namespace spikegraph::cpu {

namespace {

// How long an idle worker watches for the next fork before it sleeps, in iterations of
// a pause instruction (at most roughly 1 ms): spinning spans the short gaps between the
// phases of a step, where waking a sleeping thread would cost tens of microseconds. But
// a spinning worker also takes a core, and when the cores are shared with other
// processes that core is taken from them or from this process's calling thread. So
// each worker adapts its own spin: after each fork it asks the kernel whether a thread
// of this process was preempted (involuntary context switches); if so the cores are
// oversubscribed and it spins four times less, else a little longer (64 iterations
// more per fork, up to the limit), so that one quiet moment on a busy machine does not
// bring the full spin back at once. Measured with `python -m benchmarks contention`.
constexpr int kMaxSpin = 32768;

// Involuntary context switches of this process's threads so far (0 where unknown).
long preemptions() {
#if defined(RUSAGE_SELF)
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) == 0) return u.ru_nivcsw;
#endif
  return 0;
}

// The claim word: generation (24 bits) | number of parts (20 bits) | next part (20 bits).
// A part is claimed by a compare-and-swap on the whole word, so a thread can only
// claim parts of the fork it saw announced, and only while that fork has parts left.
constexpr int kPartBits = 20;
constexpr std::uint64_t kPartMask = (std::uint64_t{1} << kPartBits) - 1;
constexpr int kMaxParts = static_cast<int>(kPartMask);
constexpr std::uint64_t make_word(std::uint64_t gen, std::uint64_t parts, std::uint64_t next) {
  return (gen << (2 * kPartBits)) | (parts << kPartBits) | next;
}
constexpr std::uint64_t word_gen(std::uint64_t w) { return w >> (2 * kPartBits); }
constexpr std::uint64_t word_parts(std::uint64_t w) { return (w >> kPartBits) & kPartMask; }
constexpr std::uint64_t word_next(std::uint64_t w) { return w & kPartMask; }

class Pool {
 public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }

  void run(int parts, const std::function<void(int)>& fn) {
    bool expected = false;
    if (parts <= 1 || !busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      // One part, or the pool is in use (another simulation's thread, or a part that
      // forks again): run every part here, in order.
      for (int p = 0; p < parts; ++p) fn(p);
      return;
    }
    struct Release {
      std::atomic<bool>& busy;
      ~Release() { busy.store(false, std::memory_order_release); }
    } release{busy_};
    if (parts > kMaxParts) parts = kMaxParts;
    ensure_workers(parts - 1);
    fn_ = &fn;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    const std::uint64_t gen = (word_gen(claim_.load(std::memory_order_relaxed)) + 1) & ((1u << 24) - 1);
    claim_.store(make_word(gen, static_cast<std::uint64_t>(parts), 0), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    work(gen);
    // Parts claimed by workers may still be running: wait for them, giving the core
    // away while waiting (a worker preempted in the middle of a part needs it).
    for (int spin = 0; done_.load(std::memory_order_acquire) != parts; ++spin) {
      if (spin < 64) {
        SG_CPU_RELAX();
      } else {
        std::this_thread::yield();
      }
    }
    if (error_) std::rethrow_exception(error_);
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      claim_.store(make_word(word_gen(claim_.load()) + 1, 0, 0));
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  Pool() = default;

  void ensure_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) workers_.emplace_back([this] { worker_loop(); });
  }

  // Claims and runs parts of fork `gen` until none is left.
  void work(std::uint64_t gen) {
    std::uint64_t w = claim_.load(std::memory_order_acquire);
    while (word_gen(w) == gen && word_next(w) < word_parts(w)) {
      if (!claim_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      const int part = static_cast<int>(word_next(w));
      try {
        (*fn_)(part);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_acq_rel);
      w = claim_.load(std::memory_order_acquire);
    }
  }

  void worker_loop() {
    std::uint64_t seen = word_gen(claim_.load(std::memory_order_acquire));
    int spin_budget = kMaxSpin;
    long preempted = preemptions();
    for (;;) {
      std::uint64_t gen = word_gen(claim_.load(std::memory_order_acquire));
      for (int spin = 0; gen == seen && spin < spin_budget; ++spin) {
        SG_CPU_RELAX();
        gen = word_gen(claim_.load(std::memory_order_acquire));
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        wake_.wait(lock, [&] {
          gen = word_gen(claim_.load(std::memory_order_seq_cst));
          return gen != seen || stop_;
        });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stop_) return;
      seen = gen;
      work(gen);
      // After the work, not before it: the check costs a system call.
      const long now = preemptions();
      spin_budget = now != preempted ? spin_budget / 4 : std::min(kMaxSpin, spin_budget + 64);
      preempted = now;
    }
  }

  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> claim_{0};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  const std::function<void(int)>* fn_ = nullptr;
  std::exception_ptr error_;
  std::mutex error_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

}  // namespace

void run_parts(int parts, const std::function<void(int)>& fn) { Pool::instance().run(parts, fn); }

}  // namespace spikegraph::cpu
