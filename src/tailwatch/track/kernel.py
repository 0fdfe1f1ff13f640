"""The tracker's compiled loop: messages in time order → per-aircraft state + accepted positions.

State is a struct of arrays indexed by slot (one slot per address ever seen, found through an
open-addressing hash table): a float64 matrix ``sf`` (values and the time each was updated), an
int64 matrix ``si`` (codes and the source each came from), a callsign matrix, and an int32
matrix ``rj`` counting each aircraft's implausible positions by reason (``R_*``) until the
tracker takes them.

Sources are ranked as readsb ranks them (lower is better): ADS-B with an ICAO address, ADS-B
from a non-transponder device, ADS-R, TIS-B, MLAT, decoded feeds (SBS/JSON), Mode S, then the
non-ICAO variants. A value is replaced by one from an equal or better source, or by any source
once it is older than ``STALE_S``: a worse source never overwrites a fresher, better one.

Positions (documented rules, see docs/tracking.md)
- Global decoding of an even/odd pair of the same kind (airborne: both within 10 s; surface:
  25 s). Surface pairs need a reference within 45°: the aircraft's last position, else the
  position of the receiver, else the nearest airport to one of the eight candidate solutions
  (within 15 NM).
- Otherwise local decoding against the aircraft's last accepted position (airborne: < 10 min
  old and the result < 180 NM away; surface: < 2 min and < 45 NM).
- Speed check against the last position: the distance may not exceed
  ``(gs × 1.25 + 50 kt) × dt + 1 NM`` (surface: ``+ 0.1 NM``), with gs the last known ground
  speed when fresh, else 750 kt airborne / 100 kt on the surface. A global position that
  fails the check becomes a candidate; the track jumps to it only when no position was
  accepted for 30 s and the next global fix agrees with the candidate (the same speed check
  between the two, within 60 s): then the old position was the wrong one. While good
  positions keep coming, a stray fix can never move the track.
- Receiver range: when the receiver's position is known, a position farther than
  ``max_range_nm`` is rejected.
- Surface/airborne consistency: a surface position is rejected while a baro altitude above
  5,000 ft is fresher than 30 s.
- Ghost filter: address/parity messages (crc_ok false) are accepted only for an address
  confirmed by a parity-checked DF11/17/18 message in the last 10 minutes.

State vectors (``track_states``: SBS records, readsb JSON, OpenSky, aggregators) update the
same rows: every field under the same ranking (feeds rank ``RANK_FEED``, MLAT ``RANK_MLAT``).
A decoded position is taken when it is valid, newer than the aircraft's position, not from a
worse source than a position fresher than ``STALE_S``, within the receiver's range and within
the speed limit above (with the same candidate/jump rule); its altitude goes with it.
"""

# numba kernels compute on np.int64 scalars so that numba keeps integer types exact;
# mypy sees np.int64 where int is annotated, hence:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.decode.cpr import airborne_global, airborne_local, surface_global, surface_local
from tailwatch.track.magnetic import declination_at

EMPTY = np.uint32(0xFFFFFFFF)
NON_ICAO_BIT = 1 << 24  # set in the key of non-ICAO addresses (TIS-B, anonymous ADS-B)

STALE_S = 30.0
PAIR_AIRBORNE_S = 10.0
PAIR_SURFACE_S = 25.0
LOCAL_AIRBORNE_S = 600.0
LOCAL_SURFACE_S = 120.0
GHOST_WINDOW_S = 600.0
RESET_AFTER_S = 30.0  # a track may jump only after this long without an accepted position
CANDIDATE_S = 60.0  # two agreeing global fixes within this window confirm a jump
EARTH_RADIUS_NM = 3440.065

# Source rank by the decoder's addr_type (see core.schema.ADDR_TYPE_LABELS); lower = better.
_RANK_BY_ADDR_TYPE = np.array([0, 1, 7, 3, 9, 2, 8, 10, 6, 10], dtype=np.int64)
RANK_MLAT = 4
RANK_FEED = 5

# Float state columns.
(SF_LAST, SF_FIRST, SF_LAT, SF_LON, SF_TPOS, SF_ALT, SF_TALT, SF_GEOM, SF_TGEOM, SF_GS, SF_TRK,
 SF_TVEL, SF_VR, SF_TVR, SF_HDG, SF_IAS, SF_TAS, SF_MACH, SF_TAIR, SF_TEVEN, SF_TODD, SF_TCS,
 SF_TSQ, SF_TGND, SF_SELALT, SF_BARO, SF_TCONF, SF_ROLL, SF_TNAV, SF_REFLAT, SF_REFLON,
 SF_CANDLAT, SF_CANDLON, SF_TCAND,
 # readsb parity (issue 15): the clocks and values aircraft.json writes (see tracker.snapshot)
 SF_TQUAL, SF_THDG, SF_TTHDG, SF_TRATE, SF_TTRATE, SF_BRATE, SF_TBRATE, SF_GRATE, SF_TGRATE,
 SF_FMSALT, SF_NAVHDG, SF_GDELTA, SF_TGDELTA, SF_WD, SF_WS, SF_WALT, SF_TWIND, SF_OAT,
 SF_TATEMP, SF_TTEMP, SF_TTAS, SF_TMACH, SF_TSTAT, SF_SIG0, SF_SIG1, SF_SIG2, SF_SIG3, SF_SIG4,
 SF_SIG5, SF_SIG6, SF_SIG7, SF_TSIG, SF_PREVLAT, SF_PREVLON, SF_DECL, SF_TDECL) = range(70)
