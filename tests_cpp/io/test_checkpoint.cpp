// io/snapshot + Simulation::save/load: a run interrupted by save + load gives the
// uninterrupted run's spikes bit for bit (every feature on), and every kind of
// damaged file (truncated, flipped bytes, wrong magic/version/sizes) is refused
// with an IoError that names the problem.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/io/record_stream.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using spikegraph::IoError;
using spikegraph::Simulation;
namespace io = spikegraph::io;

namespace {

// The default network, small, with every phase on: energy, eligibility learning,
// homeostasis, structure with spare slots, the grating, a monitor, the ledger.
spikegraph::config::Config full_config(const std::string& rule = "eligibility") {
  auto cfg = spikegraph::config::Config::from_toml(spikegraph::config::default_run_toml(), "<default run>");
  cfg.update(spikegraph::config::parse_toml(R"(
sim.threads = 2
graph.sensory_side = 8
graph.workspace_side = 4
graph.oscillators = 8
graph.relays = 8
graph.highways = 4
learning.rule = ")" + rule + R"("
structure.enabled = true
structure.spare_nodes = 40
structure.interval = 25
structure.birth_energy = 1.0
structure.birth_cost = 0.5
monitor.variables = ["v", "energy"]
monitor.nodes = [0, 5, 300]
monitor.interval = 3.0
energy.record_ledger = true
)", "<test>"));
  return cfg;
}

std::vector<unsigned char> bytes_of(const spikegraph::ArrayRef& a) {
  const auto* p = static_cast<const unsigned char*>(a.data);
  return {p, p + a.size * spikegraph::dtype_size(a.dtype)};
}

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string load_error(const std::string& path) {
  try {
    Simulation::load(path);
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkpoint: a run interrupted by save + load equals the uninterrupted run, bit for bit", "[io][checkpoint]") {
  const std::string rule = GENERATE(as<std::string>{}, "eligibility", "stdp");
  const auto cfg = full_config(rule);
  const auto graph = spikegraph::make_network(cfg);
  sgtest::TempDir dir;
  const std::string path = dir.file("run.sgckpt");
  const int half = sgtest::kSlowBuild ? 300 : 1000;  // steps before and after the checkpoint
  const spikegraph::Stimulus stimulus{half + half / 2, spikegraph::Stimulus::Kind::add_drive, 0.2, {10, 11, 12}};

  Simulation straight(graph, cfg);
  straight.set_neuromodulator(0.3);
  straight.schedule_stimulus(stimulus);
  straight.run_steps(2 * half);

  Simulation first(graph, cfg);
  first.set_neuromodulator(0.3);
  first.schedule_stimulus(stimulus);
  first.run_steps(half);
  first.save(path);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  auto resumed = Simulation::load(path);
  REQUIRE(resumed->current_step() == half);
  CHECK(resumed->pending_stimuli() == 1);
  resumed->run_steps(half);

  INFO("rule " << rule);
  REQUIRE(straight.spikes().size() > static_cast<std::size_t>(half));
  CHECK(resumed->spikes().steps == straight.spikes().steps);
  CHECK(resumed->spikes().nodes == straight.spikes().nodes);
  for (const auto& name : straight.state_names()) {
    INFO(name);
    CHECK(bytes_of(resumed->state(name)) == bytes_of(straight.state(name)));
  }
  CHECK(bytes_of(resumed->edge_state("weight")) == bytes_of(straight.edge_state("weight")));
  CHECK(resumed->graph().edge_target() == straight.graph().edge_target());
  CHECK(resumed->homeostasis().gains == straight.homeostasis().gains);
  CHECK(resumed->ledger_history().size() == straight.ledger_history().size());
  CHECK(resumed->ledger().total_after == straight.ledger().total_after);
  CHECK(resumed->ledger_totals().steps == straight.ledger_totals().steps);
  CHECK(resumed->ledger_totals().inflow == straight.ledger_totals().inflow);
  CHECK(resumed->ledger_totals().metabolism == straight.ledger_totals().metabolism);
  CHECK(resumed->ledger_totals().initial_total == straight.ledger_totals().initial_total);
  CHECK(resumed->monitor().values == straight.monitor().values);
  CHECK(resumed->frames_applied() == straight.frames_applied());
  // The structure phase changed the graph on the way (births into spare slots).
  if (rule == "eligibility") CHECK(straight.graph().num_edges() != graph->num_edges());
}

TEST_CASE("checkpoint: damaged files are refused with a clear IoError", "[io][checkpoint]") {
  auto cfg = full_config();
  Simulation sim(spikegraph::make_network(cfg), cfg);
  sim.run_steps(60);
  sgtest::TempDir dir;
  const std::string good = dir.file("good.sgckpt");
  sim.save(good);
  const std::vector<unsigned char> bytes = read_file(good);
  REQUIRE(bytes.size() > 1000);
  const std::string bad = dir.file("bad.sgckpt");

  SECTION("truncated at several offsets") {
    for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{31}, std::size_t{200}, bytes.size() / 2,
                            bytes.size() - 1}) {
      write_file(bad, std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
      const std::string msg = load_error(bad);
      INFO("cut at " << cut << ": " << msg);
      CHECK(msg.find("load checkpoint '" + bad + "'") == 0);
      CHECK((msg.find("too short") != std::string::npos || msg.find("truncated") != std::string::npos));
    }
  }
  SECTION("a flipped byte anywhere") {
    // Every other byte of the header and table (every sixth in slow builds), then bytes
    // spread over the whole file
    // (section data and the zero padding between sections). The fuzz stage of CI
    // (tests_cpp/fuzz) tries many more.
    std::vector<std::size_t> positions;
    const std::size_t stride = sgtest::kSlowBuild ? 6 : 2, spread = sgtest::kSlowBuild ? 30 : 100;
    for (std::size_t at = 8; at < 400; at += stride) positions.push_back(at);
    for (std::size_t k = 0; k < spread; ++k) positions.push_back(400 + (k * 7919) % (bytes.size() - 400));
    for (std::size_t at : positions) {
      std::vector<unsigned char> b = bytes;
      b[at] ^= 0x5A;
      write_file(bad, b);
      const std::string msg = load_error(bad);
      INFO("byte " << at << ": " << msg);
      CHECK_FALSE(msg.empty());
    }
  }
  SECTION("wrong magic") {
    std::vector<unsigned char> b = bytes;
    b[0] = 'X';
    write_file(bad, b);
    CHECK(load_error(bad).find("not a spikegraph checkpoint") != std::string::npos);
  }
  SECTION("wrong version") {
    std::vector<unsigned char> b = bytes;
    const std::uint32_t v = 99;
    std::memcpy(b.data() + 8, &v, 4);
    write_file(bad, b);
    CHECK(load_error(bad).find("format version 99 is not supported") != std::string::npos);
  }
  SECTION("wrong declared size and trailing data") {
    std::vector<unsigned char> b = bytes;
    b.push_back(0);
    write_file(bad, b);
    CHECK(load_error(bad).find("trailing data") != std::string::npos);
  }
  SECTION("a missing file") {
    CHECK(load_error(dir.file("nope.sgckpt")).find("cannot open") != std::string::npos);
  }
  SECTION("a section of the wrong size is named") {
    // A well-formed container whose state does not fit the network.
    const auto reader = io::SnapshotReader::open(good);
    io::SnapshotWriter w;
    for (const auto& s : reader.sections()) {
      std::vector<unsigned char> data(s.count * spikegraph::dtype_size(s.dtype));
      reader.read_into(s.name, s.dtype, data.data(), static_cast<std::size_t>(s.count));
      const std::size_t count = s.name == "backend/v" ? static_cast<std::size_t>(s.count) - 1
                                                      : static_cast<std::size_t>(s.count);
      w.add(s.name, s.dtype, data.data(), count);
    }
    w.write(bad);
    const std::string msg = load_error(bad);
    CHECK(msg.find("section 'backend/v' has") != std::string::npos);
  }
  SECTION("content that contradicts the configuration (found by fuzzing: a zero monitor period)") {
    const auto reader = io::SnapshotReader::open(good);
    io::SnapshotWriter w;
    for (const auto& s : reader.sections()) {
      std::vector<unsigned char> data(s.count * spikegraph::dtype_size(s.dtype));
      reader.read_into(s.name, s.dtype, data.data(), static_cast<std::size_t>(s.count));
      if (s.name == "record/monitor_every") std::memset(data.data(), 0, data.size());
      w.add(s.name, s.dtype, data.data(), static_cast<std::size_t>(s.count));
    }
    w.write(bad);
    CHECK(load_error(bad).find("monitor period does not match") != std::string::npos);
  }
  SECTION("a ledger step no integer can hold (found by fuzzing)") {
    const auto reader = io::SnapshotReader::open(good);
    io::SnapshotWriter w;
    for (const auto& s : reader.sections()) {
      std::vector<unsigned char> data(s.count * spikegraph::dtype_size(s.dtype));
      reader.read_into(s.name, s.dtype, data.data(), static_cast<std::size_t>(s.count));
      if (s.name == "record/ledgers") {
        const double huge = 7.2e221;
        std::memcpy(data.data(), &huge, sizeof huge);
      }
      w.add(s.name, s.dtype, data.data(), static_cast<std::size_t>(s.count));
    }
    w.write(bad);
    CHECK(load_error(bad).find("record/ledgers holds an invalid step") != std::string::npos);
  }
  // The good file still loads and the original simulation is untouched.
  CHECK(Simulation::load(good)->current_step() == 60);
  CHECK(sim.current_step() == 60);
}

TEST_CASE("checkpoint: a failed save leaves the existing file as it was", "[io][checkpoint]") {
  auto cfg = full_config();
  Simulation sim(spikegraph::make_network(cfg), cfg);
  sgtest::TempDir dir;
  CHECK_THROWS_AS(sim.save(dir.file("missing/dir/x.sgckpt")), IoError);
  const std::string path = dir.file("x.sgckpt");
  sim.save(path);
  const auto before = read_file(path);
  std::filesystem::create_directory(path + ".tmp");  // the temporary file cannot be created
  CHECK_THROWS_AS(sim.save(path), IoError);
  CHECK(read_file(path) == before);
}

TEST_CASE("snapshot container: sections round trip and duplicates are refused", "[io][checkpoint]") {
  io::SnapshotWriter w;
  w.add("a", std::vector<double>{1.5, -2.0});
  w.add_scalar("b", std::uint16_t{7});
  w.add_text("c", "hello");
  w.add("empty", std::vector<float>{});
  CHECK_THROWS_AS(w.add_scalar("b", 1), spikegraph::InputError);
  CHECK_THROWS_AS(w.add_text("", "x"), spikegraph::InputError);
  const auto r = io::SnapshotReader::from_bytes(w.bytes(), "memory");
  CHECK(r.version() == io::kSnapshotVersion);
  CHECK(r.array<double>("a") == std::vector<double>{1.5, -2.0});
  CHECK(r.scalar<std::uint16_t>("b") == 7);
  CHECK(r.text("c") == "hello");
  CHECK(r.array<float>("empty").empty());
  CHECK(r.has("a"));
  CHECK_FALSE(r.has("z"));
  CHECK_THROWS_WITH(r.array<float>("a"), Catch::Contains("holds float64, expected float32"));
  CHECK_THROWS_WITH(r.array<double>("a", 3), Catch::Contains("has 2 float64 elements, expected 3"));
  CHECK_THROWS_WITH(r.text("z"), Catch::Contains("section 'z' is missing"));
}

TEST_CASE("checkpoint: the ledger layout from before birth_cost was its own entry still loads", "[io][checkpoint]") {
  // Rewrite a new checkpoint the way older engines wrote it: nine doubles per ledger
  // (birth costs counted in metabolism), no record/ledger_doubles section.
  const auto cfg = full_config("stdp");
  const auto graph = spikegraph::make_network(cfg);
  Simulation sim(graph, cfg);
  sim.run_steps(300);
  REQUIRE(sim.ledger_totals().birth_cost > 0.0);
  spikegraph::io::SnapshotWriter now;
  sim.save_to(now);
  const auto reader = spikegraph::io::SnapshotReader::from_bytes(now.bytes(), "<new>");
  spikegraph::io::SnapshotWriter old;
  for (const auto& s : reader.sections()) {
    if (s.name == "record/ledger_doubles") continue;
    if (s.name == "record/ledgers") {
      const auto v = reader.array<double>(s.name);
      std::vector<double> legacy;
      for (std::size_t k = 0; k < v.size(); k += 11) {
        // step, total_before, inflow, spike_cost, metabolism (+ birth_cost), flow_out, flow_in,
        // overflow, transfers, total_after
        for (std::size_t f = 0; f < 10; ++f) legacy.push_back(v[k + f] + (f == 4 ? v[k + 10] : 0.0));
      }
      old.add(s.name, legacy);
    } else if (s.name == "record/ledger_totals") {
      auto t = reader.array<double>(s.name);
      t[3] += t[9];
      t.pop_back();
      old.add(s.name, t);
    } else {
      std::vector<unsigned char> raw(static_cast<std::size_t>(s.count) * spikegraph::dtype_size(s.dtype));
      reader.read_into(s.name, s.dtype, raw.data(), static_cast<std::size_t>(s.count));
      old.add(s.name, s.dtype, raw.data(), static_cast<std::size_t>(s.count));
    }
  }
  auto loaded = Simulation::load(spikegraph::io::SnapshotReader::from_bytes(old.bytes(), "<old>"));
  const auto& t = loaded->ledger_totals();
  CHECK(t.birth_cost == 0.0);
  CHECK(t.metabolism == Approx(sim.ledger_totals().metabolism + sim.ledger_totals().birth_cost));
  CHECK(std::abs(t.error()) < 1e-6 * std::max(1.0, std::abs(t.final_total)));
  CHECK(loaded->ledger_history().size() == sim.ledger_history().size());
  // It continues like the run it came from.
  sim.run_steps(100);
  loaded->run_steps(100);
  CHECK(loaded->spikes().nodes == sim.spikes().nodes);
  CHECK(bytes_of(loaded->state("energy")) == bytes_of(sim.state("energy")));
}

TEST_CASE("record stream: chunks hold the record, resume across a checkpoint, skip partial files", "[io][stream]") {
  sgtest::TempDir dir;
  const std::string stream = dir.file("stream");
  auto cfg = full_config("stdp");
  auto memory_cfg = cfg;
  cfg.update({{"record.stream", spikegraph::config::Value::string(stream)},
              {"record.stream_every", spikegraph::config::Value::real(40.0)}});
  const auto graph = spikegraph::make_network(cfg);
  Simulation straight(graph, memory_cfg);
  straight.run_steps(200);
  Simulation first(graph, cfg);
  first.run_steps(130);
  CHECK(first.spikes().start_step == 120);  // in memory: the chunk in progress only
  CHECK(first.ledger_history().size() == 10);
  first.save(dir.file("c.sgckpt"));
  auto resumed = Simulation::load(dir.file("c.sgckpt"));
  resumed->run_steps(70);
  // Partial writes and other files in the directory are not chunks.
  write_file(stream + "/spikes-000000000200.sgrec.tmp", {1, 2, 3});
  write_file(stream + "/spikes-00000000020x.sgrec", {1, 2, 3});
  const auto chunks = spikegraph::io::record_chunks(stream, "spikes");
  REQUIRE(chunks.size() == 5);
  CHECK(spikegraph::io::record_chunks(stream, "ledger").size() == 5);
  CHECK(spikegraph::io::record_chunks(dir.file("missing"), "spikes").empty());
  std::vector<std::int64_t> steps;
  std::vector<spikegraph::index_t> nodes;
  std::int64_t end = 0;
  for (const auto& path : chunks) {
    const auto r = spikegraph::io::SnapshotReader::open(path);
    CHECK(r.text("chunk/kind") == "spikes");
    CHECK(r.scalar<std::int64_t>("chunk/first_step") == end);
    end = r.scalar<std::int64_t>("chunk/end_step");
    const auto s = r.array<std::int64_t>("spike_steps");
    const auto n = r.array<spikegraph::index_t>("spike_nodes");
    steps.insert(steps.end(), s.begin(), s.end());
    nodes.insert(nodes.end(), n.begin(), n.end());
    CHECK(r.array<std::int64_t>("monitor_steps").size() * 3 * 2 == r.array<double>("monitor_values").size());
  }
  CHECK(end == 200);
  CHECK(steps == straight.spikes().steps);
  CHECK(nodes == straight.spikes().nodes);
  const auto last = spikegraph::io::SnapshotReader::open(spikegraph::io::record_chunks(stream, "ledger").back());
  const auto ledgers = last.array<double>("ledgers");
  CHECK(ledgers.size() == 40 * (1 + last.scalar<std::uint64_t>("ledger_doubles")));
  CHECK(ledgers[ledgers.size() - 2] == straight.ledger_history().back().total_after);
  // A directory that cannot be made: an IoError naming it, at the chunk's step.
  auto bad = memory_cfg;
  write_file(dir.file("plain"), {0});
  bad.update({{"record.stream", spikegraph::config::Value::string(dir.file("plain") + "/sub")},
              {"record.stream_every", spikegraph::config::Value::real(10.0)}});
  Simulation failing(graph, bad);
  CHECK_THROWS_WITH(failing.run_steps(10), Catch::Contains("cannot create directory"));
}
