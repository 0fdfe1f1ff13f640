"""The compiled per-position loop of the GNSS monitor: quality counter and spoofing tests.

One pass over a batch of positions in time order. Each aircraft has one row (its *slot*) of the
float64 state matrix ``S``; the loop reads and writes that row only, so a stream cut into
batches gives the same episodes as the whole history. Nothing is allocated per aircraft.

Quality (jamming). A position is *bad* when NIC <= ``bad_nic`` or NACp <= ``bad_nacp``, *good*
when NIC >= ``good_nic`` and NACp >= ``good_nacp`` (an absent value does not vote). A counter per
aircraft goes up by one for a bad position and down by one for a good one, between 0 and
``counter_max`` (gpsjam's hysteresis): the aircraft is *degraded* from the position where the
counter reaches ``counter_enter`` until it is back to 0. One bad message is not jamming.

Spoofing. The aircraft's *expected* position is dead-reckoned from its last consistent fix with
the ground speed and track it reports (velocity messages, which a spoofed GNSS receiver does
not necessarily follow, and which tell motion even when the position stands still). A new
position is *divergent* when it is farther from the expected one than ``dr_base_nm +
dr_rate × distance dead-reckoned``, when the step to it implies a speed impossible at its
altitude, when an MLAT position of the same aircraft disagrees, or when it lies beyond every
receiver's radio horizon. A divergent position opens an *episode*; the expected position keeps
being dead-reckoned (never re-anchored on a divergent fix); ``spoof_end_n`` consistent positions
in a row close it. An episode is a spoofing verdict when it holds at least ``spoof_min_n``
divergent positions spread over ``spoof_min_s``. Data artefacts are kept apart: a whole record
repeated (position, altitude, speed and track identical: a frozen feed) and time going backwards
are counted and skipped; a position that merely repeats while other fields change (a stale
position, OpenSky's ``last_position``) never opens an episode and is judged only inside one.
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

R_EARTH_NM = 6_371_008.8 / 1852.0

# --- state columns (one row per aircraft) ------------------------------------------------------
Q_MODE = 0  # 0 never good, 1 normal, 2 degraded
Q_SEEN_GOOD = 1
Q_CNT = 2
Q_START = 3
Q_FIRST_BAD = 4
Q_WNIC = 5
Q_WNACP = 6
Q_N = 7
Q_LOST_S = 8
Q_GAPS = 9
Q_NIC0 = 10
Q_LAST_BAD_T = 11
Q_LAT = 12
Q_LON = 13
Q_DT_EMA = 14
Q_PART = 15
C_LAST_T = 16
P_LAT = 17
P_LON = 18
P_T = 19
R_ALT = 20
R_GS = 21
R_TRK = 22
R_LAT = 23
R_LON = 24
R_T = 25
E_LAT = 26
E_LON = 27
E_T = 28
E_DIST = 29
V_GS = 30
V_TRK = 31
M_MODE = 32
M_START = 33
M_N = 34
M_END_N = 35
M_LAST_DIV_T = 36
M_MAXDIV = 37
M_RLAT = 38
M_RLON = 39
M_XLAT = 40
M_XLON = 41
M_SLAT = 42
M_SLON = 43
M_EV = 44
M_MAXSPD = 45
M_STILL_S = 46
M_MLAT_NM = 47
M_BARO_FT = 48
M_CLUSTER = 49
M_HORIZON_NM = 50
ML_LAT = 51
ML_LON = 52
ML_T = 53
B_BASE = 54
B_N = 55
A_FROZEN = 56
A_GLITCH = 57
Q_SEEN_GOOD_AT_START = 58
Q_PRE_WNIC = 59
Q_PRE_WNACP = 60
Q_LOST_N = 61
V_CHG_T = 62
E_TURN = 63
S_RUN_N = 64
S_RUN_T = 65
# positions lost while the aircraft is still heard (GnssMonitor.observe, from snapshots)
L_MODE = 66
L_START = 67
L_MSGS = 68
L_HEARD = 69
L_LAT = 70
L_LON = 71
NS = 72

# evidence bits of a spoofing episode
EV_DEAD_RECKONING = 1
EV_IMPOSSIBLE_SPEED = 2
EV_STILL_WHILE_MOVING = 4
EV_MLAT = 8
EV_GNSS_BARO = 16
EV_SAME_POINT = 32
EV_BEYOND_HORIZON = 64
EV_REPEATED_MESSAGES = 128  # our own decoding: position messages repeating one point at speed
EVIDENCE_NAMES = (
    (EV_DEAD_RECKONING, "dead_reckoning"),
    (EV_IMPOSSIBLE_SPEED, "impossible_speed"),
    (EV_STILL_WHILE_MOVING, "still_while_moving"),
    (EV_MLAT, "mlat_disagrees"),
    (EV_GNSS_BARO, "gnss_baro"),
    (EV_SAME_POINT, "same_point"),
    (EV_BEYOND_HORIZON, "beyond_horizon"),
    (EV_REPEATED_MESSAGES, "position_messages_repeat"),
)

# per-position output flags
FLAG_DEGRADED = 1
FLAG_SPOOFED = 2
FLAG_ARTEFACT = 4
FLAG_STALE_MOVING = 8
FLAG_BAD = 16
FLAG_CLEAN = 32  # good quality and not in an episode

# episode records: OUT[k, :]
KIND_JAMMING = 0
KIND_SPOOFING = 1
KIND_UNCONFIRMED = 2
O_KIND = 0
O_SLOT = 1
O_START = 2
O_UNTIL = 3
# jamming
O_WNIC = 4
O_WNACP = 5
O_N = 6
O_LOST_S = 7
O_GAPS = 8
O_LOST_N = 9
O_NIC0 = 10
O_LAT = 11
O_LON = 12
O_PART = 13
O_SEEN_GOOD = 14
# spoofing (shares O_START, O_UNTIL, O_N, O_LAT, O_LON = reported at start)
O_RLAT = 4
O_RLON = 5
O_XLAT = 7
O_XLON = 8
O_MAXDIV = 9
O_EV = 10
O_MAXSPD = 13
O_STILL_S = 14
O_MLAT_NM = 15
O_BARO_FT = 16
O_CLUSTER = 17
O_HORIZON_NM = 18
O_FROZEN = 19
O_GLITCH = 20
N_OUT = 21

# parameter vector (order of GnssParams fields used by the kernel; see monitor.kernel_params)
K_BAD_NIC = 0
K_BAD_NACP = 1
K_GOOD_NIC = 2
K_GOOD_NACP = 3
K_CNT_MAX = 4
K_CNT_ENTER = 5
K_LOST_GAP = 6
K_EPISODE_GAP = 7
K_REPORT_EVERY = 8
K_DR_BASE = 9
K_DR_RATE = 10
K_DR_TRUST = 11
K_MOVING_KT = 12
K_SPEED_MIN_NM = 13
K_MAXGS_LOW = 14
K_MAXGS_HIGH = 15
K_MIN_N = 16
K_MIN_S = 17
K_END_N = 18
K_MLAT_AGE = 19
K_MLAT_TOL = 20
K_BARO_JUMP = 21
K_VEL_STALE = 22
K_MIN_OFFSET = 23
N_K = 24


def new_state(rows: int) -> F64:
    """State rows for ``rows`` aircraft, initialised."""
    s = np.full((rows, NS), np.nan)
    init_rows(s, 0, rows)
    return s


def init_rows(s: F64, lo: int, hi: int) -> None:
    s[lo:hi] = np.nan
    for col in (Q_MODE, Q_SEEN_GOOD, Q_CNT, Q_N, Q_LOST_S, Q_LOST_N, Q_GAPS, Q_NIC0, Q_PART, M_MODE,
                M_N, M_END_N, M_EV, M_STILL_S, M_CLUSTER, B_N, A_FROZEN, A_GLITCH, E_DIST,
                E_TURN, S_RUN_N, L_MODE):
        s[lo:hi, col] = 0.0
    for col in (Q_WNIC, Q_WNACP, Q_PRE_WNIC, Q_PRE_WNACP):
        s[lo:hi, col] = 99.0
    s[lo:hi, M_MAXDIV] = 0.0
    s[lo:hi, M_MAXSPD] = 0.0


@nb.njit(cache=True)
def distance_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: within 1 % of the great circle up to a few hundred NM, which
    is all the tests compare (steps, offsets from a dead-reckoned position); cheaper."""
    dlon = (lon2 - lon1 + 540.0) % 360.0 - 180.0
    x = dlon * math.cos((lat1 + lat2) * (math.pi / 360.0))
    y = lat2 - lat1
    return 60.0 * math.sqrt(x * x + y * y)