N_SF = 70
# SF_THDG: true heading; SF_BRATE/SF_GRATE: barometric / geometric vertical rate (SF_VR is the
# latest of either); SF_FMSALT: FMS selected altitude (SF_SELALT: MCP/FCU); SF_GDELTA: GNSS
# height minus baro altitude (TC19); SF_WD/WS/WALT: wind from, speed, baro altitude it was
# computed at; SF_OAT/SF_TATEMP: static / total air temperature (°C); SF_TSTAT: alert/SPI;
# SF_SIG0-7: the linear power of the last 8 signal levels (ring, SI_NSIG written);
# SF_PREVLAT/LON: the accepted position before the latest one that differs from it
# (readsb's calc_track is the bearing between the two, computed in the snapshot); SF_DECL:
# the magnetic declination at the aircraft (WMM2025), computed at SF_TDECL.
# Integer state columns.
(SI_KEY, SI_MSGS, SI_SRC_POS, SI_SRC_ALT, SI_SRC_VEL, SI_ELAT, SI_ELON, SI_ESURF, SI_OLAT, SI_OLON,
 SI_OSURF, SI_SQUAWK, SI_GROUND, SI_CAT, SI_NIC, SI_NACP, SI_NACV, SI_SIL, SI_VERSION, SI_NICA,
 SI_NICC, SI_EMERG, SI_NAV, SI_SRC_SQ, SI_BEST_SRC, SI_CONFIRMED, SI_SRC_CS, SI_ACTIVE,
 SI_SRC_GND, SI_POSITIONS, SI_SRC_VR, SI_SRC_GEOM, SI_LABEL_POS, SI_LABEL_BEST,
 SI_NICBARO, SI_GVA, SI_SDA, SI_SILSUP, SI_ALERT, SI_SPI, SI_HRD, SI_NSIG,
 SI_THDG_SRC) = range(43)
N_SI = 43
# SI_THDG_SRC: 0 the true heading was sent as such, 1 derived from a magnetic one
NO_SOURCE = 99  # SI_SRC_*: no value yet
# SI_LABEL_*: the SOURCE_LABELS index of the decoded feed (SBS, JSON, OpenSky, aggregator,
# MLAT) behind the position / the best source; feeds share ranks, the label tells them apart.

# Counters (index → name in tracker.COUNTER_NAMES).
(C_MESSAGES, C_GHOST, C_NO_TIME, C_POSITIONS, C_CPR_NO_PAIR, C_CPR_GLOBAL_FAIL, C_SPEED, C_RANGE,
 C_SURFACE_IN_AIR, C_SURFACE_NO_REF, C_LOCAL, C_GLOBAL, C_RESET,
 # state vectors (track_states): rows in = states + state_no_time;
 # states = state_no_position + state_positions + the state position rejects
 C_STATES, C_STATE_NO_TIME, C_STATE_NO_POSITION, C_STATE_POSITIONS, C_STATE_BAD_POSITION,
 C_STATE_NOT_NEWER, C_STATE_OUTRANKED, C_STATE_RANGE, C_STATE_SPEED) = range(22)
N_COUNTERS = 22
# Per-aircraft counts of the rejects that say a position was implausible (columns of the
# int32 matrix ``rj``, one row per slot; index → name in tracker.IMPLAUSIBLE_REJECTS). The
# other position rejects (no CPR pair, a pair across a zone boundary, no surface reference,
# a state vector older or outranked) are normal and stay in the global counters only.
(R_SPEED, R_RANGE, R_SURFACE_IN_AIR, R_STATE_BAD_POSITION, R_STATE_RANGE,
 R_STATE_SPEED) = range(6)
N_REJ = 6

# Output columns of accepted positions (float matrix rows / int matrix rows).
(OF_T, OF_LAT, OF_LON, OF_ALT, OF_GEOM, OF_GS, OF_TRK, OF_VR) = range(8)
N_OF = 8
(OI_SLOT, OI_GROUND, OI_SQUAWK, OI_NIC, OI_NACP, OI_SRC, OI_RX, OI_LABEL) = range(8)
N_OI = 8  # OI_LABEL: the feed label (track_states) or the message row (track_messages)


@nb.njit(cache=True, inline="always")
def _hash(key: int, mask: int) -> int:
    return ((key * 0x9E3779B1) >> 7) & mask


@nb.njit(cache=True)
def lookup(keys: npt.NDArray[np.uint32], vals: npt.NDArray[np.int64], key: int) -> int:
    """Slot of ``key``, or -1."""
    mask = keys.shape[0] - 1
    h = _hash(key, mask)
    while True:
        k = keys[h]
        if k == key:
            return vals[h]
        if k == EMPTY:
            return -1
        h = (h + 1) & mask


@nb.njit(cache=True)
def insert(keys: npt.NDArray[np.uint32], vals: npt.NDArray[np.int64], key: int, slot: int) -> None:
    mask = keys.shape[0] - 1
    h = _hash(key, mask)
    while keys[h] != EMPTY and keys[h] != key:
        h = (h + 1) & mask
    keys[h] = key
    vals[h] = slot


@nb.njit(cache=True, inline="always")
def distance_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(a)))


