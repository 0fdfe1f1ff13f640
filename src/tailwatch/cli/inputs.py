"""Checks of the input files a command is given, before any work: a clear error (exit code 2)
for a path that does not exist, is a directory where a file is wanted, or cannot be read."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def input_problem(path: Path, *, allow_dir: bool = False) -> str | None:
    """Why ``path`` cannot be read as an input file (None when it can)."""
    if not path.exists():
        return f"{path}: no such file" + (" or directory" if allow_dir else "")
    if path.is_dir():
        if allow_dir:
            return None if os.access(path, os.R_OK | os.X_OK) else f"{path}: permission denied"
        return f"{path}: is a directory (give the files in it, e.g. {path}/*)"
    if not path.is_file():
        return f"{path}: not a regular file"
    if not os.access(path, os.R_OK):
        return f"{path}: permission denied"
    return None


def check_inputs(paths: Iterable[Path], *, allow_dir: bool = False) -> None:
    """Exit with code 2 and a one-line error at the first input that cannot be read."""
    from tailwatch.cli.main import fail

    for p in paths:
        problem = input_problem(p, allow_dir=allow_dir)
        if problem is not None:
            fail(problem, 2)
