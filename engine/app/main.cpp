// spikegraph-sim: the standalone executable. Reads a TOML configuration (or uses
// the built-in default run), builds the network of its [network] section, runs
// run.duration ms and prints a summary; optionally writes the spike file
// (format: spikegraph/io/spike_file.hpp) and a checkpoint, or resumes from one.
// Started by mpirun (mpirun -n N spikegraph-sim CONFIG.toml) in a build with MPI, it
// runs the one simulation on the N ranks; rank 0 prints and writes the files.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "spikegraph/spikegraph.hpp"

namespace {

const char* const kUsage =
    "usage: spikegraph-sim [CONFIG.toml] [options]\n"
    "\n"
    "Runs the network described by CONFIG.toml (the built-in default run when no file\n"
    "is given) and prints a summary. Under mpirun -n N (a build with MPI) the run is\n"
    "split across the N processes, with the results of one.\n"
    "\n"
    "options:\n"
    "  --set KEY=VALUE     override one configuration key (TOML value syntax), repeatable\n"
    "  --spikes FILE       write the spike record to FILE (same as run.spikes_file)\n"
    "  --duration MS       model time to run (same as run.duration)\n"
    "  --save FILE         write a checkpoint of the complete state to FILE at the end\n"
    "  --resume FILE       continue from a checkpoint (its configuration; no CONFIG or --set)\n"
    "  --threads N         CPU threads (same as sim.threads; 0 = all, shared among the ranks)\n"
    "  --progress / --no-progress   progress on stderr (default: when stderr is a terminal)\n"
    "  --print-config      print the full configuration as TOML and exit\n"
    "  --schema            print every configuration key as a Markdown table and exit\n"
    "  --version           print version and build information and exit\n"
    "  -h, --help          show this help\n";

struct Args {
  std::string config_path;
  std::vector<std::string> sets;
  std::string spikes_path;
  std::string threads;
  std::string duration;
  std::string save_path;
  std::string resume_path;
  int progress = -1;  // -1: auto
  bool print_config = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
  throw spikegraph::ConfigError("spikegraph-sim: " + msg + "\n\n" + kUsage);
}

Args parse_args(int argc, char** argv, bool& exit_now) {
  Args a;
  exit_now = false;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&](const char* opt) -> std::string {
      if (i + 1 >= argc) usage_error(std::string(opt) + " needs a value");
      return argv[++i];
    };
    if (s == "-h" || s == "--help") {
      std::cout << kUsage;
      exit_now = true;
      return a;
    } else if (s == "--version") {
      for (const auto& [k, v] : spikegraph::build_info()) std::cout << k << ": " << v << "\n";
      exit_now = true;
      return a;
    } else if (s == "--schema") {
      std::cout << spikegraph::config::schema_markdown();
      exit_now = true;
      return a;
    } else if (s == "--set") {
      a.sets.push_back(value("--set"));
    } else if (s == "--spikes") {
      a.spikes_path = value("--spikes");
    } else if (s == "--duration") {
      a.duration = value("--duration");
    } else if (s == "--save") {
      a.save_path = value("--save");
    } else if (s == "--resume") {
      a.resume_path = value("--resume");
    } else if (s == "--threads") {
      a.threads = value("--threads");
    } else if (s == "--progress") {
      a.progress = 1;
    } else if (s == "--no-progress") {
      a.progress = 0;
    } else if (s == "--print-config") {
      a.print_config = true;
    } else if (!s.empty() && s[0] == '-') {
      usage_error("unknown option '" + s + "'");
    } else if (a.config_path.empty()) {
      a.config_path = s;
    } else {
      usage_error("more than one configuration file given ('" + a.config_path + "', '" + s + "')");
    }
  }
  if (!a.resume_path.empty() && (!a.config_path.empty() || !a.sets.empty() || !a.threads.empty())) {
    usage_error("--resume continues with the checkpoint's configuration: drop CONFIG, --set and --threads");
  }
  return a;
}

double duration_ms(const Args& a, const spikegraph::config::Config& cfg) {
  if (a.duration.empty()) return cfg.real("run.duration");
  char* end = nullptr;
  const double d = std::strtod(a.duration.c_str(), &end);
  if (end == a.duration.c_str() || *end != '\0' || !std::isfinite(d) || d < 0.0) {
    usage_error("--duration expects a number of ms >= 0, got '" + a.duration + "'");
  }
  return d;
}