@nb.njit(cache=True)
def _destination(lat: float, lon: float, trk_deg: float, d_nm: float) -> tuple[float, float]:
    """Dead-reckoning step on the local plane (steps are short)."""
    th = trk_deg * (math.pi / 180.0)
    lat2 = lat + d_nm * math.cos(th) / 60.0
    c = math.cos(lat * (math.pi / 180.0))
    lon2 = lon + d_nm * math.sin(th) / (60.0 * max(c, 1e-6))
    lat2 = min(90.0, max(-90.0, lat2))
    return lat2, (lon2 + 540.0) % 360.0 - 180.0


@nb.njit(cache=True)
def max_gs_kt(alt_ft: float, low_kt: float, high_kt: float) -> float:
    """Highest plausible ground speed at an altitude: ``low_kt`` up to 10,000 ft, ``high_kt``
    from 30,000 ft (and when unknown), linear in between."""
    if math.isnan(alt_ft) or alt_ft >= 30000.0:
        return high_kt
    if alt_ft <= 10000.0:
        return low_kt
    return low_kt + (high_kt - low_kt) * (alt_ft - 10000.0) / 20000.0


@nb.njit(cache=True)
def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@nb.njit(cache=True)
def _emit_jamming(s: F64, slot: int, until: float, out: F64, k: int, recovered: bool) -> int:
    """``recovered``: the episode ends with good positions (then the aircraft's avionics can
    report good quality, even if it was never seen good before)."""
    out[k, O_KIND] = KIND_JAMMING
    out[k, O_SLOT] = slot
    out[k, O_START] = s[slot, Q_START]
    out[k, O_UNTIL] = until
    out[k, O_WNIC] = s[slot, Q_WNIC]
    out[k, O_WNACP] = s[slot, Q_WNACP]
    out[k, O_N] = s[slot, Q_N]
    out[k, O_LOST_S] = s[slot, Q_LOST_S]
    out[k, O_GAPS] = s[slot, Q_GAPS]
    out[k, O_LOST_N] = s[slot, Q_LOST_N]
    out[k, O_NIC0] = s[slot, Q_NIC0]
    out[k, O_LAT] = s[slot, Q_LAT]
    out[k, O_LON] = s[slot, Q_LON]
    out[k, O_PART] = s[slot, Q_PART]
    out[k, O_SEEN_GOOD] = 1.0 if recovered else s[slot, Q_SEEN_GOOD_AT_START]
    return k + 1


