// The C++ examples of docs/extending.md compile and do what the guide says: a backend
// that wraps the CPU backend, handed to a Simulation by a BackendFactory, and a
// learning rule that replaces the engine's (the file is generated from the guide).
#include <catch2/catch.hpp>

#include "extending_examples.cpp"

TEST_CASE("docs/extending.md: the C++ examples compile and run", "[docs]") {
  const std::vector<std::int64_t> r = example::run_extended(300);
  CHECK(r[0] == 300);         // every step passed through the counting backend
  CHECK(r[1] == r[3]);        // it saw every recorded spike
  CHECK(r[1] > 300);          // an active network
  CHECK(r[2] > 10);           // the Hebbian rule ran at steps with spikes
  CHECK(r[2] <= 300);
}