@nb.njit(cache=True, inline="always")
def _fresh(sf: npt.NDArray[np.float64], s: int, col: int, t: float) -> bool:
    return t - sf[s, col] <= STALE_S


@nb.njit(cache=True, inline="always")
def _take(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, tcol: int, srccol: int,
          t: float, rank: int) -> bool:
    """May a value from a source of ``rank`` replace the current one? (updates time/source)"""
    if rank <= si[s, srccol] or t - sf[s, tcol] > STALE_S or math.isnan(sf[s, tcol]):
        sf[s, tcol] = t
        si[s, srccol] = rank
        return True
    return False


@nb.njit(cache=True, inline="always")
def _altitude(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float,
              rank: int, alt: float, src: int) -> None:
    if math.isnan(alt):
        return
    if src == 1:
        sf[s, SF_GEOM] = alt
        sf[s, SF_TGEOM] = t
        si[s, SI_SRC_GEOM] = rank
    elif _take(sf, si, s, SF_TALT, SI_SRC_ALT, t, rank):
        sf[s, SF_ALT] = alt


WT_TIMEOUT_S = 2.5  # wind and temperature: inputs at most this old (readsb TRACK_WT_TIMEOUT)
SIGNAL_RESET_S = 15.0  # no signal level for this long: the average starts again (readsb)
MIN_WIND_MACH = 0.395  # no temperature below this Mach (readsb)
MAX_WIND_KT = 250.0  # a computed wind above this is dropped (readsb)


@nb.njit(cache=True)
def _derive_geom(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float,
                 rank: int) -> None:
    """Geometric altitude = baro altitude + the TC19 GNSS/baro difference, when both are
    fresh and newer than the geometric altitude held (readsb: the baro altitude is more
    recent than the geometric one); its time is the older of the two inputs."""
    ta = sf[s, SF_TALT]
    td = sf[s, SF_TGDELTA]
    if not (t - ta <= STALE_S and t - td <= STALE_S):
        return
    tg = sf[s, SF_TGEOM]
    if not math.isnan(tg) and max(ta, td) <= tg:
        return
    sf[s, SF_GEOM] = sf[s, SF_ALT] + sf[s, SF_GDELTA]
    sf[s, SF_TGEOM] = min(ta, td)
    si[s, SI_SRC_GEOM] = rank


@nb.njit(cache=True)
def _temperature(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int,
                 t: float) -> None:
    """Static and total air temperature from TAS and Mach (readsb calc_temp): airborne,
    both at most WT_TIMEOUT_S old, Mach at least MIN_WIND_MACH."""
    if si[s, SI_GROUND] == 1:
        return
    if not (t - sf[s, SF_TTAS] <= WT_TIMEOUT_S and t - sf[s, SF_TMACH] <= WT_TIMEOUT_S):
        return
    mach = sf[s, SF_MACH]
    if not mach >= MIN_WIND_MACH:
        return
    frac = sf[s, SF_TAS] / 661.47 / mach
    oat = frac * frac * 288.15 - 273.15
    sf[s, SF_OAT] = oat
    sf[s, SF_TATEMP] = (oat + 273.15) * (1.0 + 0.2 * mach * mach) - 273.15
    sf[s, SF_TTEMP] = t


@nb.njit(cache=True)
def _wind(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float) -> None:
    """Wind from the triangle of TAS on the true heading and ground speed on the track
    (readsb calc_wind): airborne with a position of the last 60 s, TAS and ground speed at most
    WT_TIMEOUT_S old, track and true heading at most half that, at most once a second."""
    if si[s, SI_GROUND] == 1 or not t - sf[s, SF_TPOS] <= 60.0:
        return
    if t - sf[s, SF_TWIND] < 1.0:
        return
    if not (t - sf[s, SF_TTAS] <= WT_TIMEOUT_S and t - sf[s, SF_TVEL] <= WT_TIMEOUT_S / 2
            and t - sf[s, SF_TTHDG] <= WT_TIMEOUT_S / 2):
        return
    trk = math.radians(sf[s, SF_TRK])
    hdg = math.radians(sf[s, SF_THDG])
    gs = sf[s, SF_GS]
    crab = (hdg - trk + math.pi) % (2.0 * math.pi) - math.pi
    head = sf[s, SF_TAS] - math.cos(crab) * gs
    cross = math.sin(crab) * gs
    ws = math.sqrt(head * head + cross * cross)
    if not ws <= MAX_WIND_KT:
        return
    sf[s, SF_WD] = math.degrees((hdg + math.atan2(cross, head)) % (2.0 * math.pi))
    sf[s, SF_WS] = ws
    sf[s, SF_WALT] = sf[s, SF_ALT]
    sf[s, SF_TWIND] = t


@nb.njit(cache=True)
def _signal(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float,
            dbfs: float) -> None:
    """Keep the last 8 signal levels as linear power (readsb's ring); a message without one
    more than SIGNAL_RESET_S after the last level empties the ring."""
    if math.isnan(dbfs):
        if t - sf[s, SF_TSIG] > SIGNAL_RESET_S:
            si[s, SI_NSIG] = 0
        return
    k = si[s, SI_NSIG]
    sf[s, SF_SIG0 + k % 8] = 10.0 ** (dbfs / 10.0)
    si[s, SI_NSIG] = k + 1 if k < 15 else 8 + (k + 1) % 8
    sf[s, SF_TSIG] = t


