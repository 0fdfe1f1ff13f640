"""`tailwatch serve --tar1090 DIR` hands the folder to the server; the resolver reads the
store's aircraft database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tailwatch.cli.main import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TAILWATCH_DATA_DIR", str(tmp_path / "data"))
    from tailwatch.store import open_store

    path = tmp_path / "h.duckdb"
    open_store(str(path)).close()
    return path


def _capture(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_serve(state: Any, settings: Any = None, limits: Any = None, *,
                   routers: Any = (), tar1090_dir: Path | None = None) -> None:
        seen.update(state=state, tar1090_dir=tar1090_dir)

    monkeypatch.setattr("tailwatch.serve.server.serve", fake_serve)
    return seen


def test_serve_passes_the_tar1090_folder(db: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    html = tmp_path / "tar1090" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<html></html>")
    (html / "script.js").write_text("")
    seen = _capture(monkeypatch)
    assert main(["serve", "--db", str(db), "--tar1090", str(html)]) == 0
    assert seen["tar1090_dir"] == html
    assert seen["state"].identity.db_source is not None  # the store's aircraft database


def test_serve_without_tar1090(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _capture(monkeypatch)
    assert main(["serve", "--db", str(db)]) == 0
    assert seen["tar1090_dir"] is None


def test_serve_refuses_a_folder_that_is_not_tar1090(db: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    seen = _capture(monkeypatch)
    assert main(["serve", "--db", str(db), "--tar1090", str(tmp_path)]) != 0
    assert not seen
