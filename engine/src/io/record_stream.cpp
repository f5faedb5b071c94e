#include "spikegraph/io/record_stream.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "spikegraph/core/error.hpp"

namespace spikegraph::io {

namespace fs = std::filesystem;

namespace {
const char* const kSuffix = ".sgrec";
}

void write_record_chunk(const std::string& dir, const std::string& kind, std::int64_t first_step,
                        std::int64_t end_step, double dt_ms, std::uint64_t num_nodes, SnapshotWriter& out) {
  const std::string op = "write record chunk";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(op + ": cannot create directory '" + dir + "': " + ec.message());
  out.add_text("chunk/kind", kind);
  out.add_scalar("chunk/first_step", first_step);
  out.add_scalar("chunk/end_step", end_step);
  out.add_scalar("chunk/dt_ms", dt_ms);
  out.add_scalar("chunk/num_nodes", num_nodes);
  char name[64];
  std::snprintf(name, sizeof name, "-%012lld", static_cast<long long>(first_step));
  const std::string path = (fs::path(dir) / (kind + name + kSuffix)).string();
  const std::vector<unsigned char> bytes = out.bytes();
  write_file_atomically(path, bytes.data(), bytes.size(), op + " '" + path + "'");
}

std::vector<std::string> record_chunks(const std::string& dir, const std::string& kind) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  const std::string prefix = kind + "-";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // "<kind>-" + 12 digits + ".sgrec": the zero-padded step sorts as text.
    if (name.size() == prefix.size() + 12 + 6 && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - 6, 6, kSuffix) == 0 &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end() - 6,
                    [](char c) { return c >= '0' && c <= '9'; })) {
      out.push_back(entry.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace spikegraph::io