@nb.njit(cache=True)
def _reset_jamming(s: F64, slot: int) -> None:
    s[slot, Q_MODE] = 1.0 if s[slot, Q_SEEN_GOOD] > 0 else 0.0
    s[slot, Q_CNT] = 0.0
    s[slot, Q_N] = 0.0
    s[slot, Q_LOST_S] = 0.0
    s[slot, Q_LOST_N] = 0.0
    s[slot, Q_GAPS] = 0.0
    s[slot, Q_NIC0] = 0.0
    s[slot, Q_WNIC] = 99.0
    s[slot, Q_WNACP] = 99.0
    s[slot, Q_PRE_WNIC] = 99.0
    s[slot, Q_PRE_WNACP] = 99.0
    s[slot, Q_PART] = 0.0


@nb.njit(cache=True)
def _emit_spoofing(s: F64, slot: int, p: F64, out: F64, k: int) -> int:
    """Close the slot's spoofing episode: a verdict when it has enough divergent positions over
    enough time, else an unconfirmed record. Resets the episode."""
    ev = int(s[slot, M_EV])
    # evidence that stands alone: not from the aircraft's own data (MLAT, radio horizon), or
    # position messages that cannot repeat one point while the aircraft moves
    independent = (ev & (EV_MLAT | EV_BEYOND_HORIZON | EV_REPEATED_MESSAGES)) != 0
    kinds = 0
    while ev:
        kinds += ev & 1
        ev >>= 1
    confirmed = (s[slot, M_N] >= p[K_MIN_N]
                 and s[slot, M_LAST_DIV_T] - s[slot, M_START] >= p[K_MIN_S]
                 and (s[slot, M_MAXDIV] >= p[K_MIN_OFFSET] or kinds >= 2 or independent))
    out[k, O_KIND] = KIND_SPOOFING if confirmed else KIND_UNCONFIRMED
    out[k, O_SLOT] = slot
    out[k, O_START] = s[slot, M_START]
    out[k, O_UNTIL] = s[slot, M_LAST_DIV_T]
    out[k, O_N] = s[slot, M_N]
    out[k, O_LAT] = s[slot, M_SLAT]
    out[k, O_LON] = s[slot, M_SLON]
    out[k, O_RLAT] = s[slot, M_RLAT]
    out[k, O_RLON] = s[slot, M_RLON]
    out[k, O_XLAT] = s[slot, M_XLAT]
    out[k, O_XLON] = s[slot, M_XLON]
    out[k, O_MAXDIV] = s[slot, M_MAXDIV]
    out[k, O_EV] = s[slot, M_EV]
    out[k, O_MAXSPD] = s[slot, M_MAXSPD]
    out[k, O_STILL_S] = s[slot, M_STILL_S]
    out[k, O_MLAT_NM] = s[slot, M_MLAT_NM]
    out[k, O_BARO_FT] = s[slot, M_BARO_FT]
    out[k, O_CLUSTER] = s[slot, M_CLUSTER]
    out[k, O_HORIZON_NM] = s[slot, M_HORIZON_NM]
    out[k, O_FROZEN] = s[slot, A_FROZEN]
    out[k, O_GLITCH] = s[slot, A_GLITCH]
    s[slot, M_MODE] = 0.0
    s[slot, M_N] = 0.0
    s[slot, M_END_N] = 0.0
    s[slot, M_EV] = 0.0
    s[slot, M_MAXDIV] = 0.0
    s[slot, M_MAXSPD] = 0.0
    s[slot, M_STILL_S] = 0.0
    s[slot, M_MLAT_NM] = np.nan
    s[slot, M_BARO_FT] = np.nan
    s[slot, M_CLUSTER] = 0.0
    s[slot, M_HORIZON_NM] = np.nan
    return k + 1


