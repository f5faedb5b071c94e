#include "spikegraph/io/spike_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/io/snapshot.hpp"

namespace spikegraph::io {

namespace {

constexpr char kMagic[8] = {'S', 'G', 'S', 'P', 'I', 'K', 'E', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeader = 32;

std::uint64_t fnv1a(const unsigned char* p, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

template <class T>
void put(std::vector<unsigned char>& out, const T& v) {
  const auto* p = reinterpret_cast<const unsigned char*>(&v);
  out.insert(out.end(), p, p + sizeof(T));  // little-endian hosts only (x86, ARM)
}

template <class T>
T get(const std::vector<unsigned char>& in, std::size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

}  // namespace

void write_spike_file(const std::string& path, const SpikeRecord& spikes, std::uint32_t num_nodes,
                      double dt_ms) {
  const std::string op = "write spike file '" + path + "'";
  if (spikes.steps.size() != spikes.nodes.size()) throw IoError(op + ": steps and nodes differ in length");
  for (std::size_t i = 0; i < spikes.size(); ++i) {
    if (spikes.nodes[i] >= num_nodes) {
      throw IoError(op + ": spike " + std::to_string(i) + " names node " + std::to_string(spikes.nodes[i]) +
                    " of a network with " + std::to_string(num_nodes) + " nodes");
    }
    if (i > 0 && spikes.steps[i] < spikes.steps[i - 1]) throw IoError(op + ": steps are not ascending at spike " + std::to_string(i));
  }
  std::vector<unsigned char> buf;
  buf.reserve(kHeader + spikes.size() * 12 + 8);
  buf.insert(buf.end(), kMagic, kMagic + 8);
  put(buf, kVersion);
  put(buf, num_nodes);
  put(buf, dt_ms);
  put(buf, static_cast<std::uint64_t>(spikes.size()));
  for (std::int64_t s : spikes.steps) put(buf, s);
  for (index_t n : spikes.nodes) put(buf, n);
  put(buf, fnv1a(buf.data(), buf.size()));
  write_file_atomically(path, buf.data(), buf.size(), op);
}

SpikeFile read_spike_file(const std::string& path) {
  const std::string op = "read spike file '" + path + "'";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(op + ": cannot open: " + std::strerror(errno));
  std::vector<unsigned char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (buf.size() < kHeader + 8) throw IoError(op + ": truncated (" + std::to_string(buf.size()) + " bytes)");
  if (std::memcmp(buf.data(), kMagic, 8) != 0) throw IoError(op + ": not a spikegraph spike file (bad magic)");
  const auto version = get<std::uint32_t>(buf, 8);
  if (version != kVersion) {
    throw IoError(op + ": unsupported format version " + std::to_string(version) + " (this build reads 1)");
  }
  SpikeFile f;
  f.num_nodes = get<std::uint32_t>(buf, 12);
  f.dt_ms = get<double>(buf, 16);
  const auto count = get<std::uint64_t>(buf, 24);
  if (count > (buf.size() - kHeader - 8) / 12 || kHeader + count * 12 + 8 != buf.size()) {
    throw IoError(op + ": size " + std::to_string(buf.size()) + " bytes does not match " +
                  std::to_string(count) + " spikes (truncated or corrupt)");
  }
  const std::size_t body = buf.size() - 8;
  if (fnv1a(buf.data(), body) != get<std::uint64_t>(buf, body)) throw IoError(op + ": checksum mismatch (corrupt file)");
  f.spikes.steps.resize(count);
  f.spikes.nodes.resize(count);
  if (count) {
    std::memcpy(f.spikes.steps.data(), buf.data() + kHeader, count * 8);
    std::memcpy(f.spikes.nodes.data(), buf.data() + kHeader + count * 8, count * 4);
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    if (f.spikes.nodes[i] >= f.num_nodes) throw IoError(op + ": spike " + std::to_string(i) + " names node out of range");
    if (i > 0 && f.spikes.steps[i] < f.spikes.steps[i - 1]) {
      throw IoError(op + ": steps are not ascending at spike " + std::to_string(i) + " (corrupt file)");
    }
  }
  return f;
}

}  // namespace spikegraph::io
