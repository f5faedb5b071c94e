// The checkpoint container (see spikegraph/io/snapshot.hpp and docs/file-formats.md).
//
// Layout (little-endian):
//   0   8 bytes magic "SGSNAP\r\n" (the CR LF catches text-mode mangling)
//   8   u32 format version
//   12  u32 number of sections S
//   16  u64 total file size in bytes
//   24  u64 checksum of bytes [0, 24) followed by the section table
//   32  section table, S entries: u16 name length, name bytes, u8 dtype,
//       u64 element count, u64 data offset, u64 data checksum
//   then the data of each section at its offset (8-byte aligned), zero padding between.
#include "spikegraph/io/snapshot.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace spikegraph::io {

namespace {

constexpr unsigned char kMagic[8] = {'S', 'G', 'S', 'N', 'A', 'P', '\r', '\n'};
constexpr std::size_t kHeaderBytes = 32;
constexpr std::size_t kMaxName = 255;

// A 64-bit checksum over 8-byte words (fast enough for hundreds of MB a second;
// it detects corruption, it is not a cryptographic hash).
std::uint64_t checksum(const unsigned char* p, std::size_t n) {
  constexpr std::uint64_t k1 = 0x9E3779B185EBCA87ull, k2 = 0xC2B2AE3D27D4EB4Full;
  std::uint64_t h = 0x27D4EB2F165667C5ull ^ (n * k1);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h ^= w * k2;
    h = (h << 31 | h >> 33) * k1;
  }
  std::uint64_t tail = 0;
  for (std::size_t k = 0; i + k < n; ++k) tail |= static_cast<std::uint64_t>(p[i + k]) << (8 * k);
  h ^= tail * k2;
  h ^= h >> 33;
  h *= k2;
  h ^= h >> 29;
  return h;
}

template <class T>
void put(std::vector<unsigned char>& out, T v) {
  const auto* p = reinterpret_cast<const unsigned char*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

template <class T>
T get(const std::vector<unsigned char>& in, std::size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

bool valid_dtype(std::uint8_t d) { return d <= static_cast<std::uint8_t>(DType::u64); }

std::size_t align8(std::size_t n) { return (n + 7) & ~static_cast<std::size_t>(7); }

}  // namespace

void SnapshotWriter::add(const std::string& name, DType dtype, const void* data, std::size_t count) {
  if (name.empty() || name.size() > kMaxName) {
    throw InputError("checkpoint: section name must have 1 to 255 bytes, got '" + name + "'");
  }
  if (entries_.count(name)) throw InputError("checkpoint: duplicate section '" + name + "'");
  Entry e{dtype, count, {}};
  const std::size_t nbytes = count * dtype_size(dtype);
  const auto* p = static_cast<const unsigned char*>(data);
  if (nbytes) e.data.assign(p, p + nbytes);
  entries_.emplace(name, std::move(e));
  order_.push_back(name);
}

std::vector<unsigned char> SnapshotWriter::bytes() const {
  std::size_t table = 0;
  for (const auto& name : order_) table += 2 + name.size() + 1 + 8 + 8 + 8;
  std::size_t offset = align8(kHeaderBytes + table);
  std::vector<std::uint64_t> offsets;
  for (const auto& name : order_) {
    offsets.push_back(offset);
    offset = align8(offset + entries_.at(name).data.size());
  }
  std::vector<unsigned char> out;
  out.reserve(offset);
  out.insert(out.end(), kMagic, kMagic + 8);
  put(out, kSnapshotVersion);
  put(out, static_cast<std::uint32_t>(order_.size()));
  put(out, static_cast<std::uint64_t>(offset));
  put(out, std::uint64_t{0});  // header checksum, filled in below
  for (std::size_t k = 0; k < order_.size(); ++k) {
    const Entry& e = entries_.at(order_[k]);
    put(out, static_cast<std::uint16_t>(order_[k].size()));
    out.insert(out.end(), order_[k].begin(), order_[k].end());
    put(out, static_cast<std::uint8_t>(e.dtype));
    put(out, e.count);
    put(out, offsets[k]);
    put(out, checksum(e.data.data(), e.data.size()));
  }
  std::vector<unsigned char> covered(out.begin(), out.begin() + 24);
  covered.insert(covered.end(), out.begin() + kHeaderBytes, out.end());
  const std::uint64_t h = checksum(covered.data(), covered.size());
  std::memcpy(out.data() + 24, &h, 8);
  for (std::size_t k = 0; k < order_.size(); ++k) {
    out.resize(offsets[k], 0);
    const Entry& e = entries_.at(order_[k]);
    out.insert(out.end(), e.data.begin(), e.data.end());
  }
  out.resize(offset, 0);
  return out;
}

void SnapshotWriter::write(const std::string& path) const {
  const std::vector<unsigned char> b = bytes();
  write_file_atomically(path, b.data(), b.size(), "save checkpoint '" + path + "'");
}

void write_file_atomically(const std::string& path, const unsigned char* bytes, std::size_t size,
                           const std::string& op) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw IoError(op + ": cannot open '" + tmp + "': " + std::strerror(errno));
  bool ok = std::fwrite(bytes, 1, size, f) == size && std::fflush(f) == 0;
#if defined(__unix__) || defined(__APPLE__)
  ok = ok && ::fsync(::fileno(f)) == 0;
#endif
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw IoError(op + ": writing '" + tmp + "' failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw IoError(op + ": cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(err));
  }
}

