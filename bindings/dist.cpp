// Several ranks (MPI): communicators, and simulations made on them.
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>

#include "common.hpp"
#include "spikegraph/dist/communicator.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph::bindings {

void register_dist(nb::module_& m) {
  nb::class_<dist::Communicator>(m, "Communicator", "The ranks a simulation runs on (MPI, or one local rank).")
      .def_prop_ro("rank", &dist::Communicator::rank)
      .def_prop_ro("size", &dist::Communicator::size)
      .def_prop_ro("kind", &dist::Communicator::kind)
      .def_prop_ro("seconds", &dist::Communicator::seconds, "Seconds spent in collectives since the last reset.")
      .def_prop_ro("bytes_sent", &dist::Communicator::bytes_sent, "Bytes this rank sent since the last reset.")
      .def("reset_counters", &dist::Communicator::reset_counters)
      .def("abort", &dist::Communicator::abort, nb::arg("code"),
           "End every rank (MPI_Abort); returns on a one-rank local communicator.");
  m.def("mpi_compiled", &dist::mpi_compiled, "Whether this build has MPI support.");
  m.def("mpi_world", &dist::mpi_world, "MPI_COMM_WORLD (initialises MPI when nobody has).");
  m.def("mpi_communicator", &dist::mpi_communicator_from_fortran, nb::arg("fortran_handle"),
        "A communicator from an MPI Fortran handle (mpi4py: comm.py2f()).");
  m.def("local_communicator", &dist::local_communicator, "A communicator of one rank (no MPI needed).");
  m.def("distributed_simulation",
        [](std::shared_ptr<Graph> graph, const config::Config& cfg, std::shared_ptr<dist::Communicator> comm) {
          return Simulation::distributed(std::const_pointer_cast<const Graph>(graph), cfg, std::move(comm));
        },
        nb::arg("graph"), nb::arg("config"), nb::arg("comm"), nb::call_guard<nb::gil_scoped_release>(),
        "A simulation on the ranks of `comm` (every rank passes the same graph and configuration).");
  m.def("distributed_simulation_from_config",
        [](const config::Config& cfg, std::shared_ptr<dist::Communicator> comm) {
          return Simulation::distributed(cfg, std::move(comm));
        },
        nb::arg("config"), nb::arg("comm"), nb::call_guard<nb::gil_scoped_release>(),
        "The configured network on the ranks of `comm`; Brunel networks and the microcircuit are drawn per rank.");
  m.def("distributed_simulation_from_builder",
        [](const NetworkBuilder& builder, const config::Config& cfg, std::shared_ptr<dist::Communicator> comm) {
          return Simulation::distributed(builder, cfg, std::move(comm));
        },
        nb::arg("builder"), nb::arg("config"), nb::arg("comm"), nb::call_guard<nb::gil_scoped_release>(),
        "The builder's network on the ranks of `comm`, each rank drawing only its part.");
  m.def("load_checkpoint_distributed",
        [](const std::string& path, std::shared_ptr<dist::Communicator> comm) {
          return Simulation::load(io::SnapshotReader::open(path), std::move(comm));
        },
        nb::arg("path"), nb::arg("comm"), nb::call_guard<nb::gil_scoped_release>(),
        "A checkpoint written on any number of ranks, continued on the ranks of `comm`.");
}

}  // namespace spikegraph::bindings