spikegraph::config::Config load_config(const Args& a) {
  using spikegraph::config::Config;
  Config cfg = a.config_path.empty() ? Config::from_toml(spikegraph::config::default_run_toml(), "<default run>")
                                     : Config::from_toml_file(a.config_path);
  spikegraph::config::FlatTable overrides;
  for (const auto& s : a.sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) usage_error("--set expects KEY=VALUE, got '" + s + "'");
    spikegraph::config::FlatTable one;
    try {
      one = spikegraph::config::parse_toml(s, "--set " + s);
    } catch (const spikegraph::ConfigError&) {
      // A bare word is taken as a string: --set sim.backend=cpu.
      const std::string value = s.substr(eq + 1);
      if (value.empty() || value.find('"') != std::string::npos) throw;
      one = spikegraph::config::parse_toml(s.substr(0, eq) + " = \"" + value + "\"", "--set " + s);
    }
    overrides.insert(one.begin(), one.end());
  }
  if (!a.threads.empty()) {
    auto one = spikegraph::config::parse_toml("sim.threads = " + a.threads, "--threads");
    overrides.insert(one.begin(), one.end());
  }
  if (!a.spikes_path.empty()) overrides["run.spikes_file"] = spikegraph::config::Value::string(a.spikes_path);
  cfg.update(overrides, "command line");
  return cfg;
}

// Whether a launcher (mpirun / mpiexec of Open MPI, MPICH or a PMIx runtime) started
// this process as one of several.
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

int run(const Args& a, const std::shared_ptr<spikegraph::dist::Communicator>& comm) {
  using namespace spikegraph;
  const bool lead = comm->rank() == 0;  // prints and writes files
  std::ostream null_stream(nullptr);
  std::ostream& out = lead ? std::cout : null_stream;
  std::unique_ptr<Simulation> owned;
  if (a.resume_path.empty()) {
    const config::Config cfg = load_config(a);
    if (a.print_config) {
      out << cfg.to_toml();
      return 0;
    }
    owned = Simulation::distributed(cfg, comm);  // one process: build_network and its initial state
  } else {
    owned = Simulation::load(io::SnapshotReader::open(a.resume_path), comm);
    out << "resumed       " << a.resume_path << " at step " << owned->current_step() << "\n";
    if (a.print_config) {
      out << owned->config().to_toml();
      return 0;
    }
  }
  Simulation& sim = *owned;
  const config::Config& cfg = sim.config();
  const std::int64_t total = std::llround(duration_ms(a, cfg) / sim.dt());
  const bool progress = lead && (a.progress == 1 || (a.progress == -1 && isatty(STDERR_FILENO)));
  const std::int64_t chunk = std::max<std::int64_t>(1, total / 100);
  for (std::int64_t done = 0; done < total;) {
    const std::int64_t n = std::min(chunk, total - done);
    sim.run_steps(n);
    done += n;
    if (progress) {
      std::fprintf(stderr, "\rspikegraph-sim: %3d%% (%lld/%lld steps)", static_cast<int>(100 * done / total),
                   static_cast<long long>(done), static_cast<long long>(total));
      std::fflush(stderr);
    }
  }
  if (progress) std::fprintf(stderr, "\n");
  out << format_summary(summarize(sim));
  const std::string path = a.spikes_path.empty() ? cfg.string("run.spikes_file") : a.spikes_path;
  if (!path.empty()) {
    // Every rank holds the whole spike record; rank 0 writes it.
    std::exception_ptr failure;
    if (lead) {
      try {
        io::write_spike_file(path, sim.spikes(), sim.graph().num_nodes(), sim.dt());
      } catch (...) {
        failure = std::current_exception();
      }
    }
    comm->agree(failure);
    out << "spikes file   " << path << "\n";
  }
  if (!a.save_path.empty()) {
    sim.save(a.save_path);
    out << "checkpoint    " << a.save_path << " (step " << sim.current_step() << ")\n";
  }
  return 0;
}

// Reports an error and ends this process; on several ranks every rank, since an
// error some ranks did not see would leave the others waiting in a collective.
int fail(spikegraph::dist::Communicator& comm, const std::exception& e, int code) {
  const std::string who = comm.size() > 1 ? "rank " + std::to_string(comm.rank()) + ": " : "";
  std::cerr << who << "error: " << e.what() << "\n";
  std::cerr.flush();
  comm.abort(code);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::shared_ptr<spikegraph::dist::Communicator> comm = spikegraph::dist::local_communicator();
  try {
    bool exit_now = false;
    const Args a = parse_args(argc, argv, exit_now);
    if (exit_now) return 0;
    if (launched_by_mpi() && spikegraph::dist::mpi_compiled()) comm = spikegraph::dist::mpi_world();
    return run(a, comm);
  } catch (const spikegraph::ConfigError& e) {
    return fail(*comm, e, 2);
  } catch (const std::bad_alloc&) {
    const spikegraph::InputError e(
        "out of memory building or running the simulation; mpirun -n N spikegraph-sim ... splits the edges "
        "(and the network's construction, for network.kind = brunel) across N processes");
    return fail(*comm, e, 1);
  } catch (const std::exception& e) {
    return fail(*comm, e, 1);
  }
}
