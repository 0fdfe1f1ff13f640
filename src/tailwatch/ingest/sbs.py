"""SBS / BaseStation ``MSG`` lines (port 30003): an incremental, pure parser and a writer.

A line has 22 comma-separated fields (BaseStation "Barebones42" socket data, as readsb
writes it)::

    MSG,<type 1-8>,<session>,<aircraft id>,<hex>,<flight id>,<date gen>,<time gen>,
    <date logged>,<time logged>,<callsign>,<altitude>,<gs>,<track>,<lat>,<lon>,<vrate>,
    <squawk>,<alert>,<emergency>,<spi>,<on ground>

Columns (names and dtypes from :data:`tailwatch.core.schema.MESSAGE_FIELDS` where they exist):
``t`` (generated date/time read as UTC; the logged date/time when it is empty), ``icao24``,
``callsign``, ``altitude_ft`` and ``altitude_source`` (readsb's ``H`` suffix = GNSS),
``gs_kt``, ``track_deg``, ``vrate_fpm`` and ``vrate_source``, ``squawk``, ``alert``,
``emergency``, ``spi``, ``on_ground``; plus ``lat``/``lon`` (float64 degrees), ``sbs_type``
(int8, the MSG type), ``non_icao`` (bool, readsb's ``~`` before the hex address) and
``mlat`` (bool: the line was an ``MLAT`` record).

``MLAT`` lines — the same 22 fields with ``MLAT`` in place of ``MSG``, as readsb, dump1090-fa
and tailwatch's own SBS output write multilaterated positions — are parsed like ``MSG``
lines with ``mlat`` set; :func:`mark_mlat` gives their state vectors the source ``mlat``, so
the tracker ranks them as MLAT (below ADS-B) rather than as a decoded feed.

Flags are ``-1`` (true) and ``0`` (false); any other value is taken as absent, because
mlat-server reuses fields 19 and 20 for a receiver count and an error estimate. The SBS
emergency flag becomes the ``emergency`` code: 0 (none) when false; when true, 5 (unlawful),
4 (nordo) or 1 (general) for squawks 7500, 7600 and 7700, otherwise 1 (general).

Rejects (unit: lines): ``sbs_bad_line`` for lines that are not 22 well-formed fields with a
known record type; ``sbs_sel``, ``sbs_id``, ``sbs_air``, ``sbs_sta``, ``sbs_clk`` for the
non-MSG BaseStation records, which carry nothing for us. Blank lines (readsb's heartbeat is
``\\r\\n``) are skipped silently. Lines end with LF, CR or CRLF; the bytes after the last
line end are left unconsumed unless ``final=True``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import MESSAGE_FIELD_BY_NAME, SOURCE_LABELS
from tailwatch.ingest.avr import HEX_VALUE
from tailwatch.ingest.beast import _as_array
from tailwatch.track.states import StateBatch

__all__ = ["SBS_COLUMNS", "encode_sbs", "mark_mlat", "parse_sbs"]

# Columns of parse_sbs, in order, with their dtypes.
_EXTRA_DTYPES = {"lat": "float64", "lon": "float64", "sbs_type": "int8", "non_icao": "bool",
                 "mlat": "bool"}
SBS_COLUMNS: tuple[str, ...] = (
    "t",
    "icao24",
    "sbs_type",
    "non_icao",
    "callsign",
    "altitude_ft",
    "altitude_source",
    "gs_kt",
    "track_deg",
    "lat",
    "lon",
    "vrate_fpm",
    "vrate_source",
    "squawk",
    "alert",
    "emergency",
    "spi",
    "on_ground",
    "mlat",
)

# Float matrix columns (kernel side).
_F_T, _F_ALT, _F_GS, _F_TRACK, _F_LAT, _F_LON, _F_VRATE = range(7)
_NF = 7
# Integer matrix columns (kernel side).
(
    _I_TYPE,
    _I_ICAO,
    _I_NONICAO,
    _I_ALTSRC,
    _I_VRSRC,
    _I_SQUAWK,
    _I_ALERT,
    _I_EMERG,
    _I_SPI,
    _I_GROUND,
    _I_MLAT,
) = range(11)
_NI = 11
_REJECT_NAMES = ("sbs_bad_line", "sbs_sel", "sbs_id", "sbs_air", "sbs_sta", "sbs_clk")
_KIND_MLAT = 6
_NFIELDS = 22
_MLAT_SOURCE = SOURCE_LABELS.index("mlat")
_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)


@nb.njit(cache=True, error_model="numpy")
def _is_space(c: int) -> bool:
    return c == 0x20 or c == 0x09


@nb.njit(cache=True, error_model="numpy")
def _parse_number(
    buf: npt.NDArray[np.uint8], s: int, e: int, pow10: npt.NDArray[np.float64]
) -> tuple[bool, float]:
    """Decimal number ``[+-]digits[.digits][(e|E)[+-]digits]`` in ``buf[s:e]``."""
    if s >= e:
        return False, 0.0
    neg = False
    if buf[s] == 0x2D or buf[s] == 0x2B:
        neg = buf[s] == 0x2D
        s += 1
    mant = np.int64(0)
    scale = 0
    ndig = 0
    seen_dot = False
    while s < e:
        c = buf[s]
        if 0x30 <= c <= 0x39:
            if mant < np.int64(100_000_000_000_000_000):
                mant = mant * 10 + (c - 0x30)
                if seen_dot:
                    scale += 1
            elif not seen_dot:
                scale -= 1
            ndig += 1
        elif c == 0x2E and not seen_dot:
            seen_dot = True
        else:
            break
        s += 1
    if ndig == 0:
        return False, 0.0
    if s < e and (buf[s] == 0x65 or buf[s] == 0x45):
        s += 1
        eneg = False
        if s < e and (buf[s] == 0x2D or buf[s] == 0x2B):
            eneg = buf[s] == 0x2D
            s += 1
        ex = 0
        nexp = 0
        while s < e and 0x30 <= buf[s] <= 0x39 and nexp < 4:
            ex = ex * 10 + (buf[s] - 0x30)
            s += 1
            nexp += 1
        if nexp == 0:
            return False, 0.0
        scale += -ex if eneg else ex
    if s != e:
        return False, 0.0
    v = float(mant)
    if scale > 0:
        v = v / pow10[scale] if scale < 23 else v * 10.0 ** (-scale)
    elif scale < 0:
        v = v * pow10[-scale] if -scale < 23 else v * 10.0 ** (-scale)
    return True, -v if neg else v


@nb.njit(cache=True, error_model="numpy")
def _digits(buf: npt.NDArray[np.uint8], s: int, k: int) -> int:
    """Value of ``k`` decimal digits at ``buf[s:]``, -1 if one is not a digit."""
    v = 0
    for i in range(k):
        c = buf[s + i]
        if c < 0x30 or c > 0x39:
            return -1
        v = v * 10 + (c - 0x30)
    return v


@nb.njit(cache=True, error_model="numpy")
def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@nb.njit(cache=True, error_model="numpy")
def civil_from_days(z: int) -> tuple[int, int, int]:
    """Inverse of :func:`days_from_civil`: (year, month, day)."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