@nb.njit(cache=True)
def _anchor(s: F64, slot: int, t: float, lat: float, lon: float) -> None:
    s[slot, E_LAT] = lat
    s[slot, E_LON] = lon
    s[slot, E_T] = t
    s[slot, E_DIST] = 0.0
    s[slot, E_TURN] = 0.0


@nb.njit(cache=True)
def _quality(s: F64, slot: int, t: float, dt: float, lat: float, lon: float, nic: int,
             nacp: int, p: F64, out: F64, k: int) -> tuple[int, int]:
    """The hysteresis counter for one airborne position; returns (k, flags)."""
    flags = 0
    mode = s[slot, Q_MODE]
    if mode == 2.0 and not math.isnan(dt):
        if dt > p[K_EPISODE_GAP]:
            k = _emit_jamming(s, slot, s[slot, Q_LAST_BAD_T], out, k, False)
            _reset_jamming(s, slot)
            mode = s[slot, Q_MODE]
        else:
            if dt > p[K_LOST_GAP]:
                s[slot, Q_LOST_S] += dt
                s[slot, Q_GAPS] += 1.0
            ema = s[slot, Q_DT_EMA]
            if not math.isnan(ema) and ema > 0 and dt > 1.5 * ema:
                s[slot, Q_LOST_N] += math.floor(dt / ema + 0.5) - 1.0
    if not math.isnan(dt) and 0 < dt <= p[K_LOST_GAP]:
        ema = s[slot, Q_DT_EMA]
        s[slot, Q_DT_EMA] = dt if math.isnan(ema) else ema + 0.1 * (dt - ema)
    bad = (0 <= nic <= p[K_BAD_NIC]) or (0 <= nacp <= p[K_BAD_NACP])
    good = ((not bad) and (nic >= 0 or nacp >= 0)
            and (nic < 0 or nic >= p[K_GOOD_NIC]) and (nacp < 0 or nacp >= p[K_GOOD_NACP]))
    if bad:
        flags |= FLAG_BAD
        if s[slot, Q_CNT] == 0.0:
            s[slot, Q_FIRST_BAD] = t
            s[slot, Q_LAT] = lat
            s[slot, Q_LON] = lon
            s[slot, Q_PRE_WNIC] = 99.0
            s[slot, Q_PRE_WNACP] = 99.0
            s[slot, Q_SEEN_GOOD_AT_START] = s[slot, Q_SEEN_GOOD]
        s[slot, Q_CNT] = min(s[slot, Q_CNT] + 1.0, p[K_CNT_MAX])
        s[slot, Q_LAST_BAD_T] = t
        wn = Q_WNIC if mode == 2.0 else Q_PRE_WNIC
        wa = Q_WNACP if mode == 2.0 else Q_PRE_WNACP
        if nic >= 0 and nic < s[slot, wn]:
            s[slot, wn] = nic
        if nacp >= 0 and nacp < s[slot, wa]:
            s[slot, wa] = nacp
        if mode == 2.0:
            s[slot, Q_N] += 1.0
            if nic == 0:
                s[slot, Q_NIC0] += 1.0
        elif s[slot, Q_CNT] >= p[K_CNT_ENTER]:
            s[slot, Q_MODE] = 2.0
            s[slot, Q_START] = s[slot, Q_FIRST_BAD]
            s[slot, Q_N] = s[slot, Q_CNT]
            s[slot, Q_WNIC] = s[slot, Q_PRE_WNIC]
            s[slot, Q_WNACP] = s[slot, Q_PRE_WNACP]
            s[slot, Q_NIC0] = 1.0 if nic == 0 else 0.0
    elif good:
        s[slot, Q_SEEN_GOOD] = 1.0
        s[slot, Q_CNT] = max(s[slot, Q_CNT] - 1.0, 0.0)
        if s[slot, Q_CNT] == 0.0:
            if mode == 2.0:
                k = _emit_jamming(s, slot, s[slot, Q_LAST_BAD_T], out, k, True)
            _reset_jamming(s, slot)
    if s[slot, Q_MODE] == 2.0:
        flags |= FLAG_DEGRADED
        if t - s[slot, Q_START] >= p[K_REPORT_EVERY]:
            k = _emit_jamming(s, slot, t, out, k, False)
            s[slot, Q_START] = t
            s[slot, Q_PART] += 1.0
            s[slot, Q_N] = 0.0
            s[slot, Q_LOST_S] = 0.0
            s[slot, Q_LOST_N] = 0.0
            s[slot, Q_GAPS] = 0.0
            s[slot, Q_NIC0] = 0.0
            s[slot, Q_LAT] = lat
            s[slot, Q_LON] = lon
    return k, flags


