// io/spike_file.hpp: round trip and every documented failure.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/io/spike_file.hpp"
#include "support/test_util.hpp"

using spikegraph::IoError;
using spikegraph::SpikeRecord;
using spikegraph::io::read_spike_file;
using spikegraph::io::write_spike_file;
using Catch::Matchers::Contains;

namespace {

std::vector<unsigned char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void dump(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::uint64_t fnv1a(const unsigned char* p, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

// Rewrites the trailing checksum so that only the intended change remains.
void fix_checksum(std::vector<unsigned char>& b) {
  const std::uint64_t h = fnv1a(b.data(), b.size() - 8);
  std::memcpy(b.data() + b.size() - 8, &h, 8);
}

SpikeRecord sample() {
  SpikeRecord r;
  r.steps = {0, 0, 3, 7, 7, 7, 1000000000000ll};
  r.nodes = {1, 4, 0, 2, 3, 9, 9};
  return r;
}

std::string read_error(const std::string& path) {
  try {
    read_spike_file(path);
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("spike file round trip", "[io][spike_file]") {
  sgtest::TempDir dir;
  const std::string path = dir.file("s.bin");
  const SpikeRecord r = sample();
  write_spike_file(path, r, 10, 0.1);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  const auto f = read_spike_file(path);
  CHECK(f.num_nodes == 10);
  CHECK(f.dt_ms == 0.1);
  CHECK(f.spikes.steps == r.steps);
  CHECK(f.spikes.nodes == r.nodes);
  // The layout of the header comment: 32-byte header, 12 bytes per spike, 8-byte checksum.
  const auto b = slurp(path);
  CHECK(b.size() == 32 + 12 * r.size() + 8);
  CHECK(std::memcmp(b.data(), "SGSPIKE1", 8) == 0);
  std::uint32_t version, nodes;
  double dt;
  std::uint64_t count, first_step;
  std::memcpy(&version, b.data() + 8, 4);
  std::memcpy(&nodes, b.data() + 12, 4);
  std::memcpy(&dt, b.data() + 16, 8);
  std::memcpy(&count, b.data() + 24, 8);
  std::memcpy(&first_step, b.data() + 32 + 8 * 6, 8);
  CHECK(version == 1);
  CHECK(nodes == 10);
  CHECK(dt == 0.1);
  CHECK(count == r.size());
  CHECK(first_step == 1000000000000ull);
  std::uint32_t node0;
  std::memcpy(&node0, b.data() + 32 + 8 * 7, 4);
  CHECK(node0 == 1);
  // Overwriting an existing file replaces it.
  SpikeRecord small;
  small.steps = {5};
  small.nodes = {2};
  write_spike_file(path, small, 3, 1.0);
  const auto f2 = read_spike_file(path);
  CHECK(f2.num_nodes == 3);
  CHECK(f2.spikes.steps == small.steps);
  CHECK(f2.spikes.nodes == small.nodes);
}

TEST_CASE("spike file: empty record", "[io][spike_file]") {
  sgtest::TempDir dir;
  const std::string path = dir.file("empty.bin");
  write_spike_file(path, SpikeRecord{}, 0, 1.0);
  CHECK(std::filesystem::file_size(path) == 40);
  const auto f = read_spike_file(path);
  CHECK(f.num_nodes == 0);
  CHECK(f.dt_ms == 1.0);
  CHECK(f.spikes.size() == 0);
  CHECK(f.spikes.steps.empty());
}

TEST_CASE("spike file: every corruption is an IoError naming the problem", "[io][spike_file]") {
  sgtest::TempDir dir;
  const std::string good = dir.file("good.bin");
  write_spike_file(good, sample(), 10, 0.1);
  const auto bytes = slurp(good);
  const std::string bad = dir.file("bad.bin");

  SECTION("missing file") {
    const std::string msg = read_error(dir.file("nope.bin"));
    CHECK_THAT(msg, Contains("nope.bin"));
    CHECK_THAT(msg, Contains("cannot open"));
  }
  SECTION("truncated at several offsets") {
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{20},
                            std::size_t{32}, std::size_t{39}, std::size_t{40}, std::size_t{60},
                            bytes.size() - 9, bytes.size() - 8, bytes.size() - 1}) {
      INFO("length " << len);
      dump(bad, std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len)));
      const std::string msg = read_error(bad);
      CHECK_THAT(msg, Contains("truncated"));
      CHECK_THAT(msg, Contains("bad.bin"));
    }
  }
  SECTION("trailing garbage") {
    auto b = bytes;
    b.push_back(0);
    dump(bad, b);
    CHECK_THAT(read_error(bad), Contains("does not match"));
  }
  SECTION("flipped byte in the data -> checksum") {
    for (std::size_t at : {std::size_t{16}, std::size_t{33}, std::size_t{32 + 8 * 7 + 2}, bytes.size() - 3}) {
      INFO("byte " << at);
      auto b = bytes;
      b[at] ^= 0x10;
      dump(bad, b);
      CHECK_THAT(read_error(bad), Contains("checksum"));
    }
  }
  SECTION("flipped byte in the spike count -> size mismatch") {
    auto b = bytes;
    b[24] ^= 0x01;
    dump(bad, b);
    CHECK_THAT(read_error(bad), Contains("does not match"));
  }
  SECTION("bad magic") {
    auto b = bytes;
    b[0] = 'X';
    fix_checksum(b);
    dump(bad, b);
    CHECK_THAT(read_error(bad), Contains("bad magic"));
  }
  SECTION("wrong version") {
    auto b = bytes;
    const std::uint32_t v2 = 2;
    std::memcpy(b.data() + 8, &v2, 4);
    fix_checksum(b);
    dump(bad, b);
    const std::string msg = read_error(bad);
    CHECK_THAT(msg, Contains("version 2"));
  }
  SECTION("node out of range") {
    auto b = bytes;
    const std::uint32_t nodes = 9;  // the record contains node 9
    std::memcpy(b.data() + 12, &nodes, 4);
    fix_checksum(b);
    dump(bad, b);
    const std::string msg = read_error(bad);
    CHECK_THAT(msg, Contains("out of range"));
  }
  SECTION("a text file") {
    std::ofstream(bad) << "hello, this is not a spike file at all, but long enough";
    CHECK_THAT(read_error(bad), Contains("bad magic"));
  }
}

TEST_CASE("spike file: write failures", "[io][spike_file]") {
  sgtest::TempDir dir;
  const std::string path = dir.file("no_such_dir/s.bin");
  CHECK_THROWS_AS(write_spike_file(path, sample(), 10, 0.1), IoError);
  CHECK_THROWS_WITH(write_spike_file(path, sample(), 10, 0.1), Contains("no_such_dir"));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK_FALSE(std::filesystem::exists(path));
  // Writing onto a directory path fails at the rename and cleans up the temp file.
  const std::string onto_dir = dir.file("a_dir");
  std::filesystem::create_directories(onto_dir + "/inner");
  CHECK_THROWS_AS(write_spike_file(onto_dir, sample(), 10, 0.1), IoError);
  CHECK_FALSE(std::filesystem::exists(onto_dir + ".tmp"));
  // Nothing else was left in the directory.
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}