@nb.njit(cache=True, error_model="numpy")
def _parse_datetime(
    buf: npt.NDArray[np.uint8], ds: int, de: int, ts: int, te: int, pow10: npt.NDArray[np.float64]
) -> tuple[int, float]:
    """``YYYY/MM/DD`` (or ``-``) and ``HH:MM:SS[.fff]`` → (status, seconds UTC);
    status 0 ok, 1 both empty, 2 malformed."""
    if ds == de and ts == te:
        return 1, np.nan
    if de - ds != 10 or te - ts < 8:
        return 2, np.nan
    sep = buf[ds + 4]
    if (sep != 0x2F and sep != 0x2D) or buf[ds + 7] != sep:
        return 2, np.nan
    y = _digits(buf, ds, 4)
    mo = _digits(buf, ds + 5, 2)
    d = _digits(buf, ds + 8, 2)
    if y < 0 or mo < 1 or mo > 12 or d < 1 or d > 31:
        return 2, np.nan
    if buf[ts + 2] != 0x3A or buf[ts + 5] != 0x3A:
        return 2, np.nan
    hh = _digits(buf, ts, 2)
    mi = _digits(buf, ts + 3, 2)
    ok, sec = _parse_number(buf, ts + 6, te, pow10)
    if hh < 0 or hh > 23 or mi < 0 or mi > 59 or not ok or sec < 0.0 or sec >= 61.0:
        return 2, np.nan
    if buf[ts + 6] < 0x30 or buf[ts + 6] > 0x39:
        return 2, np.nan
    days = days_from_civil(y, mo, d)
    return 0, days * 86400.0 + hh * 3600.0 + mi * 60.0 + sec


