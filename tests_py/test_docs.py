"""The documentation that is generated from the code stays in step with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import spikegraph as sg
from spikegraph import _core

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_configuration_reference_matches_the_schema() -> None:
    doc = (DOCS / "configuration.md").read_text(encoding="utf-8")
    table = doc[doc.index("| key | type |"):]
    assert table == _core.schema_markdown(), (
        "docs/configuration.md is out of date: regenerate its table with `spikegraph schema`"
    )


@pytest.mark.parametrize("key", [p["key"] for p in sg.schema()])
def test_every_key_is_documented(key: str) -> None:
    assert f"`{key}`" in (DOCS / "configuration.md").read_text(encoding="utf-8")