SnapshotReader SnapshotReader::open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("load checkpoint '" + path + "': cannot open: " + std::strerror(errno));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("load checkpoint '" + path + "': read error");
  return from_bytes(std::move(bytes), path);
}

SnapshotReader SnapshotReader::from_bytes(std::vector<unsigned char> bytes, const std::string& source) {
  const std::string op = "load checkpoint '" + source + "'";
  SnapshotReader r;
  r.source_ = source;
  const std::size_t size = bytes.size();
  if (size < kHeaderBytes) {
    throw IoError(op + ": file is " + std::to_string(size) + " bytes, too short for a checkpoint header");
  }
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) throw IoError(op + ": not a spikegraph checkpoint (bad magic)");
  r.version_ = get<std::uint32_t>(bytes, 8);
  if (r.version_ != kSnapshotVersion) {
    throw IoError(op + ": format version " + std::to_string(r.version_) + " is not supported (this build reads " +
                  std::to_string(kSnapshotVersion) + ")");
  }
  const auto count = get<std::uint32_t>(bytes, 12);
  const auto declared = get<std::uint64_t>(bytes, 16);
  if (declared != size) {
    throw IoError(op + ": the header says " + std::to_string(declared) + " bytes but the file has " +
                  std::to_string(size) + (size < declared ? " (truncated)" : " (trailing data)"));
  }
  std::size_t at = kHeaderBytes;
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::string where = op + ": section table entry " + std::to_string(k);
    if (at + 2 > size) throw IoError(where + " runs past the end of the file (corrupt)");
    const auto len = get<std::uint16_t>(bytes, at);
    if (len == 0 || len > kMaxName || at + 2 + len + 25 > size) throw IoError(where + " is malformed (corrupt)");
    SnapshotSection s;
    s.name.assign(reinterpret_cast<const char*>(bytes.data() + at + 2), len);
    at += 2 + len;
    const auto dtype = get<std::uint8_t>(bytes, at);
    s.count = get<std::uint64_t>(bytes, at + 1);
    s.offset = get<std::uint64_t>(bytes, at + 9);
    at += 25;
    if (!valid_dtype(dtype)) throw IoError(where + " ('" + s.name + "') has an unknown dtype (corrupt)");
    s.dtype = static_cast<DType>(dtype);
    if (r.index_.count(s.name)) throw IoError(op + ": section '" + s.name + "' appears twice (corrupt)");
    r.index_.emplace(s.name, r.sections_.size());
    r.sections_.push_back(std::move(s));
  }
  // The table checksum covers the header (without itself) and the table.
  std::vector<unsigned char> covered(bytes.begin(), bytes.begin() + 24);
  covered.insert(covered.end(), bytes.begin() + kHeaderBytes, bytes.begin() + static_cast<std::ptrdiff_t>(at));
  if (checksum(covered.data(), covered.size()) != get<std::uint64_t>(bytes, 24)) {
    throw IoError(op + ": header or section table checksum mismatch (corrupt file)");
  }
  // Sections: bounds, then data checksums (read back from the table entries).
  std::size_t entry = kHeaderBytes;
  for (const SnapshotSection& s : r.sections_) {
    entry += 2 + s.name.size() + 1 + 16;
    const std::uint64_t sum = get<std::uint64_t>(bytes, entry);
    entry += 8;
    const std::uint64_t elem = dtype_size(s.dtype);
    if (s.count > size / elem || s.offset < at || s.offset > size || s.count * elem > size - s.offset) {
      throw IoError(op + ": section '" + s.name + "' (" + std::to_string(s.count) + " " + dtype_name(s.dtype) +
                    " elements at byte " + std::to_string(s.offset) + ") lies outside the file (corrupt)");
    }
    if (checksum(bytes.data() + s.offset, static_cast<std::size_t>(s.count * elem)) != sum) {
      throw IoError(op + ": section '" + s.name + "' checksum mismatch (corrupt file)");
    }
  }
  // Bytes outside the table and the sections are zero padding: check them too, so
  // that no byte of the file can change unnoticed.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> used{{0, at}};
  for (const SnapshotSection& s : r.sections_) used.emplace_back(s.offset, s.offset + s.count * dtype_size(s.dtype));
  std::sort(used.begin(), used.end());
  std::uint64_t covered_to = 0;
  for (const auto& [b, e] : used) {
    for (std::uint64_t i = covered_to; i < b; ++i) {
      if (bytes[i] != 0) throw IoError(op + ": nonzero padding at byte " + std::to_string(i) + " (corrupt file)");
    }
    covered_to = std::max(covered_to, e);
  }
  for (std::uint64_t i = covered_to; i < size; ++i) {
    if (bytes[i] != 0) throw IoError(op + ": nonzero padding at byte " + std::to_string(i) + " (corrupt file)");
  }
  r.bytes_ = std::move(bytes);
  return r;
}

