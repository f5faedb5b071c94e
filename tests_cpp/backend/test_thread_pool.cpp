// The CPU backend's worker pool (engine/src/backend/cpu/thread_pool.hpp): every part
// runs exactly once whoever claims it, errors reach the caller, forks from several
// threads and from inside a part complete, and a stalled part holds up only itself.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../../engine/src/backend/cpu/parallel.hpp"
#include "../../engine/src/backend/cpu/thread_pool.hpp"

using spikegraph::cpu::parallel_parts;
using spikegraph::cpu::run_parts;

TEST_CASE("thread pool: every part runs exactly once, fork after fork", "[backend][threads]") {
  for (int parts = 1; parts <= 17; ++parts) {
    for (int round = 0; round < 200; ++round) {
      std::vector<std::atomic<int>> ran(static_cast<std::size_t>(parts));
      run_parts(parts, [&](int p) { ran[static_cast<std::size_t>(p)].fetch_add(1); });
      for (auto& r : ran) REQUIRE(r.load() == 1);
    }
  }
}

TEST_CASE("thread pool: parallel_parts covers 0..n in fixed contiguous parts", "[backend][threads]") {
  std::vector<int> owner(1003, -1);
  parallel_parts(4, owner.size(), [&](int p, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) owner[i] = p;
  });
  for (std::size_t i = 1; i < owner.size(); ++i) REQUIRE(owner[i] >= owner[i - 1]);
  CHECK(owner.front() == 0);
  CHECK(owner.back() == 3);
  CHECK(std::count(owner.begin(), owner.end(), 0) == 251);  // 1003 = 251 + 3 * 250 + ... as part_range says
}

TEST_CASE("thread pool: the first error reaches the caller after every part ran", "[backend][threads]") {
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH(run_parts(8,
                              [&](int p) {
                                ran.fetch_add(1);
                                if (p == 3) throw std::runtime_error("part 3 failed");
                              }),
                    "part 3 failed");
  CHECK(ran.load() == 8);
  // The pool is usable afterwards.
  std::atomic<int> after{0};
  run_parts(4, [&](int) { after.fetch_add(1); });
  CHECK(after.load() == 4);
}

TEST_CASE("thread pool: forks inside a part and from several threads at once complete", "[backend][threads]") {
  std::atomic<int> inner{0};
  run_parts(4, [&](int) { run_parts(3, [&](int) { inner.fetch_add(1); }); });
  CHECK(inner.load() == 12);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 300; ++round) run_parts(5, [&](int p) { total.fetch_add(p + 1); });
    });
  }
  for (auto& t : callers) t.join();
  CHECK(total.load() == 4L * 300 * 15);
}

TEST_CASE("thread pool: a stalled part does not stop the others", "[backend][threads]") {
  // Part 0 waits until every other part has run: whichever threads run them, the
  // fork completes (the caller claims what no worker has claimed).
  std::atomic<int> others{0};
  run_parts(6, [&](int p) {
    if (p == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (others.load() < 5 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    } else {
      others.fetch_add(1);
    }
  });
  CHECK(others.load() == 5);
}
