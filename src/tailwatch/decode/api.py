"""The public decoding API: ``decode`` over batches, ``decode_one`` for a single message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import DecodeError
from tailwatch.core.frames import FRAME_WIDTH, FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import MESSAGE_FIELD_BY_NAME, MESSAGE_FIELDS
from tailwatch.decode import kernels
from tailwatch.decode.batch import MessageBatch
from tailwatch.decode.commb import fill_acas_mv, fill_commb

FrameInput = FrameBatch | Sequence[str] | Sequence[bytes] | npt.NDArray[np.uint8]


def decode(
    frames: FrameInput,
    *,
    times: npt.ArrayLike | None = None,
    lengths: npt.ArrayLike | None = None,
    fix_errors: bool = True,
) -> MessageBatch:
    """Decode a batch of Mode S frames into columns.

    ``frames`` is a :class:`FrameBatch`, a sequence of hex strings or of bytes, or an (N, 14)
    uint8 array (left-aligned) with ``lengths`` in bytes. ``times`` are seconds since the UNIX
    epoch (UTC). Bad frames never raise: they are dropped and counted in ``batch.rejects``
    (``bad_hex``, ``bad_length``, ``unknown_df``, ``bad_crc``, ``mode_ac``), so that
    ``batch.n_in == len(batch) + batch.rejects.total_rejected()``. ``fix_errors`` enables single-bit
    correction of DF17/18 (counted in the ``corrected`` column).
    """
    fb = _as_frames(frames, times=times, lengths=lengths)
    return decode_frames(fb, fix_errors=fix_errors)


def decode_frames(fb: FrameBatch, *, fix_errors: bool = True) -> MessageBatch:
    """Decode a FrameBatch (the pipeline's entry point)."""
    n = len(fb)
    status = np.empty(n, dtype=np.int8)
    df = np.zeros(n, dtype=np.uint8)
    icao = np.zeros(n, dtype=np.uint32)
    crc_ok = np.zeros(n, dtype=np.bool_)
    fixbit = np.empty(n, dtype=np.int16)
    kernels.classify(fb.raw, fb.nbytes, fix_errors, status, df, icao, crc_ok, fixbit)

    rejects = Rejects(fb.rejects)
    counts = np.bincount(status.astype(np.int64), minlength=len(kernels.REJECT_REASONS))
    for code, reason in enumerate(kernels.REJECT_REASONS):
        if code and counts[code]:
            rejects[reason] += int(counts[code])

    keep: npt.NDArray[np.intp] | None = None
    if counts[0] == n:  # every frame accepted: share the columns, copy only to fix bits
        kept = replace(fb, rejects=Rejects())
    else:
        keep = np.flatnonzero(status == kernels.OK)
        kept = fb.take(keep)
        df, icao, crc_ok, fixbit = df[keep], icao[keep], crc_ok[keep], fixbit[keep]
    m = len(kept)
    fixed = fixbit >= 0
    if fixed.any():
        if kept.raw is fb.raw:
            kept.raw = fb.raw.copy()
        kernels.apply_fixes(kept.raw, fixbit)

    fmat = np.full((kernels.N_FLOAT, m), np.nan, dtype=np.float32)
    imat = np.full((kernels.N_INT, m), -1, dtype=np.int32)
    bds = np.zeros(m, dtype=np.uint8)
    category = np.zeros(m, dtype=np.uint8)
    callsign = np.zeros(m, dtype="S8")
    cs_bytes = callsign.view(np.uint8).reshape(m, 8)
    kernels.fill_fields(kept.raw, df, fmat, imat, bds, category, cs_bytes)

    cols: dict[str, np.ndarray] = {
        "t": kept.t_rx,
        "icao24": icao,
        "df": df,
        "crc_ok": crc_ok,
        "corrected": fixed,
        "bds": bds,
        "category": category,
        "callsign": callsign,
    }
    for i, name in enumerate(kernels.FLOAT_ROWS):
        cols[name] = fmat[i]
    for i, name in enumerate(kernels.INT_ROWS):
        cols[name] = imat[i]
    fill_commb(kept.raw, (df == 20) | (df == 21), cols)
    fill_acas_mv(kept.raw, df == 16, cols)
    for name in kernels.INT_ROWS:
        cols[name] = cols[name].astype(MESSAGE_FIELD_BY_NAME[name].np_dtype)
    ordered = {f.name: cols[f.name] for f in MESSAGE_FIELDS}
    kept.rejects = Rejects()
    return MessageBatch(ordered, kept, rejects, n + fb.rejects.total_rejected(), keep)


def decode_one(message: str | bytes, *, fix_errors: bool = False) -> dict[str, Any]:
    """Decode one message given as hex (or bytes) into a dict of the fields it holds.

    Raises :class:`DecodeError` saying what is wrong: not hex, bad length, unknown downlink
    format, or failed parity. Built on the batch path.
    """
    if isinstance(message, bytes | bytearray):
        data = bytes(message)
    else:
        text = message.strip()
        if text.startswith(("*", "@", "%", "<", ":")) or text.endswith(";"):
            raise DecodeError(f"{message!r}: pass the bare hex frame, not an AVR line")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise DecodeError(f"{message!r} is not hexadecimal") from None
    if len(data) not in (7, 14):
        raise DecodeError(
            f"a Mode S frame is 7 or 14 bytes (14 or 28 hex digits), got {len(data)} bytes"
        )
    batch = decode([data], fix_errors=fix_errors)
    if len(batch) == 1:
        return next(batch.records())
    reason = next(iter(batch.rejects), "rejected")
    df = data[0] >> 3
    detail = {
        "unknown_df": f"unknown downlink format DF{df}",
        "bad_length": f"DF{df} needs {'14' if df >= 16 else '7'} bytes, got {len(data)}",
        "bad_crc": f"parity check failed for DF{df}",
    }.get(reason, reason)
    raise DecodeError(detail)


def _as_frames(
    frames: FrameInput, *, times: npt.ArrayLike | None, lengths: npt.ArrayLike | None
) -> FrameBatch:
    if isinstance(frames, FrameBatch):
        if times is not None:
            frames.t_rx = np.asarray(times, dtype=np.float64).reshape(-1)
        return frames
    if isinstance(frames, np.ndarray):
        if frames.ndim != 2 or frames.shape[1] != FRAME_WIDTH:
            raise ValueError(f"a frame array must be (N, {FRAME_WIDTH}) uint8, got {frames.shape}")
        nb = np.full(frames.shape[0], FRAME_WIDTH, np.uint8) if lengths is None else lengths
        return FrameBatch.from_matrix(frames, nb, t_rx=times)
    seq = list(frames)
    if seq and isinstance(seq[0], bytes | bytearray):
        return FrameBatch.from_bytes([bytes(x) for x in seq], t_rx=times)  # type: ignore[arg-type]
    return FrameBatch.from_hex(seq, t_rx=times)  # type: ignore[arg-type]