DECLINATION_EVERY_S = 60.0  # the declination at an aircraft is computed again after this
MAX_CRAB_DEG = 45.0  # a derived true heading this far off the track is not taken (readsb)


@nb.njit(cache=True)
def _true_from_magnetic(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int,
                        t: float, hdg: float) -> bool:
    """True heading = magnetic heading + the declination at the aircraft's last position
    (WMM2025), as readsb derives it: not over a true heading sent as such in the last 30 s,
    not without a position of the last 10 minutes, not more than 45° off a fresh track."""
    if si[s, SI_THDG_SRC] == 0 and t - sf[s, SF_TTHDG] <= STALE_S:
        return False
    if not t - sf[s, SF_TPOS] <= LOCAL_AIRBORNE_S:
        return False
    if not t - sf[s, SF_TDECL] <= DECLINATION_EVERY_S:
        alt = sf[s, SF_ALT]
        height_km = 0.0 if math.isnan(alt) else max(alt, 0.0) * 0.0003048
        sf[s, SF_DECL] = declination_at(sf[s, SF_LAT], sf[s, SF_LON], height_km, t)
        sf[s, SF_TDECL] = t
    true = (hdg + sf[s, SF_DECL]) % 360.0
    if t - sf[s, SF_TVEL] <= 60.0 and not math.isnan(sf[s, SF_TRK]):
        crab = (true - sf[s, SF_TRK] + 180.0) % 360.0 - 180.0
        if not abs(crab) < MAX_CRAB_DEG:
            return False
    sf[s, SF_THDG] = true
    sf[s, SF_TTHDG] = t
    si[s, SI_THDG_SRC] = 1
    return True


@nb.njit(cache=True, inline="always")
def _details(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float,
             tc: int, hdg: float, hrd: int, track_rate: float, ias: float, tas: float,
             mach: float, roll: float, nacp: int, nacv: int, sil: int, version: int,
             sil_sup: int, nic_baro: int, gva: int, sda: int, nic_a: int, nic_c: int,
             emergency: int, sel_alt: float, sel_alt_src: int, sel_hdg: float, baro: float,
             nav: int) -> None:
    """Air data, accuracy values and autopilot settings of one message (last value wins),
    each with its group's clock; then the derived temperatures and wind."""
    if hrd >= 0:
        si[s, SI_HRD] = hrd
    true_new = False
    if not math.isnan(hdg):
        # TC19 headings are true when the operational status says so (HRD 0), else
        # magnetic, as Comm-B 6,0's always are
        if tc == 19 and si[s, SI_HRD] == 0:
            sf[s, SF_THDG] = hdg
            sf[s, SF_TTHDG] = t
            si[s, SI_THDG_SRC] = 0
            true_new = True
        else:
            sf[s, SF_HDG] = hdg
            sf[s, SF_TAIR] = t
            true_new = _true_from_magnetic(sf, si, s, t, hdg)
    if not math.isnan(track_rate):
        sf[s, SF_TRATE] = track_rate
        sf[s, SF_TTRATE] = t
    if not math.isnan(ias):
        sf[s, SF_IAS] = ias
        sf[s, SF_TAIR] = t
    tas_new = not math.isnan(tas)
    if tas_new:
        sf[s, SF_TAS] = tas
        sf[s, SF_TAIR] = t
        sf[s, SF_TTAS] = t
    mach_new = not math.isnan(mach)
    if mach_new:
        sf[s, SF_MACH] = mach
        sf[s, SF_TAIR] = t
        sf[s, SF_TMACH] = t
    if not math.isnan(roll):
        sf[s, SF_ROLL] = roll
        sf[s, SF_TAIR] = t
    quality = False
    if nacp >= 0:
        si[s, SI_NACP] = nacp
        quality = True
    if nacv >= 0:
        si[s, SI_NACV] = nacv
        quality = True
    if sil >= 0:
        si[s, SI_SIL] = sil
        quality = True
    if version >= 0:
        si[s, SI_VERSION] = version
        quality = True
    if sil_sup >= 0:
        si[s, SI_SILSUP] = sil_sup
        quality = True
    if nic_baro >= 0:
        si[s, SI_NICBARO] = nic_baro
        quality = True
    if gva >= 0:
        si[s, SI_GVA] = gva
        quality = True
    if sda >= 0:
        si[s, SI_SDA] = sda
        quality = True
    if quality:
        sf[s, SF_TQUAL] = t
    if nic_a >= 0:
        si[s, SI_NICA] = nic_a
    if nic_c >= 0:
        si[s, SI_NICC] = nic_c
    if emergency >= 0:
        si[s, SI_EMERG] = emergency
    if not math.isnan(sel_alt):
        if sel_alt_src == 1:
            sf[s, SF_FMSALT] = sel_alt
        else:
            sf[s, SF_SELALT] = sel_alt
        sf[s, SF_TNAV] = t
    if not math.isnan(sel_hdg):
        sf[s, SF_NAVHDG] = sel_hdg
        sf[s, SF_TNAV] = t
    if not math.isnan(baro):
        sf[s, SF_BARO] = baro
        sf[s, SF_TNAV] = t
    if nav >= 0:
        si[s, SI_NAV] = nav
        sf[s, SF_TNAV] = t
    if tas_new or mach_new:
        _temperature(sf, si, s, t)
    if tas_new or true_new:
        _wind(sf, si, s, t)