@nb.njit(cache=True, error_model="numpy")
def _flag(buf: npt.NDArray[np.uint8], s: int, e: int) -> int:
    """'-1' → 1, '0' → 0, anything else → -1 (absent)."""
    if e - s == 2 and buf[s] == 0x2D and buf[s + 1] == 0x31:
        return 1
    if e - s == 1 and buf[s] == 0x30:
        return 0
    return -1


@nb.njit(cache=True, error_model="numpy")
def _record_kind(buf: npt.NDArray[np.uint8], s: int, e: int) -> int:
    """0 MSG, 1 SEL, 2 ID, 3 AIR, 4 STA, 5 CLK, 6 MLAT, -1 unknown."""
    k = e - s
    if k == 2 and buf[s] == 0x49 and buf[s + 1] == 0x44:
        return 2
    if (k == 4 and buf[s] == 0x4D and buf[s + 1] == 0x4C and buf[s + 2] == 0x41
            and buf[s + 3] == 0x54):
        return _KIND_MLAT
    if k != 3:
        return -1
    a, b, c = buf[s], buf[s + 1], buf[s + 2]
    if a == 0x4D and b == 0x53 and c == 0x47:
        return 0
    if a == 0x53 and b == 0x45 and c == 0x4C:
        return 1
    if a == 0x41 and b == 0x49 and c == 0x52:
        return 3
    if a == 0x53 and b == 0x54 and c == 0x41:
        return 4
    if a == 0x43 and b == 0x4C and c == 0x4B:
        return 5
    return -1


@nb.njit(cache=True, error_model="numpy")
def _parse_msg(
    buf: npt.NDArray[np.uint8],
    fs: npt.NDArray[np.int64],
    fe: npt.NDArray[np.int64],
    hexv: npt.NDArray[np.uint8],
    pow10: npt.NDArray[np.float64],
    F: npt.NDArray[np.float64],
    I: npt.NDArray[np.int64],  # noqa: E741
    C: npt.NDArray[np.uint8],
) -> bool:
    """Fill one row (F, I, C are that row) from the 22 fields of a MSG line."""
    for j in range(F.shape[0]):
        F[j] = np.nan
    for j in range(I.shape[0]):
        I[j] = -1
    for j in range(8):
        C[j] = 0
    # 1: MSG type
    if fe[1] - fs[1] != 1:
        return False
    mt = buf[fs[1]] - 0x30
    if mt < 1 or mt > 8:
        return False
    I[_I_TYPE] = mt
    # 4: hex address, optional '~'
    s, e = fs[4], fe[4]
    I[_I_NONICAO] = 0
    if s < e and buf[s] == 0x7E:
        I[_I_NONICAO] = 1
        s += 1
    if e - s < 1 or e - s > 6:
        return False
    a = 0
    for q in range(s, e):
        v = hexv[buf[q]]
        if v == 255:
            return False
        a = a * 16 + v
    I[_I_ICAO] = a
    # 6-9: generated date/time, else logged date/time
    st, t = _parse_datetime(buf, fs[6], fe[6], fs[7], fe[7], pow10)
    if st == 2:
        return False
    if st == 1:
        st, t = _parse_datetime(buf, fs[8], fe[8], fs[9], fe[9], pow10)
        if st == 2:
            return False
    F[_F_T] = t
    # 10: callsign
    s, e = fs[10], fe[10]
    while e > s and buf[e - 1] == 0x20:
        e -= 1
    while s < e and buf[s] == 0x20:
        s += 1
    if e - s > 8:
        return False
    for q in range(s, e):
        C[q - s] = buf[q]
    # 11: altitude, 16: vertical rate (readsb --gnss adds 'H')
    for fi, fcol, icol in ((11, _F_ALT, _I_ALTSRC), (16, _F_VRATE, _I_VRSRC)):
        s, e = fs[fi], fe[fi]
        if s < e:
            src = 0
            if buf[e - 1] == 0x48:
                src = 1
                e -= 1
            ok, v = _parse_number(buf, s, e, pow10)
            if not ok:
                return False
            F[fcol] = v
            I[icol] = src
    # 12-15: gs, track, lat, lon
    for fi, fcol in ((12, _F_GS), (13, _F_TRACK), (14, _F_LAT), (15, _F_LON)):
        s, e = fs[fi], fe[fi]
        if s < e:
            ok, v = _parse_number(buf, s, e, pow10)
            if not ok:
                return False
            F[fcol] = v
    # 17: squawk, 1-4 octal digits
    s, e = fs[17], fe[17]
    if s < e:
        if e - s > 4:
            return False
        sq = 0
        for q in range(s, e):
            c = buf[q]
            if c < 0x30 or c > 0x37:
                return False
            sq = sq * 10 + (c - 0x30)
        I[_I_SQUAWK] = sq
    # 18-21: flags
    I[_I_ALERT] = _flag(buf, fs[18], fe[18])
    em = _flag(buf, fs[19], fe[19])
    if em == 1:
        sq = I[_I_SQUAWK]
        em = 5 if sq == 7500 else (4 if sq == 7600 else 1)
    I[_I_EMERG] = em
    I[_I_SPI] = _flag(buf, fs[20], fe[20])
    I[_I_GROUND] = _flag(buf, fs[21], fe[21])
    return True


