// Helpers the services share to read their checkpoint sections.
#pragma once

#include <string>

#include "spikegraph/core/error.hpp"
#include "spikegraph/io/snapshot.hpp"

namespace spikegraph {

/// A checkpoint whose section content is inconsistent: IoError naming the file.
[[noreturn]] inline void corrupt_checkpoint(const io::SnapshotReader& in, const std::string& what) {
  throw IoError("load checkpoint '" + in.source() + "': " + what + " (corrupt)");
}

}  // namespace spikegraph
