"""examples/quickstart.ipynb runs from top to bottom (nbclient, a fresh kernel)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs() -> None:
    if os.environ.get("SPIKEGRAPH_CI"):  # CI installs them: the notebook must run there
        for name in ("nbformat", "nbclient", "ipykernel"):
            __import__(name)
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for o in cell.get("outputs", []))
    assert "nodes," in text and "mean rate" in text and "m = " in text and "relay rate" in text
