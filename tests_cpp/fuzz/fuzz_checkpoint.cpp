// libFuzzer harness for the checkpoint loader (build: SPIKEGRAPH_FUZZ=ON with
// clang; run: .ci/run's fuzz step, or see docs/testing.md). Two kinds of input:
//  - first byte even: the rest is a checkpoint file as is (container parsing:
//    magic, version, sizes, table, checksums, padding);
//  - first byte odd: an edit script applied to a valid seed checkpoint
//    (SPIKEGRAPH_FUZZ_SEED, a file written by spikegraph-sim --save), which is then
//    re-serialised with valid checksums, so that the loader's checks of the
//    content (graph, state sizes, records, stimuli, configuration) are fuzzed too.
// Any exception derived from spikegraph::Error is an accepted refusal; a crash, a
// sanitizer report, a leak or another exception is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace {

using spikegraph::io::SnapshotReader;
using spikegraph::io::SnapshotWriter;

struct Section {
  std::string name;
  spikegraph::DType dtype;
  std::vector<unsigned char> data;
};

std::vector<Section>* seed_sections() {
  static std::vector<Section>* sections = [] {
    auto* out = new std::vector<Section>();
    const char* path = std::getenv("SPIKEGRAPH_FUZZ_SEED");
    if (!path) return out;
    const SnapshotReader r = SnapshotReader::open(path);
    for (const auto& s : r.sections()) {
      Section copy{s.name, s.dtype, std::vector<unsigned char>(s.count * spikegraph::dtype_size(s.dtype))};
      r.read_into(s.name, s.dtype, copy.data.data(), static_cast<std::size_t>(s.count));
      out->push_back(std::move(copy));
    }
    return out;
  }();
  return sections;
}

void try_load(const SnapshotReader& r) {
  try {
    auto sim = spikegraph::Simulation::load(r);
    sim->run_steps(2);  // a loaded simulation must also run
  } catch (const spikegraph::Error&) {
  }
}

// Edit script: repeated records of [section u8][op u8][position u16][value u8...].
void edit_and_load(const std::uint8_t* data, std::size_t size) {
  std::vector<Section> sections = *seed_sections();
  if (sections.empty()) return;
  std::size_t at = 0;
  while (at + 4 <= size) {
    Section& s = sections[data[at] % sections.size()];
    const std::uint8_t op = data[at + 1] % 4;
    const std::size_t elem = spikegraph::dtype_size(s.dtype);
    const std::size_t pos = s.data.empty() ? 0 : (data[at + 2] | (data[at + 3] << 8)) % s.data.size();
    at += 4;
    if (op == 0 && !s.data.empty()) {  // overwrite up to 8 bytes
      for (std::size_t k = 0; k < 8 && at < size && pos + k < s.data.size(); ++k) s.data[pos + k] = data[at++];
    } else if (op == 1) {  // drop the tail from an element boundary
      s.data.resize(pos / elem * elem);
    } else if (op == 2) {  // append one element
      for (std::size_t k = 0; k < elem; ++k) s.data.push_back(at < size ? data[at++] : 0);
    } else if (op == 3 && at < size) {  // change the dtype
      s.dtype = static_cast<spikegraph::DType>(data[at++] % 8);
      s.data.resize(s.data.size() / spikegraph::dtype_size(s.dtype) * spikegraph::dtype_size(s.dtype));
    }
  }
  SnapshotWriter w;
  for (const Section& s : sections) {
    w.add(s.name, s.dtype, s.data.data(), s.data.size() / spikegraph::dtype_size(s.dtype));
  }
  try_load(SnapshotReader::from_bytes(w.bytes(), "fuzz-edit"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    std::vector<unsigned char> bytes(data + 1, data + size);
    try {
      try_load(SnapshotReader::from_bytes(std::move(bytes), "fuzz-raw"));
    } catch (const spikegraph::Error&) {
    }
  } else {
    edit_and_load(data + 1, size - 1);
  }
  return 0;
}