@nb.njit(cache=True, error_model="numpy")
def _scan_sbs(
    buf: npt.NDArray[np.uint8],
    final: bool,
    hexv: npt.NDArray[np.uint8],
    pow10: npt.NDArray[np.float64],
    F: npt.NDArray[np.float64],
    I: npt.NDArray[np.int64],  # noqa: E741
    C: npt.NDArray[np.uint8],
    counts: npt.NDArray[np.int64],
) -> tuple[int, int]:
    n = buf.shape[0]
    fs = np.empty(_NFIELDS, dtype=np.int64)
    fe = np.empty(_NFIELDS, dtype=np.int64)
    p = 0
    nr = 0
    while p < n:
        e = p
        while e < n and buf[e] != 0x0A and buf[e] != 0x0D:
            e += 1
        if e >= n and not final:
            break
        s = p
        p = e + 1
        while s < e and _is_space(buf[s]):
            s += 1
        while e > s and _is_space(buf[e - 1]):
            e -= 1
        if s == e:
            continue
        # split into fields (trimmed of spaces); count them all, keep the first 22
        nfld = 0
        q = s
        while True:
            r = q
            while r < e and buf[r] != 0x2C:
                r += 1
            if nfld < _NFIELDS:
                a, b = q, r
                while a < b and _is_space(buf[a]):
                    a += 1
                while b > a and _is_space(buf[b - 1]):
                    b -= 1
                fs[nfld] = a
                fe[nfld] = b
            nfld += 1
            if r >= e:
                break
            q = r + 1
        kind = _record_kind(buf, fs[0], fe[0])
        if kind < 0:
            counts[0] += 1
            continue
        if kind > 0 and kind != _KIND_MLAT:
            counts[kind] += 1
            continue
        if nfld < _NFIELDS:
            counts[0] += 1
            continue
        if _parse_msg(buf, fs, fe, hexv, pow10, F[nr], I[nr], C[nr]):
            I[nr, _I_MLAT] = 1 if kind == _KIND_MLAT else 0
            nr += 1
        else:
            counts[0] += 1
    return nr, min(p, n)