@nb.njit(cache=True)
def gnss_scan(
    slots: I64, t: F64, lat: F64, lon: F64, alt: F64, geom: F64, gs: F64, trk: F64,
    ground: I64, nic: I64, nacp: I64, is_mlat: npt.NDArray[np.bool_],
    is_feed: npt.NDArray[np.bool_], beyond_nm: F64, same_point: F64,
    s: F64, p: F64, flags: I8, est_lat: F64, est_lon: F64, out: F64,
) -> int:
    """Process positions (in time order per aircraft) into the state rows ``s[slots]``.

    Writes per position ``flags`` (FLAG_*) and the best estimate of where the aircraft really
    is (``est_lat/lon``: the dead-reckoned position inside a spoofing episode, the reported one
    otherwise). Closed episodes go to ``out`` (at least ``2 × n`` rows); returns their number.
    ``same_point``: how many aircraft stand still at this point while moving (0: fewer than the
    threshold). ``beyond_nm``: how far beyond every receiver's radio horizon the position is
    (NaN: unknown).
    ``is_feed``: the row comes from a decoded feed (states, imports), where a whole record
    repeated is a frozen feed; our own decoding emits a position per position message.
    """
    n = t.shape[0]
    k = 0
    for i in range(n):
        slot = slots[i]
        ti = t[i]
        la = lat[i]
        lo = lon[i]
        est_lat[i] = la
        est_lon[i] = lo
        f = 0
        if is_mlat[i]:
            s[slot, ML_LAT] = la
            s[slot, ML_LON] = lo
            s[slot, ML_T] = ti
            flags[i] = 0
            continue
        last = s[slot, C_LAST_T]
        dt = ti - last if not math.isnan(last) else np.nan
        if not math.isnan(dt) and dt < 0:
            s[slot, A_GLITCH] += 1.0
            flags[i] = FLAG_ARTEFACT
            continue
        if (is_feed[i] and not math.isnan(dt) and la == s[slot, R_LAT] and lo == s[slot, R_LON]
                and _same(alt[i], s[slot, R_ALT]) and _same(gs[i], s[slot, R_GS])
                and _same(trk[i], s[slot, R_TRK])):
            # the whole record again: a frozen feed, not an aircraft
            s[slot, A_FROZEN] += 1.0
            flags[i] = FLAG_ARTEFACT
            continue
        airborne = ground[i] != 1
        if airborne:
            k, qf = _quality(s, slot, ti, dt, la, lo, nic[i], nacp[i], p, out, k)
            f |= qf
        # --- spoofing ------------------------------------------------------------------
        if s[slot, M_MODE] == 1.0 and not math.isnan(dt) and dt > p[K_EPISODE_GAP]:
            k = _emit_spoofing(s, slot, p, out, k)
            _anchor(s, slot, ti, la, lo)
        if math.isnan(s[slot, P_T]):
            _anchor(s, slot, ti, la, lo)
            s[slot, P_LAT] = la
            s[slot, P_LON] = lo
            s[slot, P_T] = ti
        else:
            # dead reckoning of the expected position with the velocity held so far; a feed
            # whose velocity has not changed for vel_stale_s repeats an old one: unusable
            vel_ok = not math.isnan(s[slot, V_GS]) and not (
                is_feed[i] and ti - s[slot, V_CHG_T] > p[K_VEL_STALE])
            if vel_ok and not math.isnan(s[slot, E_LAT]):
                d = s[slot, V_GS] * (ti - s[slot, E_T]) / 3600.0
                if d > 0:
                    elat, elon = _destination(s[slot, E_LAT], s[slot, E_LON], s[slot, V_TRK], d)
                    s[slot, E_LAT] = elat
                    s[slot, E_LON] = elon
                    s[slot, E_DIST] += d
                s[slot, E_T] = ti
            else:
                s[slot, E_LAT] = np.nan
            if vel_ok and not math.isnan(trk[i]) and not math.isnan(s[slot, V_TRK]):
                # a turn since the held velocity: dead reckoning is off by up to an arc
                turn = abs((trk[i] - s[slot, V_TRK] + 180.0) % 360.0 - 180.0)
                step_dr = s[slot, V_GS] * (ti - s[slot, R_T]) / 3600.0
                if step_dr > 0:
                    s[slot, E_TURN] += step_dr * min(1.0, turn / 90.0)
            gs_rep = gs[i]
            in_ep = s[slot, M_MODE] == 1.0
            # GNSS - baro difference against the aircraft's own baseline
            baro_off = False
            if not math.isnan(alt[i]) and not math.isnan(geom[i]):
                diff = geom[i] - alt[i]
                if s[slot, B_N] >= 10 and abs(diff - s[slot, B_BASE]) > p[K_BARO_JUMP]:
                    baro_off = True
                elif not in_ep:
                    b = s[slot, B_BASE]
                    s[slot, B_BASE] = diff if math.isnan(b) else b + 0.05 * (diff - b)
                    s[slot, B_N] += 1.0
            # a new fix moved at least a fifth of what the velocity says since the last one
            # (CPR's even/odd decodings of one point differ by metres; duplicates by less)
            moved = distance_nm(s[slot, P_LAT], s[slot, P_LON], la, lo)
            expect = 0.0 if math.isnan(gs_rep) else gs_rep * (ti - s[slot, P_T]) / 3600.0
            new_pos = moved > max(0.005, 0.2 * expect)
            elat = s[slot, E_LAT]
            elon = s[slot, E_LON]
            div = distance_nm(elat, elon, la, lo) if not math.isnan(elat) else np.nan
            tol = p[K_DR_BASE] + p[K_DR_RATE] * s[slot, E_DIST] + s[slot, E_TURN]
            if new_pos:
                s[slot, S_RUN_N] = 0.0
                gap = ti - s[slot, P_T]
                step = moved  # the same distance
                implied = step / gap * 3600.0 if gap > 0 else np.inf
                limit = max_gs_kt(alt[i], p[K_MAXGS_LOW], p[K_MAXGS_HIGH])
                impossible = step > p[K_SPEED_MIN_NM] and implied > limit
                if impossible and not math.isnan(gs_rep):
                    impossible = implied > 1.5 * gs_rep + 100.0
                mlat_d = np.nan
                if not math.isnan(s[slot, ML_T]) and abs(ti - s[slot, ML_T]) <= p[K_MLAT_AGE]:
                    mlat_d = distance_nm(s[slot, ML_LAT], s[slot, ML_LON], la, lo)
                    if not math.isnan(gs_rep):
                        mlat_d -= gs_rep * abs(ti - s[slot, ML_T]) / 3600.0
                mlat_off = not math.isnan(mlat_d) and mlat_d > p[K_MLAT_TOL]
                horizon = not math.isnan(beyond_nm[i]) and beyond_nm[i] > 0
                trusted = gap <= p[K_DR_TRUST] or in_ep
                dr_off = not math.isnan(div) and trusted and div > tol
                divergent = dr_off or impossible or mlat_off or horizon
                if not in_ep:
                    if divergent:
                        s[slot, M_MODE] = 1.0
                        s[slot, M_START] = ti
                        s[slot, M_SLAT] = la
                        s[slot, M_SLON] = lo
                        s[slot, M_N] = 0.0
                        s[slot, M_END_N] = 0.0
                        if math.isnan(elat):  # no velocity: the last fix is the best guess
                            _anchor(s, slot, ti, s[slot, P_LAT], s[slot, P_LON])
                            elat = s[slot, E_LAT]
                            elon = s[slot, E_LON]
                            div = distance_nm(elat, elon, la, lo)
                        in_ep = True
                    else:
                        _anchor(s, slot, ti, la, lo)
                else:
                    # no expected position: judge the fixes' own motion
                    consistent = not impossible if math.isnan(div) else div <= tol
                    consistent = consistent and not mlat_off and not horizon
                    if consistent:
                        s[slot, M_END_N] += 1.0
                        if s[slot, M_END_N] >= p[K_END_N]:
                            k = _emit_spoofing(s, slot, p, out, k)
                            _anchor(s, slot, ti, la, lo)
                            in_ep = False
                    else:
                        s[slot, M_END_N] = 0.0
                if in_ep and divergent:
                    ev = int(s[slot, M_EV])
                    if dr_off:
                        ev |= EV_DEAD_RECKONING
                    if impossible:
                        ev |= EV_IMPOSSIBLE_SPEED
                        s[slot, M_MAXSPD] = max(s[slot, M_MAXSPD], implied)
                    if mlat_off:
                        ev |= EV_MLAT
                        m = s[slot, M_MLAT_NM]
                        s[slot, M_MLAT_NM] = mlat_d if math.isnan(m) else max(m, mlat_d)
                    if horizon:
                        ev |= EV_BEYOND_HORIZON
                        h = s[slot, M_HORIZON_NM]
                        s[slot, M_HORIZON_NM] = (beyond_nm[i] if math.isnan(h)
                                                 else max(h, beyond_nm[i]))
                    s[slot, M_EV] = ev
                    s[slot, M_N] += 1.0
                    s[slot, M_LAST_DIV_T] = ti
                    if not math.isnan(div) and div >= s[slot, M_MAXDIV]:
                        s[slot, M_MAXDIV] = div
                        s[slot, M_RLAT] = la
                        s[slot, M_RLON] = lo
                        s[slot, M_XLAT] = elat
                        s[slot, M_XLON] = elon
                s[slot, P_LAT] = la
                s[slot, P_LON] = lo
                s[slot, P_T] = ti
            else:
                # the position repeats while the rest of the record moves on
                moving = not math.isnan(gs_rep) and gs_rep > p[K_MOVING_KT]
                if moving:
                    f |= FLAG_STALE_MOVING
                if moving and not in_ep and not is_feed[i]:
                    # our own decoding: a position message repeating the same point at speed
                    # is not a stale feed; enough of them open an episode on their own
                    if s[slot, S_RUN_N] == 0.0:
                        s[slot, S_RUN_T] = s[slot, P_T]
                    s[slot, S_RUN_N] += 1.0
                    if (s[slot, S_RUN_N] >= p[K_MIN_N]
                            and ti - s[slot, S_RUN_T] >= p[K_MIN_S]):
                        s[slot, M_MODE] = 1.0
                        s[slot, M_START] = s[slot, S_RUN_T]
                        s[slot, M_SLAT] = la
                        s[slot, M_SLON] = lo
                        s[slot, M_N] = s[slot, S_RUN_N]
                        s[slot, M_END_N] = 0.0
                        s[slot, M_LAST_DIV_T] = ti
                        s[slot, M_EV] = EV_STILL_WHILE_MOVING | EV_REPEATED_MESSAGES
                        s[slot, M_STILL_S] = ti - s[slot, S_RUN_T]
                        if math.isnan(div) or div <= tol:  # no trusted true position
                            s[slot, E_LAT] = np.nan
                            div = np.nan
                        in_ep = True
                elif in_ep and ((moving and math.isnan(div))
                                or (not math.isnan(div) and div > tol)):
                    # still away from where the aircraft should be
                    if moving:
                        s[slot, M_EV] = int(s[slot, M_EV]) | EV_STILL_WHILE_MOVING
                        s[slot, M_STILL_S] += ti - s[slot, R_T]
                    s[slot, M_N] += 1.0
                    s[slot, M_LAST_DIV_T] = ti
                    s[slot, M_END_N] = 0.0
                    if div >= s[slot, M_MAXDIV]:
                        s[slot, M_MAXDIV] = div
                        s[slot, M_RLAT] = la
                        s[slot, M_RLON] = lo
                        s[slot, M_XLAT] = elat
                        s[slot, M_XLON] = elon
            if in_ep and same_point[i] > 0:
                s[slot, M_EV] = int(s[slot, M_EV]) | EV_SAME_POINT
                s[slot, M_CLUSTER] = max(s[slot, M_CLUSTER], same_point[i])
            if in_ep and baro_off:
                s[slot, M_EV] = int(s[slot, M_EV]) | EV_GNSS_BARO
                d_b = abs(geom[i] - alt[i] - s[slot, B_BASE])
                bb = s[slot, M_BARO_FT]
                s[slot, M_BARO_FT] = d_b if math.isnan(bb) else max(bb, d_b)
            if not math.isnan(gs_rep) and not math.isnan(trk[i]):
                if gs_rep != s[slot, V_GS] or trk[i] != s[slot, V_TRK]:
                    s[slot, V_CHG_T] = ti
                s[slot, V_GS] = gs_rep
                s[slot, V_TRK] = trk[i]
            if in_ep:
                if s[slot, M_N] >= p[K_MIN_N]:
                    f |= FLAG_SPOOFED
                # where the aircraft is: dead-reckoned, or unknown (then not on the map)
                est_lat[i] = s[slot, E_LAT]
                est_lon[i] = s[slot, E_LON]
        if airborne and (f & (FLAG_BAD | FLAG_DEGRADED | FLAG_SPOOFED)) == 0 \
                and (nic[i] >= 0 or nacp[i] >= 0):
            f |= FLAG_CLEAN
        s[slot, R_LAT] = la
        s[slot, R_LON] = lo
        s[slot, R_ALT] = alt[i]
        s[slot, R_GS] = gs[i]
        s[slot, R_TRK] = trk[i]
        s[slot, R_T] = ti
        s[slot, C_LAST_T] = ti
        flags[i] = f
    return k


