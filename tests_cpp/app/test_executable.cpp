// The standalone executable spikegraph-sim, run as a subprocess. Skipped when the
// build has no executable (SPIKEGRAPH_SIM_EXE empty) or it has not been built yet
// (building only the spikegraph_tests target does not build it).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/io/spike_file.hpp"
#include "spikegraph/version.hpp"
#include "support/test_util.hpp"

#ifndef SPIKEGRAPH_SIM_EXE
#define SPIKEGRAPH_SIM_EXE ""
#endif

using Catch::Matchers::Contains;

namespace {

struct Output {
  int code = -1;
  std::string text;  // stdout and stderr together
};

// Runs the executable with `args` (already shell-quoted), capturing its output.
Output run_exe(const std::string& args) {
  const std::string cmd = std::string("'") + SPIKEGRAPH_SIM_EXE + "' " + args + " 2>&1";
  Output out;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.text.append(buf.data(), n);
  const int status = ::pclose(p);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

bool have_exe() {
  const std::string exe = SPIKEGRAPH_SIM_EXE;
  if (exe.empty()) return false;
  if (!std::filesystem::exists(exe)) {
    WARN("spikegraph-sim not built (" << exe << "): build it to run the executable tests");
    return false;
  }
  return true;
}

const char* const kSmallRun = R"(# a small run for the tests
[sim]
dt = 0.1
backend = "cpu"
threads = 1
[network]
n = 500
k_in = 50
[node.dynamic]
tau_m = 20.0
threshold = 20.0
v_reset = 10.0
t_ref = 2.0
energy_coupling = 0.0
poisson_rate = 10000.0
poisson_weight = 0.1
[init]
v_min = 0.0
v_max = 20.0
[run]
duration = 50.0
)";

std::string q(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST_CASE("spikegraph-sim --help and --version", "[app]") {
  if (!have_exe()) return;
  const Output help = run_exe("--help");
  CHECK(help.code == 0);
  CHECK_THAT(help.text, Contains("usage: spikegraph-sim"));
  CHECK_THAT(help.text, Contains("--spikes"));
  const Output h = run_exe("-h");
  CHECK(h.code == 0);
  CHECK(h.text == help.text);
  const Output ver = run_exe("--version");
  CHECK(ver.code == 0);
  CHECK_THAT(ver.text, Contains(std::string("version: ") + spikegraph::version()));
  CHECK_THAT(ver.text, Contains("backend.cpu: available"));
  CHECK_THAT(ver.text, Contains("backend.cuda"));
  const Output schema = run_exe("--schema");
  CHECK(schema.code == 0);
  CHECK(schema.text == spikegraph::config::schema_markdown());
}

TEST_CASE("spikegraph-sim runs a config file and writes the spike file", "[app]") {
  if (!have_exe()) return;
  sgtest::TempDir dir;
  const std::string cfg = dir.file("small.toml");
  std::ofstream(cfg) << kSmallRun;
  const std::string spikes = dir.file("out.bin");
  const Output o = run_exe(q(cfg) + " --spikes " + q(spikes) + " --no-progress");
  INFO(o.text);
  REQUIRE(o.code == 0);
  CHECK_THAT(o.text, Contains("nodes         500"));
  CHECK_THAT(o.text, Contains("edges         25000"));
  CHECK_THAT(o.text, Contains("(500 steps)"));
  CHECK_THAT(o.text, Contains("mean rate"));
  CHECK_THAT(o.text, Contains("spikes file   " + spikes));
  std::smatch m;
  const std::regex re("spikes +([0-9]+)\n");
  REQUIRE(std::regex_search(o.text, m, re));
  const std::uint64_t printed = std::stoull(m[1].str());
  CHECK(printed > 0);
  const auto f = spikegraph::io::read_spike_file(spikes);
  CHECK(f.num_nodes == 500);
  CHECK(f.dt_ms == 0.1);
  CHECK(f.spikes.size() == printed);
  for (auto s : f.spikes.steps) {
    REQUIRE(s >= 0);
    REQUIRE(s < 500);
  }
  CHECK_FALSE(std::filesystem::exists(spikes + ".tmp"));

  SECTION("the same run again gives the same file; --set changes the seed") {
    const std::string again = dir.file("again.bin");
    REQUIRE(run_exe(q(cfg) + " --spikes " + q(again)).code == 0);
    const auto g = spikegraph::io::read_spike_file(again);
    CHECK(g.spikes.steps == f.spikes.steps);
    CHECK(g.spikes.nodes == f.spikes.nodes);
    const std::string other = dir.file("other.bin");
    REQUIRE(run_exe(q(cfg) + " --set sim.seed=2 --threads 2 --spikes " + q(other)).code == 0);
    CHECK(spikegraph::io::read_spike_file(other).spikes.nodes != f.spikes.nodes);
  }
  SECTION("--print-config prints the effective configuration as TOML") {
    const Output pc = run_exe(q(cfg) + " --set network.n=123 --print-config");
    REQUIRE(pc.code == 0);
    const auto back = spikegraph::config::Config::from_toml(pc.text, "<print-config>");
    CHECK(back.integer("network.n") == 123);
    CHECK(back.real("sim.dt") == 0.1);
    CHECK(back.real("run.duration") == 50.0);
  }
}

TEST_CASE("spikegraph-sim errors and exit codes", "[app]") {
  if (!have_exe()) return;
  sgtest::TempDir dir;
  SECTION("unknown option: exit 2 with usage") {
    const Output o = run_exe("--bogus");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("unknown option '--bogus'"));
    CHECK_THAT(o.text, Contains("usage:"));
  }
  SECTION("unknown key in the config file: exit 2 naming the key") {
    const std::string cfg = dir.file("bad.toml");
    std::ofstream(cfg) << "[sim]\ndtt = 0.1\n";
    const Output o = run_exe(q(cfg));
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("sim.dtt"));
    CHECK_THAT(o.text, Contains("did you mean 'sim.dt'"));
  }
  SECTION("missing config file: exit 1 naming the file") {
    const Output o = run_exe(q(dir.file("missing.toml")));
    CHECK(o.code == 1);
    CHECK_THAT(o.text, Contains("missing.toml"));
  }
  SECTION("--set with a value out of range: exit 2") {
    const std::string cfg = dir.file("small.toml");
    std::ofstream(cfg) << kSmallRun;
    const Output o = run_exe(q(cfg) + " --set sim.dt=-1");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("sim.dt"));
    CHECK_THAT(o.text, Contains("out of range"));
  }
  SECTION("--set with a malformed value: exit 2") {
    const Output o = run_exe("--set 'sim.dt=abc'");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("sim.dt"));
  }
  SECTION("--set with the wrong type: exit 2") {
    const Output o = run_exe("--set 'sim.seed=1.5'");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("sim.seed: expected integer"));
  }
  SECTION("--set without '='") {
    const Output o = run_exe("--set sim.dt");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("KEY=VALUE"));
  }
  SECTION("option without its value") {
    const Output o = run_exe("--spikes");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("--spikes needs a value"));
  }
  SECTION("two config files") {
    const Output o = run_exe("a.toml b.toml");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("more than one configuration file"));
  }
  SECTION("bad --threads") {
    const Output o = run_exe("--threads -3");
    CHECK(o.code == 2);
    CHECK_THAT(o.text, Contains("sim.threads"));
  }
  SECTION("cuda requested where unavailable: a backend error, exit 1") {
    const std::string cfg = dir.file("small.toml");
    std::ofstream(cfg) << kSmallRun;
    const Output o = run_exe(q(cfg) + " --set 'sim.backend=\"cuda\"'");
    bool cuda_available = false;
    for (const auto& b : spikegraph::available_backends()) cuda_available |= b.name == "cuda" && b.available;
    if (!cuda_available) {
      CHECK(o.code == 1);
      CHECK_THAT(o.text, Contains("SPIKEGRAPH_CUDA"));
    }
  }
}

