"""Frames → radio samples: unsigned 8-bit I/Q at 2.4 MS/s, as an RTL-SDR records 1090 MHz.

Mode S replies are pulse-position modulated (ICAO Annex 10 Vol IV §3.1.2): an 8 µs
preamble with 0.5 µs pulses starting at 0, 1.0, 3.5 and 4.5 µs, then one bit per
microsecond from 8 µs — a pulse in the first half of the bit period is a 1, in the second
half a 0. Here each pulse is a rectangle of amplitude ``amplitude`` (in ADC counts around the
127.5 mid-point) integrated over each 1/2.4 µs sample (a pulse covers 1.2 samples, so its
edges fall between samples at all five sub-sample phases), on a carrier at
``carrier_offset_hz`` from the tuner frequency, plus Gaussian noise of ``noise`` counts per
component. The result is what ``dump1090 --ifile FILE`` (format UC8, the default) reads:
interleaved I, Q bytes.

:func:`modulate` places the frames one after the other with ``gap_us`` of silence between
them (or at the times given) and returns the samples and where each frame starts, in samples;
a demodulator's 12 MHz time stamps (5 ticks per sample at 2.4 MS/s) can be checked against
those starts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FrameBatch

__all__ = ["SAMPLE_RATE_HZ", "frame_duration_us", "modulate", "pulse_envelope"]

SAMPLE_RATE_HZ = 2_400_000
_SPS_PER_US = SAMPLE_RATE_HZ / 1e6  # 2.4 samples per microsecond
PREAMBLE_US = (0.0, 1.0, 3.5, 4.5)
PULSE_US = 0.5


def frame_duration_us(nbytes: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Preamble + data: 8 µs + 1 µs per bit (64 µs short, 120 µs long replies)."""
    return 8.0 + 8.0 * nbytes.astype(np.float64)


def _frame_bits(fb: FrameBatch) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    bits = np.unpackbits(np.ascontiguousarray(fb.raw), axis=1)  # (N, 112)
    present = np.arange(bits.shape[1])[None, :] < (8 * fb.nbytes.astype(np.int64))[:, None]
    return bits, present


def pulse_envelope(fb: FrameBatch, starts_us: npt.NDArray[np.float64],
                   n_samples: int) -> npt.NDArray[np.float64]:
    """Pulse amplitude (0..1) of every sample: each 0.5 µs pulse integrated over the samples
    it covers."""
    bits, present = _frame_bits(fb)
    n_bits = bits.shape[1]
    bit_idx = np.arange(n_bits, dtype=np.float64)[None, :]
    data_start = starts_us[:, None] + 8.0 + bit_idx + np.where(bits == 1, 0.0, 0.5)
    pre = starts_us[:, None] + np.asarray(PREAMBLE_US)[None, :]
    pulse_us = np.concatenate([pre.reshape(-1), data_start[present]])
    s = pulse_us * _SPS_PER_US  # pulse start, in samples
    e = s + PULSE_US * _SPS_PER_US
    env = np.zeros(n_samples + 4, dtype=np.float64)
    k0 = np.floor(s).astype(np.int64)
    for j in range(3):  # a 1.2-sample pulse touches at most 3 samples
        k = k0 + j
        lo = np.maximum(s, k)
        hi = np.minimum(e, k + 1)
        w = np.clip(hi - lo, 0.0, None)
        np.add.at(env, k, w)
    return np.minimum(env[:n_samples], 1.0)


def modulate(
    frames: FrameBatch, *, gap_us: float = 100.0, lead_us: float = 200.0,
    tail_us: float = 20_000.0, starts_us: npt.ArrayLike | None = None,
    amplitude: float = 90.0, noise: float = 2.0, carrier_offset_hz: float = 50_000.0,
    seed: int = 0,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Frames → (interleaved I/Q uint8 samples, start sample of each frame).

    Frames follow each other with ``gap_us`` between the end of one and the preamble of the
    next, after ``lead_us`` of noise; ``tail_us`` of noise ends the file (so that a
    block-wise demodulator sees the last frame well inside a block). ``starts_us`` places
    them explicitly instead (µs from the start of the file; they must not overlap)."""
    n = len(frames)
    dur = frame_duration_us(frames.nbytes)
    if starts_us is None:
        starts = lead_us + np.concatenate([[0.0], np.cumsum(dur[:-1] + gap_us)]) if n else \
            np.zeros(0)
    else:
        starts = np.asarray(starts_us, dtype=np.float64).reshape(-1)
        if starts.shape[0] != n:
            raise ValueError(f"{starts.shape[0]} start times for {n} frames")
        if n > 1 and np.any(starts[1:] < starts[:-1] + dur[:-1]):
            raise ValueError("frames overlap: starts_us must leave each frame its duration")
    end_us = float((starts + dur).max()) if n else lead_us
    n_samples = int(np.ceil((end_us + tail_us) * _SPS_PER_US))
    env = pulse_envelope(frames, starts, n_samples)
    rng = np.random.default_rng(seed)
    phase = 2.0 * np.pi * carrier_offset_hz / SAMPLE_RATE_HZ * np.arange(n_samples)
    phase += rng.uniform(0, 2 * np.pi)
    iq = np.empty((n_samples, 2), dtype=np.float64)
    iq[:, 0] = 127.5 + amplitude * env * np.cos(phase)
    iq[:, 1] = 127.5 + amplitude * env * np.sin(phase)
    if noise > 0:
        iq += rng.normal(0.0, noise, size=iq.shape)
    out = np.clip(np.rint(iq), 0, 255).astype(np.uint8).reshape(-1)
    start_samples = np.floor(starts * _SPS_PER_US).astype(np.int64)
    return out, start_samples