@nb.njit(cache=True)
def still_moving(slots: I64, lat: F64, lon: F64, gs: F64, s: F64, min_kt: float
                 ) -> npt.NDArray[np.bool_]:
    """Positions that repeat their aircraft's previous one while its ground speed exceeds
    ``min_kt`` (read-only on the state: the previous positions of the batch are followed in a
    copy)."""
    n = lat.shape[0]
    out = np.zeros(n, np.bool_)
    last_lat = s[:, R_LAT].copy()
    last_lon = s[:, R_LON].copy()
    for i in range(n):
        sl = slots[i]
        if lat[i] == last_lat[sl] and lon[i] == last_lon[sl] and gs[i] > min_kt:
            out[i] = True
        last_lat[sl] = lat[i]
        last_lon[sl] = lon[i]
    return out


@nb.njit(cache=True)
def close_episodes(s: F64, n_slots: int, before_t: float, p: F64, out: F64) -> int:
    """Close the open episodes of aircraft last seen before ``before_t`` (``inf``: all)."""
    k = 0
    for slot in range(n_slots):
        last = s[slot, C_LAST_T]
        if math.isnan(last) or last >= before_t:
            continue
        if s[slot, Q_MODE] == 2.0:
            k = _emit_jamming(s, slot, s[slot, Q_LAST_BAD_T], out, k, False)
            _reset_jamming(s, slot)
        if s[slot, M_MODE] == 1.0:
            k = _emit_spoofing(s, slot, p, out, k)
            s[slot, E_LAT] = np.nan
    return k
