"""Regenerate the table of docs/configuration.md from the schema of the installed build:
``python docs/update_configuration.py`` (tests_py/test_docs.py checks it is current)."""

from pathlib import Path

from spikegraph import _core

doc = Path(__file__).with_name("configuration.md")
text = doc.read_text(encoding="utf-8")
doc.write_text(text[: text.index("| key | type |")] + _core.schema_markdown(), encoding="utf-8")