def parse_sbs(
    buf: bytes | bytearray | memoryview | npt.NDArray[np.uint8], *, final: bool = False
) -> tuple[dict[str, npt.NDArray[np.generic]], int, Rejects]:
    """Parse the complete SBS lines of ``buf``; returns ``(columns, consumed, rejects)``.

    The caller keeps ``buf[consumed:]`` (a partial last line) for the next call; with
    ``final=True`` it is parsed too. Columns are listed in :data:`SBS_COLUMNS`."""
    arr = _as_array(buf)
    cap = arr.shape[0] // 24 + 1  # "MSG,1,,,1,,,,,,,,,,,,,,,," is 25 bytes at least
    F = np.empty((cap, _NF), dtype=np.float64)
    I = np.empty((cap, _NI), dtype=np.int64)  # noqa: E741
    C = np.empty((cap, 8), dtype=np.uint8)
    counts = np.zeros(len(_REJECT_NAMES), dtype=np.int64)
    nr, consumed = _scan_sbs(arr, final, HEX_VALUE, _POW10, F, I, C, counts)
    F, I, C = F[:nr], I[:nr], C[:nr]  # noqa: E741
    cols: dict[str, npt.NDArray[np.generic]] = {
        "t": F[:, _F_T].copy(),
        "icao24": I[:, _I_ICAO].astype(np.uint32),
        "sbs_type": I[:, _I_TYPE].astype(np.int8),
        "non_icao": I[:, _I_NONICAO] == 1,
        "callsign": np.ascontiguousarray(C).view("S8").reshape(-1).copy(),
        "altitude_ft": F[:, _F_ALT].astype(np.float32),
        "altitude_source": I[:, _I_ALTSRC].astype(np.int8),
        "gs_kt": F[:, _F_GS].astype(np.float32),
        "track_deg": F[:, _F_TRACK].astype(np.float32),
        "lat": F[:, _F_LAT].copy(),
        "lon": F[:, _F_LON].copy(),
        "vrate_fpm": F[:, _F_VRATE].astype(np.float32),
        "vrate_source": I[:, _I_VRSRC].astype(np.int8),
        "squawk": I[:, _I_SQUAWK].astype(np.int16),
        "alert": I[:, _I_ALERT].astype(np.int8),
        "emergency": I[:, _I_EMERG].astype(np.int8),
        "spi": I[:, _I_SPI].astype(np.int8),
        "on_ground": I[:, _I_GROUND].astype(np.int8),
        "mlat": I[:, _I_MLAT] == 1,
    }
    for name, col in cols.items():
        f = MESSAGE_FIELD_BY_NAME.get(name)
        want = np.dtype(f.dtype) if f is not None else np.dtype(_EXTRA_DTYPES[name])
        if col.dtype != want:  # pragma: no cover - a schema change would land here
            raise TypeError(f"SBS column {name} is {col.dtype}, the schema says {want}")
    rejects = Rejects.of(zip(_REJECT_NAMES, counts.tolist(), strict=True))
    return cols, int(consumed), rejects


def mark_mlat(states: StateBatch, cols: Mapping[str, npt.NDArray[np.generic]]) -> StateBatch:
    """The rows of ``states`` built from the ``MLAT`` lines of ``cols`` (the columns of
    :func:`parse_sbs`, row for row) get the source ``mlat``; returns ``states``."""
    mlat = np.asarray(cols.get("mlat", np.zeros(0, bool)), dtype=bool)
    if mlat.any():
        src = states.columns["source"]
        src[mlat] = np.asarray(_MLAT_SOURCE, dtype=src.dtype)
    return states


# ----------------------------------------------------------------------------- writer


@nb.njit(cache=True, error_model="numpy")
def _put_uint(out: npt.NDArray[np.uint8], o: int, v: int, width: int) -> int:
    """Write ``v >= 0`` in decimal, zero-padded to ``width`` digits."""
    k = 1
    x = v // 10
    while x > 0:
        k += 1
        x //= 10
    k = max(k, width)
    for i in range(k - 1, -1, -1):
        out[o + i] = 0x30 + v % 10
        v //= 10
    return o + k