TEST_CASE("spikegraph-sim --save and --resume continue a run bit for bit", "[app][checkpoint]") {
  if (!have_exe()) return;
  sgtest::TempDir dir;
  const std::string cfg = dir.file("small.toml");
  std::ofstream(cfg) << kSmallRun;
  const std::string straight = dir.file("straight.bin"), resumed = dir.file("resumed.bin");
  const std::string ckpt = dir.file("half.sgckpt");
  REQUIRE(run_exe(q(cfg) + " --duration 50 --spikes " + q(straight)).code == 0);
  const Output half = run_exe(q(cfg) + " --duration 25 --save " + q(ckpt));
  INFO(half.text);
  REQUIRE(half.code == 0);
  CHECK_THAT(half.text, Contains("checkpoint    " + ckpt + " (step 250)"));
  const Output rest = run_exe("--resume " + q(ckpt) + " --duration 25 --spikes " + q(resumed));
  INFO(rest.text);
  REQUIRE(rest.code == 0);
  CHECK_THAT(rest.text, Contains("at step 250"));
  const auto a = spikegraph::io::read_spike_file(straight);
  const auto b = spikegraph::io::read_spike_file(resumed);
  REQUIRE(a.spikes.size() > 100);
  CHECK(a.spikes.steps == b.spikes.steps);
  CHECK(a.spikes.nodes == b.spikes.nodes);

  SECTION("bad uses are refused") {
    const Output both = run_exe(q(cfg) + " --resume " + q(ckpt));
    CHECK(both.code == 2);
    CHECK_THAT(both.text, Contains("--resume continues with the checkpoint's configuration"));
    std::ofstream(dir.file("junk.sgckpt")) << "not a checkpoint";
    const Output junk = run_exe("--resume " + q(dir.file("junk.sgckpt")));
    CHECK(junk.code == 1);
    CHECK_THAT(junk.text, Contains("too short for a checkpoint header"));
    const Output dur = run_exe(q(cfg) + " --duration -3");
    CHECK(dur.code == 2);
    CHECK_THAT(dur.text, Contains("--duration expects a number of ms >= 0"));
  }
}

TEST_CASE("spikegraph-sim runs the microcircuit example with its Poisson background", "[app][microcircuit]") {
  if (!have_exe()) return;
  const std::string example = std::string(SPIKEGRAPH_EXAMPLES_DIR) + "/configs/microcircuit.toml";
  const Output out = run_exe(q(example) + " --set network.scale=0.01 --duration 100 --threads 1");
  INFO(out.text);
  CHECK(out.code == 0);
  CHECK_THAT(out.text, Contains("nodes         771"));
  const Output other = run_exe(q(example) + " --set network.scale=0.01 --set node.dynamic.threshold=-55.0");
  CHECK(other.code != 0);
  CHECK_THAT(other.text, Contains("node.dynamic.threshold = -50.0 (is -55.0)"));
}