const SnapshotSection& SnapshotReader::require(const std::string& name, DType dtype,
                                               std::size_t expected_count) const {
  const std::string op = "load checkpoint '" + source_ + "'";
  const auto it = index_.find(name);
  if (it == index_.end()) throw IoError(op + ": section '" + name + "' is missing");
  const SnapshotSection& s = sections_[it->second];
  if (s.dtype != dtype) {
    throw IoError(op + ": section '" + name + "' holds " + dtype_name(s.dtype) + ", expected " + dtype_name(dtype));
  }
  if (expected_count != kAnyCount && s.count != expected_count) {
    throw IoError(op + ": section '" + name + "' has " + std::to_string(s.count) + " " + dtype_name(s.dtype) +
                  " elements, expected " + std::to_string(expected_count));
  }
  return s;
}

void SnapshotReader::copy_out(const SnapshotSection& s, void* dst) const {
  const std::size_t n = static_cast<std::size_t>(s.count) * dtype_size(s.dtype);
  if (n) std::memcpy(dst, bytes_.data() + s.offset, n);
}

std::string SnapshotReader::text(const std::string& name) const {
  const SnapshotSection& s = require(name, DType::u8, kAnyCount);
  return std::string(reinterpret_cast<const char*>(bytes_.data() + s.offset), static_cast<std::size_t>(s.count));
}

void SnapshotReader::read_into(const std::string& name, DType dtype, void* dst, std::size_t count) const {
  copy_out(require(name, dtype, count), dst);
}

}  // namespace spikegraph::io
