// Private: the CPU backend's worker threads. A fork-join over a fixed number of parts
// in which parts are claimed, not assigned: the calling thread and whichever workers
// are awake take the next unclaimed part until none is left. On a machine whose cores
// are shared (a browser, a build, a second simulation), a worker that the operating
// system has not scheduled yet never holds up the step: the caller runs its parts.
// Workers spin briefly for the next fork (a step forks several times in quick
// succession) and then sleep, so an idle simulation costs no CPU. Which thread runs a
// part never changes what the part computes, so results do not depend on it.
#pragma once

#include <functional>

namespace spikegraph::cpu {

/// Runs fn(part) for every part in [0, parts), on the calling thread and up to
/// parts - 1 pool workers, and returns when all have run. Parts must not depend on
/// each other. A fork made while another is in progress (from another thread, or
/// from inside a part) runs its parts on the calling thread. The first exception a
/// part throws is rethrown here after every part has finished.
void run_parts(int parts, const std::function<void(int)>& fn);

}  // namespace spikegraph::cpu
