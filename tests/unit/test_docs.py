"""Generated documentation stays current."""

from __future__ import annotations

from pathlib import Path

from tailwatch.config import settings_markdown
from tailwatch.core.schema import MESSAGE_FIELDS, fields_markdown

DOCS = Path(__file__).parents[2] / "docs"


def test_configuration_page_lists_every_setting() -> None:
    assert settings_markdown() in (DOCS / "configuration.md").read_text()


def test_formats_page_lists_every_decoded_field() -> None:
    assert fields_markdown(MESSAGE_FIELDS) in (DOCS / "formats.md").read_text()
