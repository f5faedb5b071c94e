// Helpers the services share to read their checkpoint sections.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/io/snapshot.hpp"

namespace spikegraph {

/// A checkpoint whose section content is inconsistent: IoError naming the file.
[[noreturn]] inline void corrupt_checkpoint(const io::SnapshotReader& in, const std::string& what) {
  throw IoError("load checkpoint '" + in.source() + "': " + what + " (corrupt)");
}

/// A list of names as one text section (a line each), and back.
inline std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += s + "\n";
  return out;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace spikegraph
