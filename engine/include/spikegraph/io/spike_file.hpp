// spikegraph/io/spike_file.hpp
// The spike file format written by spikegraph-sim and readable from Python
// (spikegraph.io.read_spike_file) and C++. Little-endian binary:
//   offset 0   8 bytes  magic "SGSPIKE1"
//   offset 8   u32      format version (1)
//   offset 12  u32      number of nodes in the network
//   offset 16  f64      dt in ms
//   offset 24  u64      number of spikes S
//   offset 32  S x i64  steps (ascending)
//   then       S x u32  node ids (ascending within a step)
//   then       u64      FNV-1a 64-bit checksum of every byte before it
// Files are written to "<path>.tmp" and renamed into place, so a reader never
// sees a half-written file.
#pragma once

#include <cstdint>
#include <string>

#include "spikegraph/sim/records.hpp"

namespace spikegraph::io {

struct SpikeFile {
  std::uint32_t num_nodes = 0;
  double dt_ms = 0.0;
  SpikeRecord spikes;
};

/// Throws IoError when the file cannot be written.
void write_spike_file(const std::string& path, const SpikeRecord& spikes, std::uint32_t num_nodes,
                      double dt_ms);

/// Throws IoError naming the problem for a missing, truncated, corrupt or
/// wrong-version file.
SpikeFile read_spike_file(const std::string& path);

}  // namespace spikegraph::io
