"""Issue 8 §5: docs/config.md is the schema's reference, regenerated, never hand-edited."""

from __future__ import annotations

from pathlib import Path

from tracker.config.reference import reference
from tracker.config.schema import ClusterConfig

DOC = Path(__file__).resolve().parent.parent / "docs" / "config.md"


def test_docs_config_md_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == reference(), (
        "docs/config.md is out of date: run `python -m tracker.config.reference > docs/config.md`"
    )


def test_every_top_level_key_is_in_the_reference() -> None:
    text = reference()
    for name in ClusterConfig.model_fields:
        assert f"[{name}]" in text, name
