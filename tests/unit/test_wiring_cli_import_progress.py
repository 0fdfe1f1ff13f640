"""``tailwatch import`` shows a progress line (source, rows read, time) on stderr when it is a
terminal, and none with --quiet or when stderr is not a terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from _history_data import trace_doc, write_trace
from rich.console import Console

from tailwatch.cli import history_cmd
from tailwatch.cli import main as cli_main

BAR = re.compile(r"import (\d[\d,]*) rows")


def _import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, terminal: bool,
            extra: list[str]) -> str:
    traces = tmp_path / "traces"
    write_trace(traces / "e0" / "trace_full_1551e0.json", trace_doc("1551e0"))
    write_trace(traces / "73" / "trace_full_154073.json", trace_doc("154073"))
    buf = io.StringIO()
    monkeypatch.setattr(cli_main, "err", Console(file=buf, force_terminal=terminal, width=120))
    cli_main._register()
    history_cmd.register(cli_main.app)
    db = str(tmp_path / "h.duckdb")
    assert cli_main.main(["import", str(traces), "--db", db, "--no-detect", *extra]) == 0
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())  # without the colours


def test_import_reports_progress_on_a_terminal(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = _import(tmp_path, monkeypatch, terminal=True, extra=[])
    rows = [int(m.replace(",", "")) for m in BAR.findall(out)]
    read = re.search(r"\(([\d,]+) read, ([\d,]+) rows\)", out)
    assert read is not None, out
    assert rows and max(rows) == int(read.group(2).replace(",", ""))  # the bar's last count
    assert "traces" in out  # the source being read


@pytest.mark.parametrize(("terminal", "extra"), [(True, ["--quiet"]), (False, [])])
def test_no_progress_when_quiet_or_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool, extra: list[str]
) -> None:
    out = _import(tmp_path, monkeypatch, terminal=terminal, extra=extra)
    assert not BAR.search(out)
    assert "imported" in out  # the report itself is still printed