@nb.njit(cache=True)
def _nic(tc: int, nic_a: int, nic_b: int, nic_c: int) -> int:
    """NIC from the position type code and the supplements (DO-260B Tables 2-14/2-15)."""
    a = 1 if nic_a == 1 else 0
    b = 1 if nic_b == 1 else 0
    c = 1 if nic_c == 1 else 0
    if tc == 9 or tc == 20 or tc == 5:
        return 11
    if tc == 10 or tc == 21 or tc == 6:
        return 10
    if tc == 11:
        return 9 if a and b else 8
    if tc == 7:
        return 9 if a else 8
    if tc == 12:
        return 7
    if tc == 8:
        return 7 if a and c else (6 if a or c else 0)
    if tc == 13:
        return 6
    if tc == 14:
        return 5
    if tc == 15:
        return 4
    if tc == 16:
        return 3 if a and b else 2
    if tc == 17:
        return 1
    return 0


@nb.njit(cache=True)
def _nearest_airport_nm(
    lat: float, lon: float, grid_start: npt.NDArray[np.int64], grid_idx: npt.NDArray[np.int64],
    ap_lat: npt.NDArray[np.float64], ap_lon: npt.NDArray[np.float64]
) -> float:
    """Distance to the nearest airport, searching the 1°×1° cells around the point."""
    best = 1e9
    if grid_start.shape[0] < 2:
        return best
    ci = math.floor(lat) + 90
    cj = math.floor(lon) + 180
    for di in range(-1, 2):
        i = ci + di
        if i < 0 or i >= 180:
            continue
        for dj in range(-1, 2):
            j = (cj + dj) % 360
            cell = i * 360 + j
            for k in range(grid_start[cell], grid_start[cell + 1]):
                a = grid_idx[k]
                d = distance_nm(lat, lon, ap_lat[a], ap_lon[a])
                if d < best:
                    best = d
    return best


