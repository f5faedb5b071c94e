// spikegraph/io/snapshot.hpp
// The checkpoint container: a versioned, checksummed file of named, typed arrays
// ("sections"), written atomically. Simulation::save/load (sim/simulation.hpp)
// decide what goes in; backends and services add their own sections through the
// writer and read them back through the reader. docs/file-formats.md describes
// the byte layout. Little-endian hosts only (x86-64, AArch64).
//
// Ownership: a SnapshotWriter copies what it is given (the caller's arrays may
// change or go away after add()); a SnapshotReader owns the whole file in memory
// and hands out copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/state/arrays.hpp"

namespace spikegraph::io {

/// Format version this build writes and reads.
constexpr std::uint32_t kSnapshotVersion = 1;

/// One section's description (what SnapshotReader::sections() lists).
struct SnapshotSection {
  std::string name;
  DType dtype = DType::u8;
  std::uint64_t count = 0;   ///< elements
  std::uint64_t offset = 0;  ///< byte offset of the data in the file
};

class SnapshotWriter {
 public:
  /// Add `count` elements of `dtype` at `data` (copied) under a unique name
  /// (1..255 bytes). Throws InputError for a duplicate or bad name.
  void add(const std::string& name, DType dtype, const void* data, std::size_t count);
  template <class T>
  void add(const std::string& name, const std::vector<T>& values) {
    add(name, dtype_of<T>(), values.data(), values.size());
  }
  template <class T>
  void add_scalar(const std::string& name, T value) {
    add(name, dtype_of<T>(), &value, 1);
  }
  void add_text(const std::string& name, const std::string& text) {
    add(name, DType::u8, text.data(), text.size());
  }
  /// Write every section to `path` atomically: to "<path>.tmp", flushed and
  /// fsync'ed, then renamed over `path`, so `path` holds either the old file or the
  /// complete new one. Throws IoError (nothing at `path` changes then).
  void write(const std::string& path) const;
  /// The file's bytes (what write() stores).
  std::vector<unsigned char> bytes() const;

 private:
  struct Entry {
    DType dtype;
    std::uint64_t count;
    std::vector<unsigned char> data;
  };
  std::vector<std::string> order_;
  std::map<std::string, Entry> entries_;
};

class SnapshotReader {
 public:
  /// Read and check a whole file: magic, version, declared size against the real
  /// size (truncation), the section table's checksum, every section's bounds, size
  /// and checksum. Throws IoError naming the file and the problem.
  static SnapshotReader open(const std::string& path);
  /// The same checks on bytes in memory; `source` names them in errors.
  static SnapshotReader from_bytes(std::vector<unsigned char> bytes, const std::string& source);

  const std::string& source() const { return source_; }
  std::uint32_t version() const { return version_; }
  const std::vector<SnapshotSection>& sections() const { return sections_; }
  bool has(const std::string& name) const { return index_.count(name) != 0; }

  /// A copy of section `name`, which must exist with the dtype of T and, when
  /// `expected_count` is given (not kAnyCount), that many elements; else IoError
  /// ("load checkpoint 'f': section 'backend/v' has 10 float32 elements, expected 5000").
  static constexpr std::size_t kAnyCount = static_cast<std::size_t>(-1);
  template <class T>
  std::vector<T> array(const std::string& name, std::size_t expected_count = kAnyCount) const {
    const SnapshotSection& s = require(name, dtype_of<T>(), expected_count);
    std::vector<T> out(static_cast<std::size_t>(s.count));
    copy_out(s, out.data());
    return out;
  }
  template <class T>
  T scalar(const std::string& name) const {
    return array<T>(name, 1)[0];
  }
  std::string text(const std::string& name) const;
  /// Copy section `name` into `dst` (an array of `count` elements of `dtype`),
  /// after the same checks as array().
  void read_into(const std::string& name, DType dtype, void* dst, std::size_t count) const;

 private:
  const SnapshotSection& require(const std::string& name, DType dtype, std::size_t expected_count) const;
  void copy_out(const SnapshotSection& s, void* dst) const;

  std::string source_;
  std::uint32_t version_ = 0;
  std::vector<unsigned char> bytes_;
  std::vector<SnapshotSection> sections_;
  std::map<std::string, std::size_t> index_;
};

/// Write `bytes` to `path` atomically (temporary file, flush, fsync, rename).
/// `op` starts error messages. Throws IoError.
void write_file_atomically(const std::string& path, const unsigned char* bytes, std::size_t size,
                           const std::string& op);

}  // namespace spikegraph::io
