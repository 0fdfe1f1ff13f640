"""``tailwatch decode``: decode recorded frames to JSON lines, CSV or Parquet."""

from __future__ import annotations

import json
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer

from tailwatch.core.errors import FormatError
from tailwatch.core.rejects import Rejects
from tailwatch.decode.api import decode_frames
from tailwatch.decode.batch import MessageBatch


class InputFormat(StrEnum):
    auto = "auto"
    beast = "beast"
    avr = "avr"
    hexcsv = "hexcsv"
    jsonl = "jsonl"


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


def plain_table(table: pa.Table) -> pa.Table:
    """Dictionary columns → plain strings (for CSV and for readers that want flat types)."""
    cols = [
        c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.Table.from_arrays(cols, names=table.column_names)


class Writer:
    """Streams MessageBatches to one output in one format."""

    def __init__(self, fmt: OutputFormat, out: Path | None) -> None:
        self.fmt = fmt
        self.out = out
        self._fh: IO[Any] | None = None
        self._pq: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None

    def write(self, batch: MessageBatch) -> None:
        if len(batch) == 0:
            return
        if self.fmt is OutputFormat.jsonl:
            fh = self._text()
            fh.writelines(json.dumps(rec, separators=(",", ":")) + "\n" for rec in batch.records())
            return
        table = plain_table(batch.to_arrow())
        if self.fmt is OutputFormat.csv:
            if self._csv is None:
                sink = self.out if self.out else sys.stdout.buffer
                self._csv = pacsv.CSVWriter(sink, table.schema)
            self._csv.write_table(table)
        else:
            if self._pq is None:
                assert self.out is not None
                self._pq = pq.ParquetWriter(self.out, table.schema, compression="zstd")
            self._pq.write_table(table)

    def _text(self) -> IO[str]:
        if self._fh is None:
            self._fh = open(self.out, "w") if self.out else sys.stdout  # noqa: SIM115
        return self._fh

    def _empty_table(self) -> pa.Table:
        from tailwatch.core.frames import FrameBatch

        return plain_table(decode_frames(FrameBatch.empty()).to_arrow())

    def close(self) -> None:
        """Flush and close; an output file given but never written is created empty (a
        header for CSV, the schema for Parquet), replacing what was there."""
        if self.out is not None and self._fh is None and self._csv is None and self._pq is None:
            if self.fmt is OutputFormat.jsonl:
                self._text()
            elif self.fmt is OutputFormat.csv:
                self._csv = pacsv.CSVWriter(self.out, self._empty_table().schema)
            else:
                self._pq = pq.ParquetWriter(self.out, self._empty_table().schema,
                                            compression="zstd")
        if self._csv is not None:
            self._csv.close()
        if self._pq is not None:
            self._pq.close()
        if self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()
        elif self._fh is not None:
            self._fh.flush()


def register(app: typer.Typer) -> None:
    @app.command("decode")
    def decode(
        files: list[Path] = typer.Argument(..., help="Recorded frames (gzip is read as is)."),
        fmt: InputFormat = typer.Option(InputFormat.auto, "--format", "-f", help="Input format."),
        output: OutputFormat = typer.Option(OutputFormat.jsonl, "--output", "-o",
                                            help="Output format."),
        out: Path | None = typer.Option(None, "--out", help="Output file (default: stdout; "
                                        "required for parquet)."),
        no_fix: bool = typer.Option(False, "--no-fix", help="Disable single-bit correction."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary on stderr."),
    ) -> None:
        """Decode recorded Mode S frames: Beast binary, AVR text, CSV of timestamp,hexmsg, or
        JSON lines with frame/timestamp. One record per accepted message; a summary of counts
        and rejects goes to stderr."""
        from tailwatch.cli.inputs import check_inputs
        from tailwatch.cli.main import err, fail
        from tailwatch.ingest.files import read_frames

        if output is OutputFormat.parquet and out is None:
            fail("--output parquet needs --out FILE", 2)
        check_inputs(files)
        if out is not None and out.is_dir():
            fail(f"--out {out}: is a directory", 2)
        writer = Writer(output, out)
        frames_in = 0
        accepted = 0
        rejects = Rejects()
        dfs: Counter[int] = Counter()
        aircraft: set[int] = set()
        try:
            for path in files:
                try:
                    for fb in read_frames(path, fmt.value):
                        batch = decode_frames(fb, fix_errors=not no_fix)
                        frames_in += batch.n_in
                        accepted += len(batch)
                        rejects.merge(batch.rejects)
                        ok = batch["crc_ok"]
                        aircraft.update(np.unique(batch["icao24"][ok]).tolist())
                        values, counts = np.unique(batch["df"], return_counts=True)
                        dfs.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
                        writer.write(batch)
                except FormatError as e:
                    fail(str(e) if str(e).startswith(str(path)) else f"{path}: {e}")
        except BrokenPipeError:
            return
        except OSError as e:  # the output cannot be written (disk full, permissions)
            fail(f"{out or 'stdout'}: cannot write: {e.strerror or e}")
        finally:
            writer.close()
        if not quiet:
            err.print(
                f"decoded {accepted:,} of {frames_in:,} frames from {len(files)} file(s); "
                f"{len(aircraft):,} aircraft (parity-checked)"
            )
            if dfs:
                err.print("by DF: " + ", ".join(f"DF{k}: {v:,}" for k, v in sorted(dfs.items())))
            if rejects:
                err.print("rejected: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(
                    rejects.items())))