@nb.njit(cache=True, error_model="numpy")
def _put_fixed(out: npt.NDArray[np.uint8], o: int, x: float, decimals: int) -> int:
    """Write ``x`` like printf ``%.{decimals}f`` (ties to even on the scaled value)."""
    scale = 10**decimals
    v = np.int64(np.rint(abs(x) * scale))
    if x < 0 and v != 0:
        out[o] = 0x2D
        o += 1
    o = _put_uint(out, o, v // scale, 1)
    if decimals > 0:
        out[o] = 0x2E
        o += 1
        o = _put_uint(out, o, v % scale, decimals)
    return o


@nb.njit(cache=True, error_model="numpy")
def _put_flag(out: npt.NDArray[np.uint8], o: int, v: int) -> int:
    out[o] = 0x2C
    o += 1
    if v > 0:
        out[o] = 0x2D
        out[o + 1] = 0x31
        return o + 2
    if v == 0:
        out[o] = 0x30
        return o + 1
    return o


@nb.njit(cache=True, error_model="numpy")
def _put_datetime(out: npt.NDArray[np.uint8], o: int, t: float) -> int:
    """``,YYYY/MM/DD,HH:MM:SS.mmm`` (UTC), or ``,,`` for NaN."""
    out[o] = 0x2C
    o += 1
    if np.isnan(t):
        out[o] = 0x2C
        return o + 1
    ms = int(np.floor(t * 1000.0 + 0.5))
    days = ms // 86_400_000
    rem = ms - days * 86_400_000
    y, m, d = civil_from_days(days)
    o = _put_uint(out, o, y, 4)
    out[o] = 0x2F
    o = _put_uint(out, o + 1, m, 2)
    out[o] = 0x2F
    o = _put_uint(out, o + 1, d, 2)
    out[o] = 0x2C
    o = _put_uint(out, o + 1, rem // 3_600_000, 2)
    out[o] = 0x3A
    o = _put_uint(out, o + 1, (rem // 60_000) % 60, 2)
    out[o] = 0x3A
    o = _put_uint(out, o + 1, (rem // 1000) % 60, 2)
    out[o] = 0x2E
    return _put_uint(out, o + 1, rem % 1000, 3)


@nb.njit(cache=True, error_model="numpy")
def _encode_sbs_kernel(
    F: npt.NDArray[np.float64],
    I: npt.NDArray[np.int64],  # noqa: E741
    C: npt.NDArray[np.uint8],
    hexd: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8],
) -> int:
    o = 0
    for r in range(F.shape[0]):
        out[o] = 0x4D  # M
        out[o + 1] = 0x53  # S
        out[o + 2] = 0x47  # G
        out[o + 3] = 0x2C
        o += 4
        out[o] = 0x30 + I[r, _I_TYPE]
        out[o + 1] = 0x2C
        out[o + 2] = 0x31
        out[o + 3] = 0x2C
        out[o + 4] = 0x31
        out[o + 5] = 0x2C
        o += 6
        if I[r, _I_NONICAO] == 1:
            out[o] = 0x7E  # '~'
            o += 1
        a = I[r, _I_ICAO]
        for i in range(6):
            out[o + i] = hexd[(a >> (4 * (5 - i))) & 0xF]
        o += 6
        out[o] = 0x2C
        out[o + 1] = 0x31
        o += 2
        t = F[r, _F_T]
        o = _put_datetime(out, o, t)
        o = _put_datetime(out, o, t)
        out[o] = 0x2C
        o += 1
        for i in range(8):
            if C[r, i] == 0:
                break
            out[o] = C[r, i]
            o += 1
        # trailing spaces are not written
        while out[o - 1] == 0x20:
            o -= 1
        # altitude
        out[o] = 0x2C
        o += 1
        x = F[r, _F_ALT]
        if not np.isnan(x):
            o = _put_fixed(out, o, x, 0)
            if I[r, _I_ALTSRC] == 1:
                out[o] = 0x48
                o += 1
        for col, dec in ((_F_GS, 0), (_F_TRACK, 0), (_F_LAT, 6), (_F_LON, 6)):
            out[o] = 0x2C
            o += 1
            x = F[r, col]
            if not np.isnan(x):
                o = _put_fixed(out, o, x, dec)
        out[o] = 0x2C
        o += 1
        x = F[r, _F_VRATE]
        if not np.isnan(x):
            o = _put_fixed(out, o, x, 0)
            if I[r, _I_VRSRC] == 1:
                out[o] = 0x48
                o += 1
        out[o] = 0x2C
        o += 1
        sq = I[r, _I_SQUAWK]
        if sq >= 0:
            o = _put_uint(out, o, sq, 4)
        o = _put_flag(out, o, I[r, _I_ALERT])
        em = I[r, _I_EMERG]
        o = _put_flag(out, o, 1 if em > 0 else em)
        o = _put_flag(out, o, I[r, _I_SPI])
        o = _put_flag(out, o, I[r, _I_GROUND])
        out[o] = 0x0D
        out[o + 1] = 0x0A
        o += 2
    return o


def _infer_types(cols: Mapping[str, npt.NDArray[np.generic]], n: int) -> npt.NDArray[np.int64]:
    """MSG type from the values present: 3 position (2 if on the ground), 4 velocity,
    1 callsign, 6 squawk, 5 altitude, else 8."""

    def has(name: str) -> npt.NDArray[np.bool_]:
        c = cols.get(name)
        if c is None:
            return np.zeros(n, dtype=bool)
        c = np.asarray(c)
        if c.dtype.kind == "f":
            out: npt.NDArray[np.bool_] = ~np.isnan(c)
        elif c.dtype.kind == "S":
            out = np.asarray(c != b"", dtype=bool)
        else:
            out = np.asarray(c != -1, dtype=bool)
        return out

    ground = np.asarray(cols["on_ground"]) == 1 if "on_ground" in cols else np.zeros(n, bool)
    out = np.full(n, 8, dtype=np.int64)
    for mask, code in (
        (has("altitude_ft"), 5),
        (has("squawk"), 6),
        (has("callsign"), 1),
        (has("gs_kt") | has("vrate_fpm"), 4),
        (has("lat") & has("lon") & ~ground, 3),
        (has("lat") & has("lon") & ground, 2),
    ):
        out[mask] = code
    return out


def encode_sbs(columns: Mapping[str, npt.ArrayLike]) -> bytes:
    """Columns (as returned by :func:`parse_sbs`; ``icao24`` required, others optional) →
    readsb-style MSG lines: ``MSG,<type>,1,1,<HEX>,1,`` + the date/time written twice (both
    from ``t``, UTC, ms) + the fields (altitude, speeds and rates ``%.0f``, lat/lon ``%.6f``,
    squawk ``%04d``, flags ``-1``/``0``, ``H`` after a GNSS altitude or rate) + CRLF.
    A ``non_icao`` row gets readsb's ``~`` before its address (readsb itself does not write
    such rows).
    Absent values are empty fields. ``sbs_type`` is inferred from the values when missing."""
    cols = {k: np.asarray(v) for k, v in columns.items()}
    icao = cols["icao24"].astype(np.int64).reshape(-1)
    n = icao.shape[0]

    def fcol(name: str) -> npt.NDArray[np.float64]:
        c = cols.get(name)
        return np.full(n, np.nan) if c is None else c.astype(np.float64).reshape(-1)

    def icol(name: str) -> npt.NDArray[np.int64]:
        c = cols.get(name)
        return np.full(n, -1, np.int64) if c is None else c.astype(np.int64).reshape(-1)

    F = np.empty((n, _NF), dtype=np.float64)
    I = np.empty((n, _NI), dtype=np.int64)  # noqa: E741
    for name, j in (
        ("t", _F_T),
        ("altitude_ft", _F_ALT),
        ("gs_kt", _F_GS),
        ("track_deg", _F_TRACK),
        ("lat", _F_LAT),
        ("lon", _F_LON),
        ("vrate_fpm", _F_VRATE),
    ):
        F[:, j] = fcol(name)
    for name, j in (
        ("altitude_source", _I_ALTSRC),
        ("vrate_source", _I_VRSRC),
        ("squawk", _I_SQUAWK),
        ("alert", _I_ALERT),
        ("emergency", _I_EMERG),
        ("spi", _I_SPI),
        ("on_ground", _I_GROUND),
    ):
        I[:, j] = icol(name)
    I[:, _I_ICAO] = icao & 0xFFFFFF
    I[:, _I_NONICAO] = icol("non_icao") if "non_icao" in cols else 0
    I[:, _I_TYPE] = icol("sbs_type") if "sbs_type" in cols else _infer_types(cols, n)
    bad = (I[:, _I_TYPE] < 1) | (I[:, _I_TYPE] > 8)
    I[bad, _I_TYPE] = _infer_types(cols, n)[bad]
    cs = cols.get("callsign")
    if cs is None:
        C = np.zeros((n, 8), dtype=np.uint8)
    else:
        C = np.frombuffer(np.ascontiguousarray(cs.astype("S8")).tobytes(), np.uint8)
        C = C.reshape(n, 8)
    out = np.empty(n * 200, dtype=np.uint8)
    o = _encode_sbs_kernel(F, I, np.ascontiguousarray(C), _HEX_DIGITS, out)
    return out[:o].tobytes()


_HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8).copy()