@nb.njit(cache=True)
def _surface_reference(
    sf: npt.NDArray[np.float64], s: int, t: float, rx_lat: float, rx_lon: float,
    elat: int, elon: int, olat: int, olon: int, odd_latest: bool,
    grid_start: npt.NDArray[np.int64], grid_idx: npt.NDArray[np.int64],
    ap_lat: npt.NDArray[np.float64], ap_lon: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """A reference for surface decoding: last position, receiver, or nearest airport."""
    if not math.isnan(sf[s, SF_TPOS]) and t - sf[s, SF_TPOS] < 1800.0:
        return sf[s, SF_LAT], sf[s, SF_LON]
    if not math.isnan(sf[s, SF_REFLAT]):
        return sf[s, SF_REFLAT], sf[s, SF_REFLON]
    if not math.isnan(rx_lat):
        return rx_lat, rx_lon
    best = 15.0
    blat = math.nan
    blon = math.nan
    for qlat in (45.0, -45.0):
        for qlon in (-135.0, -45.0, 45.0, 135.0):
            lat, lon, ok = surface_global(elat, elon, olat, olon, odd_latest, qlat, qlon)
            if not ok:
                continue
            d = _nearest_airport_nm(lat, lon, grid_start, grid_idx, ap_lat, ap_lon)
            if d < best:
                best = d
                blat = lat
                blon = lon
    if not math.isnan(blat):
        sf[s, SF_REFLAT] = blat
        sf[s, SF_REFLON] = blon
    return blat, blon


@nb.njit(cache=True)
def _local_fallback(sf: npt.NDArray[np.float64], s: int, t: float, cpr_lat: int, cpr_lon: int,
                    odd: int, surf: int, allowed_nm: float) -> tuple[float, float, bool]:
    """Local decoding against the last position, accepted only within the speed limit."""
    age_max = LOCAL_SURFACE_S if surf == 1 else LOCAL_AIRBORNE_S
    if not t - sf[s, SF_TPOS] <= age_max:
        return math.nan, math.nan, False
    if surf == 1:
        lat, lon = surface_local(cpr_lat, cpr_lon, odd, sf[s, SF_LAT], sf[s, SF_LON])
    else:
        lat, lon = airborne_local(cpr_lat, cpr_lon, odd, sf[s, SF_LAT], sf[s, SF_LON])
    ok = distance_nm(lat, lon, sf[s, SF_LAT], sf[s, SF_LON]) <= allowed_nm
    return lat, lon, ok


@nb.njit(cache=True)
def _confirms_candidate(sf: npt.NDArray[np.float64], s: int, t: float, lat: float, lon: float,
                        speed_kt: float, slack_nm: float) -> bool:
    """May the track jump to (lat, lon)? Only after RESET_AFTER_S without an accepted position,
    when a previous rejected global fix agrees with this one."""
    if not t - sf[s, SF_TPOS] > RESET_AFTER_S:
        return False
    tc = sf[s, SF_TCAND]
    if math.isnan(tc) or not 0.0 < t - tc <= CANDIDATE_S:
        return False
    allowed = speed_kt * (t - tc) / 3600.0 + slack_nm
    return distance_nm(lat, lon, sf[s, SF_CANDLAT], sf[s, SF_CANDLON]) <= allowed


@nb.njit(cache=True, inline="always")
def emit_position(of: npt.NDArray[np.float64], oi: npt.NDArray[np.int64], npos: int,
                  sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float,
                  lat: float, lon: float, airborne: bool, rank: int, n_rx: int,
                  label: int) -> None:
    """Row ``npos`` of the output matrices: an accepted position with the aircraft's state at
    ``t`` (each field only while fresh; the altitude only when ``airborne``)."""
    of[OF_T, npos] = t
    of[OF_LAT, npos] = lat
    of[OF_LON, npos] = lon
    of[OF_ALT, npos] = sf[s, SF_ALT] if airborne and _fresh(sf, s, SF_TALT, t) else math.nan
    of[OF_GEOM, npos] = sf[s, SF_GEOM] if _fresh(sf, s, SF_TGEOM, t) else math.nan
    fresh_vel = _fresh(sf, s, SF_TVEL, t)
    of[OF_GS, npos] = sf[s, SF_GS] if fresh_vel else math.nan
    of[OF_TRK, npos] = sf[s, SF_TRK] if fresh_vel else math.nan
    of[OF_VR, npos] = sf[s, SF_VR] if _fresh(sf, s, SF_TVR, t) else math.nan
    oi[OI_SLOT, npos] = s
    oi[OI_GROUND, npos] = si[s, SI_GROUND]
    oi[OI_SQUAWK, npos] = si[s, SI_SQUAWK] if t - sf[s, SF_TSQ] <= 300.0 else -1
    oi[OI_NIC, npos] = si[s, SI_NIC]
    oi[OI_NACP, npos] = si[s, SI_NACP]
    oi[OI_SRC, npos] = rank
    oi[OI_RX, npos] = n_rx
    oi[OI_LABEL, npos] = label


@nb.njit(cache=True)
def track_messages(
    # hash table and state
    keys: npt.NDArray[np.uint32], vals: npt.NDArray[np.int64], n_slots: npt.NDArray[np.int64],
    sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], cs: npt.NDArray[np.uint8],
    # messages (MessageBatch columns)
    t_msg: npt.NDArray[np.float64], icao: npt.NDArray[np.uint32], crc_ok: npt.NDArray[np.bool_],
    addr_type: npt.NDArray[np.int8], tc_col: npt.NDArray[np.int8],
    bds: npt.NDArray[np.uint8],
    on_ground: npt.NDArray[np.int8], alt: npt.NDArray[np.float32],
    alt_src: npt.NDArray[np.int8], squawk: npt.NDArray[np.int16], callsign: npt.NDArray[np.uint8],
    category: npt.NDArray[np.uint8], cpr_odd: npt.NDArray[np.int8],
    cpr_lat: npt.NDArray[np.int32], cpr_lon: npt.NDArray[np.int32],
    surface: npt.NDArray[np.int8], nic_b: npt.NDArray[np.int8], gs: npt.NDArray[np.float32],
    trk: npt.NDArray[np.float32], hdg: npt.NDArray[np.float32], ias: npt.NDArray[np.float32],
    tas: npt.NDArray[np.float32], mach: npt.NDArray[np.float32], vr: npt.NDArray[np.float32],
    nacp: npt.NDArray[np.int8], nacv: npt.NDArray[np.int8], sil: npt.NDArray[np.int8],
    version: npt.NDArray[np.int8], nic_a: npt.NDArray[np.int8], nic_c: npt.NDArray[np.int8],
    emergency: npt.NDArray[np.int8], sel_alt: npt.NDArray[np.float32],
    baro: npt.NDArray[np.float32], nav: npt.NDArray[np.int16], roll: npt.NDArray[np.float32],
    alert: npt.NDArray[np.int8], spi: npt.NDArray[np.int8], sil_sup: npt.NDArray[np.int8],
    nic_baro: npt.NDArray[np.int8], gva: npt.NDArray[np.int8], sda: npt.NDArray[np.int8],
    hrd: npt.NDArray[np.int8], vr_src: npt.NDArray[np.int8], gnss_diff: npt.NDArray[np.float32],
    sel_alt_src: npt.NDArray[np.int8], sel_hdg: npt.NDArray[np.float32],
    track_rate: npt.NDArray[np.float32], signal: npt.NDArray[np.float32],
    receiver: npt.NDArray[np.uint16], n_rx: npt.NDArray[np.uint8],
    # receivers and airports
    rx_lat: npt.NDArray[np.float64], rx_lon: npt.NDArray[np.float64], max_range_nm: float,
    grid_start: npt.NDArray[np.int64], grid_idx: npt.NDArray[np.int64],
    ap_lat: npt.NDArray[np.float64], ap_lon: npt.NDArray[np.float64],
    # outputs
    of: npt.NDArray[np.float64], oi: npt.NDArray[np.int64], counters: npt.NDArray[np.int64],
    rj: npt.NDArray[np.int32],
) -> int:
    """Process every message; return the number of positions written to ``of``/``oi``.
    The caller guarantees capacity: free slots ≥ len(messages), table load < 0.5."""
    npos = 0
    for m in range(t_msg.shape[0]):
        t = t_msg[m]
        if math.isnan(t):
            counters[C_NO_TIME] += 1
            continue
        at = np.int64(addr_type[m])
        rank = _RANK_BY_ADDR_TYPE[at] if at >= 0 else 6
        key = np.int64(icao[m])
        if rank >= 7:  # non-ICAO address space
            key |= NON_ICAO_BIT
        s = lookup(keys, vals, key)
        if not crc_ok[m] and (
            s < 0 or si[s, SI_CONFIRMED] == 0 or t - sf[s, SF_TCONF] > GHOST_WINDOW_S
        ):
            counters[C_GHOST] += 1
            continue
        if s < 0:
            s = n_slots[0]
            n_slots[0] += 1
            insert(keys, vals, key, s)
            si[s, SI_KEY] = key
            sf[s, SF_FIRST] = t
        if si[s, SI_ACTIVE] == 0:
            si[s, SI_ACTIVE] = 1
        if crc_ok[m]:
            si[s, SI_CONFIRMED] = 1
            sf[s, SF_TCONF] = t
        counters[C_MESSAGES] += 1
        si[s, SI_MSGS] += 1
        if rank < si[s, SI_BEST_SRC] or not t - sf[s, SF_LAST] <= STALE_S:
            si[s, SI_BEST_SRC] = rank  # best source heard lately
        if t > sf[s, SF_LAST] or math.isnan(sf[s, SF_LAST]):
            sf[s, SF_LAST] = t
        # --- identity and state fields -----------------------------------------------------
        if callsign[m, 0] != 0 and _take(sf, si, s, SF_TCS, SI_SRC_CS, t, rank):
            for k in range(8):
                cs[s, k] = callsign[m, k]
        if squawk[m] >= 0:  # Mode S replies always replace (feeds follow the ranking)
            si[s, SI_SQUAWK] = squawk[m]
            sf[s, SF_TSQ] = t
            si[s, SI_SRC_SQ] = rank
        if category[m] != 0:
            si[s, SI_CAT] = category[m]
        if on_ground[m] >= 0 and _take(sf, si, s, SF_TGND, SI_SRC_GND, t, rank):
            si[s, SI_GROUND] = on_ground[m]
        sig = signal[m]
        if not math.isnan(sig) or si[s, SI_NSIG] > 0:
            _signal(sf, si, s, t, sig)
        has_position = cpr_lat[m] >= 0
        alt_new = False
        if not has_position:  # a position message's altitude goes with its position
            _altitude(sf, si, s, t, rank, alt[m], alt_src[m])
            alt_new = not math.isnan(alt[m])
        if not math.isnan(gs[m]) and _take(sf, si, s, SF_TVEL, SI_SRC_VEL, t, rank):
            sf[s, SF_GS] = gs[m]
            if not math.isnan(trk[m]):
                sf[s, SF_TRK] = trk[m]
        if not math.isnan(vr[m]):
            sf[s, SF_VR] = vr[m]
            sf[s, SF_TVR] = t
            si[s, SI_SRC_VR] = rank
            if vr_src[m] >= 1:  # GNSS, or Comm-B's inertial vertical velocity
                sf[s, SF_GRATE] = vr[m]
                sf[s, SF_TGRATE] = t
            else:
                sf[s, SF_BRATE] = vr[m]
                sf[s, SF_TBRATE] = t
        if alert[m] >= 0:
            si[s, SI_ALERT] = alert[m]
            sf[s, SF_TSTAT] = t
        if spi[m] >= 0:
            si[s, SI_SPI] = spi[m]
            sf[s, SF_TSTAT] = t
        tc = np.int64(tc_col[m])
        if tc >= 19 or bds[m] >= 0x40:
            # ADS-B velocity/status/target state/operational status and Comm-B 4,0-6,0: the
            # only messages that carry the fields below (most messages skip them)
            if not math.isnan(gnss_diff[m]):
                sf[s, SF_GDELTA] = gnss_diff[m]
                sf[s, SF_TGDELTA] = t
                alt_new = True
            _details(sf, si, s, t, tc, hdg[m], hrd[m], track_rate[m], ias[m], tas[m], mach[m],
                     roll[m], nacp[m], nacv[m], sil[m], version[m], sil_sup[m], nic_baro[m],
                     gva[m], sda[m], nic_a[m], nic_c[m], emergency[m], sel_alt[m],
                     sel_alt_src[m], sel_hdg[m], baro[m], nav[m])
        if alt_new and t - sf[s, SF_TGDELTA] <= STALE_S:
            _derive_geom(sf, si, s, t, rank)
        # --- position -------------------------------------------------------------------------
        if not has_position:
            continue
        odd = cpr_odd[m] == 1
        surf = np.int64(surface[m])
        if odd:
            si[s, SI_OLAT] = cpr_lat[m]
            si[s, SI_OLON] = cpr_lon[m]
            si[s, SI_OSURF] = surf
            sf[s, SF_TODD] = t
            t_other = sf[s, SF_TEVEN]
            other_surf = si[s, SI_ESURF]
        else:
            si[s, SI_ELAT] = cpr_lat[m]
            si[s, SI_ELON] = cpr_lon[m]
            si[s, SI_ESURF] = surf
            sf[s, SF_TEVEN] = t
            t_other = sf[s, SF_TODD]
            other_surf = si[s, SI_OSURF]
        window = PAIR_SURFACE_S if surf == 1 else PAIR_AIRBORNE_S
        rxi = np.int64(receiver[m])
        rlat = rx_lat[rxi] if rxi < rx_lat.shape[0] else math.nan
        rlon = rx_lon[rxi] if rxi < rx_lon.shape[0] else math.nan
        lat = math.nan
        lon = math.nan
        is_global = False
        if not math.isnan(t_other) and abs(t - t_other) <= window and other_surf == surf:
            if surf == 1:
                ref_lat, ref_lon = _surface_reference(
                    sf, s, t, rlat, rlon, si[s, SI_ELAT], si[s, SI_ELON], si[s, SI_OLAT],
                    si[s, SI_OLON], odd, grid_start, grid_idx, ap_lat, ap_lon)
                if math.isnan(ref_lat):
                    counters[C_SURFACE_NO_REF] += 1
                    continue
                lat, lon, ok = surface_global(si[s, SI_ELAT], si[s, SI_ELON], si[s, SI_OLAT],
                                              si[s, SI_OLON], odd, ref_lat, ref_lon)
            else:
                lat, lon, ok = airborne_global(si[s, SI_ELAT], si[s, SI_ELON], si[s, SI_OLAT],
                                               si[s, SI_OLON], odd)
            if ok:
                is_global = True
            else:
                counters[C_CPR_GLOBAL_FAIL] += 1
        if not is_global:
            tpos = sf[s, SF_TPOS]
            age_max = LOCAL_SURFACE_S if surf == 1 else LOCAL_AIRBORNE_S
            if math.isnan(tpos) or t - tpos > age_max:
                counters[C_CPR_NO_PAIR] += 1
                continue
            if surf == 1:
                lat, lon = surface_local(cpr_lat[m], cpr_lon[m], cpr_odd[m], sf[s, SF_LAT],
                                         sf[s, SF_LON])
                limit = 45.0
            else:
                lat, lon = airborne_local(cpr_lat[m], cpr_lon[m], cpr_odd[m], sf[s, SF_LAT],
                                          sf[s, SF_LON])
                limit = 180.0
            if distance_nm(lat, lon, sf[s, SF_LAT], sf[s, SF_LON]) > limit:
                counters[C_CPR_NO_PAIR] += 1
                continue
        # --- plausibility -----------------------------------------------------------------
        if (max_range_nm > 0 and not math.isnan(rlat)
                and distance_nm(lat, lon, rlat, rlon) > max_range_nm):
            counters[C_RANGE] += 1
            rj[s, R_RANGE] += 1
            continue
        if surf == 1 and _fresh(sf, s, SF_TALT, t) and sf[s, SF_ALT] > 5000.0:
            counters[C_SURFACE_IN_AIR] += 1
            rj[s, R_SURFACE_IN_AIR] += 1
            continue
        tpos = sf[s, SF_TPOS]
        if not math.isnan(tpos):
            dt = abs(t - tpos)
            if _fresh(sf, s, SF_TVEL, t) and not math.isnan(sf[s, SF_GS]):
                speed = sf[s, SF_GS] * 1.25 + 50.0
            else:
                speed = 100.0 if surf == 1 else 750.0
            slack = 0.1 if surf == 1 else 1.0
            allowed = speed * dt / 3600.0 + slack
            if distance_nm(lat, lon, sf[s, SF_LAT], sf[s, SF_LON]) > allowed:
                if is_global and _confirms_candidate(sf, s, t, lat, lon, speed, slack):
                    counters[C_RESET] += 1
                else:
                    if is_global:
                        sf[s, SF_CANDLAT] = lat
                        sf[s, SF_CANDLON] = lon
                        sf[s, SF_TCAND] = t
                    # The pair may hold a bad message of the other parity: this message alone,
                    # decoded against the track, may still be good.
                    lat, lon, ok = _local_fallback(sf, s, t, cpr_lat[m], cpr_lon[m],
                                                   np.int64(cpr_odd[m]), surf, allowed)
                    if not (is_global and ok):
                        counters[C_SPEED] += 1
                        rj[s, R_SPEED] += 1
                        continue
                    is_global = False
        if is_global:
            counters[C_GLOBAL] += 1
        else:
            counters[C_LOCAL] += 1
        # --- accept ---------------------------------------------------------------------------
        _altitude(sf, si, s, t, rank, alt[m], alt_src[m])
        if alt_src[m] == 0 and t - sf[s, SF_TGDELTA] <= STALE_S:
            _derive_geom(sf, si, s, t, rank)
        if lat != sf[s, SF_LAT] or lon != sf[s, SF_LON]:  # calc_track: the last move
            sf[s, SF_PREVLAT] = sf[s, SF_LAT]
            sf[s, SF_PREVLON] = sf[s, SF_LON]
        sf[s, SF_LAT] = lat
        sf[s, SF_LON] = lon
        sf[s, SF_TPOS] = t
        si[s, SI_SRC_POS] = rank
        si[s, SI_POSITIONS] += 1
        tc = np.int64(tc_col[m])
        si[s, SI_NIC] = _nic(tc, si[s, SI_NICA], np.int64(nic_b[m]), si[s, SI_NICC])
        if surf == 1:
            si[s, SI_GROUND] = 1
            sf[s, SF_TGND] = t
        elif _take(sf, si, s, SF_TGND, SI_SRC_GND, t, rank):
            si[s, SI_GROUND] = 0
        counters[C_POSITIONS] += 1
        # the message row as label (for multilateration)
        emit_position(of, oi, npos, sf, si, s, t, lat, lon, surf == 0, rank, n_rx[m], m)
        npos += 1
    return npos
