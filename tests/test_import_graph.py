"""No import cycle anywhere in `app/`: neither between modules nor between the packages of
any one parent (contexts, layers, surfaces), `TYPE_CHECKING` imports included."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import grimp
import pytest


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app")


def test_no_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    order = TopologicalSorter(
        {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    )
    try:
        order.prepare()
    except CycleError as e:
        # graphlib lists each module before the one that imports it.
        pytest.fail(f"import cycle: {' imports '.join(reversed(e.args[1]))}")


def test_no_cycle_between_sibling_packages(graph: grimp.ImportGraph) -> None:
    """Each package's children, subpackages squashed into one node each: the imports that
    would have to go for them to form no cycle (none, for every package)."""
    packages = sorted(m for m in graph.modules if graph.find_children(m))
    assert "app.domain" in packages
    breakers = {p: graph.nominate_cycle_breakers(p) for p in packages}
    assert {p: sorted(b) for p, b in breakers.items() if b} == {}
