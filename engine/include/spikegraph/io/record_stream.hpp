// spikegraph/io/record_stream.hpp
// Records streamed to files (record.stream): a directory of chunk files, one per
// service and chunk of record.stream_every of model time, named
// "<kind>-<first step, 12 digits>.sgrec" ("spikes-000000001000.sgrec"). Each chunk is a
// snapshot container (io/snapshot.hpp: named typed arrays, checksummed) written to a
// temporary name and renamed into place, so a run killed at any moment leaves every
// completed chunk readable and never a partial one under a chunk name.
//
// Sections of every chunk: "chunk/kind" (text), "chunk/first_step" and
// "chunk/end_step" (i64: the chunk covers steps [first, end)), "chunk/dt_ms" (f64),
// "chunk/num_nodes" (u64); then the kind's own sections (docs/file-formats.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/io/snapshot.hpp"

namespace spikegraph::io {

/// Add the chunk header to `out` and write it atomically as the chunk of `kind` that
/// starts at `first_step` in directory `dir` (created when missing). Throws IoError.
void write_record_chunk(const std::string& dir, const std::string& kind, std::int64_t first_step,
                        std::int64_t end_step, double dt_ms, std::uint64_t num_nodes, SnapshotWriter& out);

/// The complete chunk files of `kind` in `dir`, ordered by first step (temporary
/// files of an interrupted write are not listed). Empty when `dir` does not exist.
std::vector<std::string> record_chunks(const std::string& dir, const std::string& kind);

}  // namespace spikegraph::io
