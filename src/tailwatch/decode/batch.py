"""MessageBatch: decoded messages as columns (numpy), with Arrow and record views at the edges."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tailwatch.core.frames import FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import (
    MESSAGE_FIELD_BY_NAME,
    MESSAGE_FIELD_NAMES,
    MESSAGE_FIELDS,
    Field,
    format_bds,
    format_category,
    icao_hex_matrix,
    valid_mask,
)

_CATEGORY_LABELS = ["" if c < 8 else format_category(c) for c in range(40)]
_BDS_LABELS = ["" if c == 0 else format_bds(c) for c in range(256)]


@dataclass(slots=True)
class MessageBatch:
    """Decoded messages, one row per accepted frame.

    ``batch["gs_kt"]`` is a numpy array per field of :data:`tailwatch.core.schema.MESSAGE_FIELDS`
    (NaN or the field's null sentinel where absent; ``batch.valid(name)`` gives the mask).
    ``frames`` holds the accepted frames (corrected where a bit was fixed), row-aligned.
    ``rejects`` counts the dropped inputs by reason:
    ``n_in == len(batch) + rejects.total_rejected()``.
    ``index``: the row of the input FrameBatch each message came from (``None`` when every
    frame was kept, in order), to carry per-frame values such as receiver counts.
    """

    columns: dict[str, np.ndarray]
    frames: FrameBatch
    rejects: Rejects = field(default_factory=Rejects)
    n_in: int = 0
    index: npt.NDArray[np.intp] | None = None

    def __len__(self) -> int:
        return int(self.columns["df"].shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.names)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    @property
    def names(self) -> tuple[str, ...]:
        return MESSAGE_FIELD_NAMES

    def valid(self, name: str) -> npt.NDArray[np.bool_]:
        """Rows where column ``name`` holds a value."""
        return valid_mask(MESSAGE_FIELD_BY_NAME[name], self[name])

    def take(self, idx: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> MessageBatch:
        base = np.arange(len(self)) if self.index is None else self.index
        return MessageBatch(
            {k: v[idx] for k, v in self.columns.items()},
            self.frames.take(idx),
            Rejects(),
            0,
            base[idx],
        )

    def to_arrow(self) -> pa.Table:
        """A pyarrow Table with public representations: icao24 as 6 lowercase hex digits,
        squawk as 4 digits, callsign without padding, enumerations as labels; nulls where absent."""
        return fields_to_arrow(MESSAGE_FIELDS, self.columns)

    def records(self) -> Iterator[dict[str, Any]]:
        """One dict per message with only the fields that hold a value (for JSON output).
        float32 values are given as the shortest decimal that reads back to the same float32
        (159.20113, not 159.2011260986328)."""
        table = self.to_arrow()
        columns: list[list[Any]] = []
        for f in MESSAGE_FIELDS:
            col = self.columns[f.name]
            if col.dtype == np.float32:
                vals = col.astype(str).astype(np.float64).tolist()
                columns.append([None if v != v else v for v in vals])
            else:
                columns.append(table.column(f.name).to_pylist())
        names = MESSAGE_FIELD_NAMES
        for row in zip(*columns, strict=True):
            yield {k: v for k, v in zip(names, row, strict=True) if v is not None}


def fields_to_arrow(fields: tuple[Field, ...], columns: dict[str, np.ndarray]) -> pa.Table:
    """Numpy columns of a schema table → Arrow with public representations and nulls."""
    arrays = [_to_arrow(f, columns[f.name]) for f in fields]
    return pa.Table.from_arrays(arrays, names=[f.name for f in fields])


def icao_strings(addr: npt.NDArray[np.uint32]) -> npt.NDArray[np.bytes_]:
    """Addresses → '4840d6'; non-ICAO addresses (bit 24 set by the tracker) → '~4840d6'."""
    a = np.asarray(addr, dtype=np.uint32)
    base = hex6(a & np.uint32(0xFFFFFF))
    other = (a >> 24) & 1
    if not other.any():
        return base
    return np.where(other == 1, np.char.add(b"~", base), base.astype("S7"))


def hex6(addr: npt.NDArray[np.uint32]) -> npt.NDArray[np.bytes_]:
    """uint32 addresses → fixed-width lowercase 6-hex-digit byte strings (vectorised)."""
    return np.ascontiguousarray(icao_hex_matrix(addr)).view("S6").reshape(-1)


def _squawk_strings(code: npt.NDArray[np.int16]) -> npt.NDArray[np.bytes_]:
    c = np.where(code < 0, 0, code).astype(np.int32)
    digits = np.stack([c // 1000, c // 100 % 10, c // 10 % 10, c % 10], axis=1) + 48
    return np.ascontiguousarray(digits.astype(np.uint8)).view("S4").reshape(-1)


def _dictionary(codes: np.ndarray, labels: list[str], mask: np.ndarray) -> pa.Array:
    idx = pa.array(codes.astype(np.int16), mask=~mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(labels, pa.string()))


def _to_arrow(f: Field, col: np.ndarray) -> pa.Array:
    mask = valid_mask(f, col)
    if f.kind == "icao":
        return pa.array(icao_strings(col)).cast(pa.string())
    if f.kind == "squawk":
        return pa.array(_squawk_strings(col), mask=~mask).cast(pa.string())
    if f.kind == "bytes":
        return pa.array(col, mask=~mask).cast(pa.string())
    if f.kind == "category":
        return _dictionary(col, _CATEGORY_LABELS, mask)
    if f.kind == "bds":
        return _dictionary(col, _BDS_LABELS, mask)
    if f.kind == "enum":
        return _dictionary(col, list(f.labels), mask)
    if f.kind == "float":
        return pa.array(col, mask=~mask)
    if f.kind == "bool" or f.null is None:
        return pa.array(col)
    return pa.array(col, mask=~mask)
