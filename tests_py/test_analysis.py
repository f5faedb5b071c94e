"""Graph management and analysis: structure metrics against networkx and numpy on
random graphs, validation of a running simulation, activity metrics and the periodic
metrics service."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import spikegraph as sg
from spikegraph import analysis

KINDS = ("excitatory", "inhibitory", "modulatory", "gated")


def random_network(n: int, m: int, seed: int, node_types: Any = None) -> sg.Network:
    """Random edges with multapses and self-loops, all four kinds."""
    rng = np.random.default_rng(seed)
    return sg.Network.from_arrays(
        n,
        rng.integers(0, n, m),
        rng.integers(0, n, m),
        rng.uniform(0.1, 1.0, m),
        delays=rng.integers(1, 4, m),
        kinds=rng.choice(4, m, p=[0.6, 0.25, 0.1, 0.05]),
        node_types=node_types,
    )


def to_networkx(net: sg.Network, alive: np.ndarray | None = None) -> Any:
    nx = pytest.importorskip("networkx")
    g = nx.MultiDiGraph()
    keep = np.ones(net.num_nodes, bool) if alive is None else alive.astype(bool)
    g.add_nodes_from(np.nonzero(keep)[0].tolist())
    src, tgt = net.sources(), net.targets
    live = keep[src] & keep[tgt]
    g.add_edges_from(zip(src[live].tolist(), tgt[live].tolist()))
    return g


def histogram(degrees: Any) -> np.ndarray:
    values = np.array([d for _, d in degrees], dtype=np.int64)
    return np.bincount(values)


def partition(labels: np.ndarray, nodes: Any) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for node in nodes:
        groups.setdefault(int(labels[node]), set()).add(int(node))
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_structure_matches_networkx(seed: int) -> None:
    nx = pytest.importorskip("networkx")
    n = 120
    net = random_network(n, 250 + 60 * seed, seed)
    alive = None
    if seed == 3:  # some dead nodes: they and their edges are left out
        alive = np.ones(n, np.uint8)
        alive[[4, 50, 77, 119]] = 0
    g = to_networkx(net, alive)
    m = analysis.graph_metrics(net, samples=0, alive=alive, threads=2)

    assert m["nodes"] == g.number_of_nodes()
    assert m["edges"] == g.number_of_edges()
    np.testing.assert_array_equal(m["in_degree_histogram"], histogram(g.in_degree()))
    np.testing.assert_array_equal(m["out_degree_histogram"], histogram(g.out_degree()))
    assert m["max_in_degree"] == max(d for _, d in g.in_degree())

    weak = list(nx.weakly_connected_components(g))
    strong = list(nx.strongly_connected_components(g))
    assert m["weak_components"] == len(weak)
    assert m["strong_components"] == len(strong)
    assert m["largest_weak_component"] == max(len(c) for c in weak)
    assert m["largest_strong_component"] == max(len(c) for c in strong)
    np.testing.assert_array_equal(m["weak_component_sizes"], sorted((len(c) for c in weak), reverse=True))
    np.testing.assert_array_equal(m["strong_component_sizes"], sorted((len(c) for c in strong), reverse=True))
    assert partition(m["weak_component"], g.nodes) == {frozenset(c) for c in weak}
    assert partition(m["strong_component"], g.nodes) == {frozenset(c) for c in strong}
    if alive is not None:
        assert (m["weak_component"][alive == 0] == 2**32 - 1).all()

    simple = nx.Graph(g.to_undirected())
    simple.remove_edges_from(nx.selfloop_edges(simple))
    assert m["clustering"] == pytest.approx(nx.average_clustering(simple), rel=1e-12, abs=1e-15)
    assert m["clustering_exact"]
    assert m["clustering_nodes"] == g.number_of_nodes()
    assert m["triangles"] == sum(nx.triangles(simple).values()) // 3

    lengths = [d for s, row in nx.all_pairs_shortest_path_length(g) for t, d in row.items() if t != s]
    k = g.number_of_nodes()
    assert m["mean_path_length"] == pytest.approx(np.mean(lengths), rel=1e-12)
    assert m["reachable_fraction"] == pytest.approx(len(lengths) / (k * (k - 1)), rel=1e-12)
    assert m["reachable_pairs"] == len(lengths)
    assert m["max_path_length"] == max(lengths)
    assert m["paths_exact"] and m["path_sources"] == k


def test_weight_statistics_by_kind() -> None:
    net = random_network(80, 600, 9)
    w, kinds = net.weights.astype(np.float64), net.kinds
    m = analysis.graph_metrics(net)
    for k, name in enumerate(KINDS):
        sel = w[kinds == k]
        stats = m["weights"][name]
        assert stats["count"] == sel.size
        assert stats["mean"] == pytest.approx(sel.mean(), rel=1e-12)
        assert stats["std"] == pytest.approx(sel.std(), rel=1e-9)
        assert stats["min"] == sel.min() and stats["max"] == sel.max()
    # Replacement weights (a simulation's learned weights) are used instead.
    m2 = analysis.graph_metrics(net, weights=np.full(net.num_edges, 2.0))
    assert m2["weights"]["inhibitory"]["mean"] == 2.0
    assert m2["weights"]["inhibitory"]["std"] == 0.0


def dense_effective(net: sg.Network, modulatory: float, relay: float) -> np.ndarray:
    n = net.num_nodes
    factor = np.array([1.0, -1.0, modulatory, 1.0])[net.kinds]
    src = net.sources().astype(np.int64)
    gain = np.where(net.node_types[src] == sg.NODE_TYPES.index("relay"), relay, 1.0)
    w = np.zeros((n, n))
    np.add.at(w, (net.targets.astype(np.int64), src), (factor * net.weights * gain).astype(np.float32))
    return w


# Seeds 4 and 5 have a real dominant eigenvalue, seed 6 a complex pair (|W^k x| then
# oscillates: slower, to a looser tolerance).
@pytest.mark.parametrize(("seed", "iterations", "rel"), [(4, 400, 1e-9), (5, 400, 1e-9), (6, 1000, 1e-5)])
def test_spectral_radius_matches_dense_eigenvalues(seed: int, iterations: int, rel: float) -> None:
    n = 60
    rng = np.random.default_rng(seed)
    types = rng.choice([1, 4], n, p=[0.8, 0.2])  # dynamic and relay nodes
    net = random_network(n, 420, seed, node_types=types)
    w = dense_effective(net, 0.7, 1.3)
    rho = np.abs(np.linalg.eigvals(w)).max()
    perron = np.abs(np.linalg.eigvals(np.abs(w))).max()
    m = analysis.graph_metrics(net, power_iterations=iterations, modulatory_gain=0.7, relay_gain=1.3)
    assert m["spectral_radius"] == pytest.approx(rho, rel=rel)
    assert m["perron_root"] == pytest.approx(perron, rel=1e-7)  # |W| entries rounded to float32
    assert 30 <= m["power_iterations"] <= iterations


def test_directed_cycle_and_complex_pair() -> None:
    ring = sg.Network.from_arrays(7, np.arange(7), (np.arange(7) + 1) % 7, np.full(7, 0.5))
    m = analysis.graph_metrics(ring)
    assert m["spectral_radius"] == pytest.approx(0.5, rel=1e-12)
    assert m["strong_components"] == 1 and m["clustering"] == 0.0
    assert m["mean_path_length"] == pytest.approx(3.5)
    # [[a, -b], [b, a]]: eigenvalues a +- ib.
    rot = sg.Network.from_arrays(2, [0, 1, 1, 0], [0, 1, 0, 1], [0.3, 0.3, 0.4, 0.4],
                                 kinds=["excitatory", "excitatory", "inhibitory", "excitatory"])
    assert analysis.graph_metrics(rot)["spectral_radius"] == pytest.approx(np.hypot(0.3, 0.4), rel=1e-6)


def test_thread_count_does_not_change_results() -> None:
    net = random_network(5000, 60000, 12)
    one = analysis.graph_metrics(net, samples=100, threads=1)
    two = analysis.graph_metrics(net, samples=100, threads=2)
    for key, value in one.items():
        if key == "seconds":
            continue
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, two[key], err_msg=key)
        elif key == "weights":
            for kind in KINDS:
                for stat, x in value[kind].items():
                    assert np.array_equal(x, two[key][kind][stat], equal_nan=True), (kind, stat)
        else:
            assert value == two[key] or (value != value and two[key] != two[key]), key
    assert not one["paths_exact"] and one["path_sources"] == 100
    assert set(one["seconds"]) == {"degrees", "weights", "weak_components", "strong_components",
                                   "clustering", "paths", "spectral"}


def test_sampling_estimates_the_exact_values() -> None:
    net = random_network(2000, 20000, 13)
    exact = analysis.graph_metrics(net, samples=0)
    sampled = analysis.graph_metrics(net, samples=300, seed=3)
    assert sampled["clustering_nodes"] == 300 and not sampled["clustering_exact"]
    assert sampled["mean_path_length"] == pytest.approx(exact["mean_path_length"], rel=0.03)
    assert sampled["reachable_fraction"] == pytest.approx(exact["reachable_fraction"], rel=0.03)
    assert analysis.graph_metrics(net, samples=300, seed=3)["mean_path_length"] == sampled["mean_path_length"]


def test_validate_a_network() -> None:
    net = random_network(50, 200, 1)
    report = analysis.validate(net)
    assert report == {"ok": True, "problems": [], "problem_count": 0}
    alive = np.ones(50, np.uint8)
    alive[int(net.targets[0])] = 0
    bad = net.weights.copy()
    bad[5] = np.nan
    report = analysis.validate(net, alive=alive, weights=bad)
    assert not report["ok"]
    assert any("touches dead node" in p and "structure step" in p for p in report["problems"])
    assert any(p.startswith("edge state 'weight'[5] = nan") for p in report["problems"])
    with pytest.raises(sg.GraphError, match=r"validate: \d+ problem\(s\): .*dead node"):
        analysis.validate(net, alive=alive, raise_on_error=True)


def test_argument_errors() -> None:
    net = random_network(10, 20, 1)
    with pytest.raises(sg.InputError, match="graph_metrics: samples must be in"):
        analysis.graph_metrics(net, samples=-1)
    with pytest.raises(sg.InputError, match="power_iterations"):
        analysis.graph_metrics(net, power_iterations=0)
    with pytest.raises(sg.InputError, match="alive must be a 1-D array of 10 values"):
        analysis.graph_metrics(net, alive=np.ones(3))
    with pytest.raises(sg.InputError, match=r"expected a spikegraph\.Network"):
        analysis.validate("not a network")  # type: ignore[arg-type]
    with pytest.raises(sg.InputError, match="relay_gain must be finite"):
        analysis.graph_metrics(net, relay_gain=float("nan"))


# ---------------------------------------------------------------- simulations

def active_sim(**extra: Any) -> sg.Simulation:
    cfg: dict[str, Any] = {
        "sim": {"threads": 1},
        "node": {"dynamic": {"poisson_rate": 400.0, "poisson_weight": 0.5}},
    }
    for key, value in extra.items():
        cfg.setdefault(key, {}).update(value)
    net = sg.networks.brunel(400, k_in=20, j=0.1, g=5.0, delay_ms=1.0, dt_ms=1.0, seed=2)
    return sg.Simulation(net, cfg)


def test_simulation_validate_finds_dead_edges_and_nan() -> None:
    sim = active_sim()
    sim.run(5.0)
    assert sim.validate()["ok"]
    alive = np.ones(400)
    alive[7] = 0
    sim.set_state("alive", alive)
    report = sim.validate()
    assert not report["ok"]
    assert any("dead node 7" in p for p in report["problems"])
    with pytest.raises(sg.GraphError, match="until the next structure step"):
        sim.validate(raise_on_error=True)
    sim.set_state("alive", np.ones(400))
    sim.state("v")[3] = np.nan  # a view: set_state would refuse NaN
    report = sim.validate()
    assert report["problems"] == ["state 'v': 1 value is not finite, first v[3] = nan"]


def test_simulation_graph_metrics_follow_the_state() -> None:
    sim = active_sim()
    full = sim.graph_metrics(samples=0)
    assert full["nodes"] == 400 and full["edges"] == 400 * 20
    alive = np.ones(400)
    alive[:100] = 0
    sim.set_state("alive", alive)
    part = sim.graph_metrics(samples=0, power_iterations=50)
    assert part["nodes"] == 300
    src = sim.current_network.sources()
    tgt = sim.current_network.targets
    assert part["edges"] == int(((src >= 100) & (tgt >= 100)).sum())
    sim.set_weights(np.full(400 * 20, 0.25))
    assert sim.graph_metrics()["weights"]["excitatory"]["max"] == 0.25
    assert sim.graph_metrics()["path_sources"] == 100  # metrics.samples


def test_activity_metrics_from_the_spike_record() -> None:
    sim = active_sim()
    sim.run(300.0)
    a = sim.activity_metrics()
    assert a["rate_source"] == "spike_record"
    assert a["rate_window_steps"] == 300
    rates = sim.spike_counts() / 0.3
    assert rates.std() > 0  # a non-trivial distribution
    assert a["rate_mean"] == pytest.approx(rates.mean(), rel=1e-12)
    assert a["rate_std"] == pytest.approx(rates.std(), rel=1e-9)
    np.testing.assert_allclose(a["rate_percentiles"], np.percentile(rates, a["rate_percentile_levels"]),
                               rtol=1e-12)
    assert a["mean_rate_by_type"]["dynamic"] == pytest.approx(rates.mean())
    assert np.isnan(a["mean_rate_by_type"]["relay"])
    # Without homeostasis the branching ratio is the spike record's (multistep regression).
    assert a["branching_source"] == "spike_record"
    spikes = sim.spikes
    est = sg.analysis.branching_ratio(spikes.steps, spikes.nodes, bin_ms=4.0, first_step=0, end_step=300)
    assert a["branching_ratio"] == est["m"] and a["branching_quality"] == est["quality"]
    energy = sim.energy.astype(np.float64)
    assert a["energy_mean"] == pytest.approx(energy.mean())
    hist = np.histogram(np.clip(energy / a["energy_cap"], 0, 1), bins=32, range=(0, 1))[0]
    assert a["energy_histogram"].sum() == 400
    np.testing.assert_array_equal(a["energy_histogram"], hist)


def test_activity_metrics_with_homeostasis_and_energy() -> None:
    sim = active_sim(homeostasis={"enabled": True}, energy={"enabled": True})
    sim.run(200.0)
    a = sim.activity_metrics()
    assert a["rate_source"] == "rate"
    assert a["rate_mean"] == pytest.approx(sim.state("rate").astype(np.float64).mean(), rel=1e-9)
    h = sim.homeostasis
    if np.isnan(h["branching_ratio"]):
        assert a["branching_source"] != "homeostasis"
    else:
        assert a["branching_source"] == "homeostasis" and a["branching_ratio"] == h["branching_ratio"]
    assert a["synaptic_gain"] == h["synaptic_gain"]
    e = sim.energy.astype(np.float64)
    p = np.histogram(e, bins=32, range=(0, a["energy_cap"]))[0] / e.size
    entropy = -(p[p > 0] * np.log2(p[p > 0])).sum()
    assert a["energy_entropy_bits"] == pytest.approx(entropy, rel=1e-9)
    assert a["energy_variance"] == pytest.approx(e.var(), rel=1e-6)
    totals = sim.ledger_totals
    ledger = sim.ledger
    assert totals["steps"] == 200
    for key in ("spike_cost", "metabolism", "flow_out", "overflow"):
        assert totals[key] == pytest.approx(ledger[key].sum(), rel=1e-12)
    assert totals["final_total"] == ledger["total_after"][-1]
    assert abs(totals["error"]) < 1e-3
    assert a["ledger"]["spike_cost"] == totals["spike_cost"]


def test_metrics_history() -> None:
    sim = active_sim(metrics={"interval": 25.0}, energy={"enabled": True})
    assert "graph" in sim.service_names()
    sim.run(110.0)
    history = sim.metrics_history()
    assert [s["step"] for s in history] == [24, 49, 74, 99]
    assert history[0]["graph"] is None and history[0]["validation"] is None
    assert history[-1]["activity"]["ledger"]["steps"] == 100
    assert history[-1]["activity"]["rate_source"] == "spike_record"
    sim.clear_metrics_history()
    assert sim.metrics_history() == []

    sim = active_sim(metrics={"interval": 50.0, "structure": True, "samples": 10})
    sim.run(100.0)
    history = sim.metrics_history()
    assert len(history) == 2
    assert history[0]["validation"]["ok"]
    g = history[0]["graph"]
    assert g["path_sources"] == 10 and g["nodes"] == 400
    assert "weak_component" not in g and "weak_component_sizes" in g
    assert isinstance(g["in_degree_histogram"], np.ndarray)
