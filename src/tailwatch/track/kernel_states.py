"""The tracker's compiled loop for state vectors (SBS records, readsb JSON, OpenSky,
aggregators): ``track_states`` updates the same per-aircraft rows as
:func:`tailwatch.track.kernel.track_messages`, under the same ranking and checks (see that
module's docstring for the rules); ``lookup_many`` finds the slots of many addresses."""

# numba kernels compute on np.int64 scalars so that numba keeps integer types exact;
# mypy sees np.int64 where int is annotated, hence:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.track.kernel import (
    C_RESET,
    C_STATE_BAD_POSITION,
    C_STATE_NO_POSITION,
    C_STATE_NO_TIME,
    C_STATE_NOT_NEWER,
    C_STATE_OUTRANKED,
    C_STATE_POSITIONS,
    C_STATE_RANGE,
    C_STATE_SPEED,
    C_STATES,
    R_STATE_BAD_POSITION,
    R_STATE_RANGE,
    R_STATE_SPEED,
    SF_ALT,
    SF_BRATE,
    SF_CANDLAT,
    SF_CANDLON,
    SF_FIRST,
    SF_GEOM,
    SF_GS,
    SF_LAST,
    SF_LAT,
    SF_LON,
    SF_TALT,
    SF_TBRATE,
    SF_TCAND,
    SF_TCS,
    SF_TGEOM,
    SF_TGND,
    SF_TPOS,
    SF_TQUAL,
    SF_TRK,
    SF_TSQ,
    SF_TVEL,
    SF_TVR,
    SF_VR,
    SI_ACTIVE,
    SI_BEST_SRC,
    SI_EMERG,
    SI_GROUND,
    SI_KEY,
    SI_LABEL_BEST,
    SI_LABEL_POS,
    SI_MSGS,
    SI_NACP,
    SI_NIC,
    SI_POSITIONS,
    SI_SQUAWK,
    SI_SRC_ALT,
    SI_SRC_CS,
    SI_SRC_GEOM,
    SI_SRC_GND,
    SI_SRC_POS,
    SI_SRC_SQ,
    SI_SRC_VEL,
    SI_SRC_VR,
    STALE_S,
    _confirms_candidate,
    _fresh,
    _take,
    distance_nm,
    emit_position,
    insert,
    lookup,
)


@nb.njit(cache=True)
def lookup_many(keys: npt.NDArray[np.uint32], vals: npt.NDArray[np.int64],
                key: npt.NDArray[np.int64], out: npt.NDArray[np.int64]) -> None:
    """Slots of many keys (-1: unknown)."""
    for i in range(key.shape[0]):
        out[i] = lookup(keys, vals, key[i])


# --- state vectors --------------------------------------------------------------------------


@nb.njit(cache=True)
def _state_slot(keys: npt.NDArray[np.uint32], vals: npt.NDArray[np.int64],
                n_slots: npt.NDArray[np.int64], sf: npt.NDArray[np.float64],
                si: npt.NDArray[np.int64], key: int, t: float) -> int:
    s = lookup(keys, vals, key)
    if s < 0:
        s = n_slots[0]
        n_slots[0] += 1
        insert(keys, vals, key, s)
        si[s, SI_KEY] = key
        sf[s, SF_FIRST] = t
    return s


@nb.njit(cache=True)
def _state_fields(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64],
                  cs: npt.NDArray[np.uint8], s: int, t: float, rank: int, label: int,
                  callsign: npt.NDArray[np.uint8], squawk: int, emergency: int,
                  on_ground: int, nacp: int) -> None:
    """Identity and state fields of one state vector (everything but position, altitude
    and velocity), each under the value/time/source ranking."""
    si[s, SI_ACTIVE] = 1
    si[s, SI_MSGS] += 1
    if rank < si[s, SI_BEST_SRC] or not t - sf[s, SF_LAST] <= STALE_S:
        si[s, SI_BEST_SRC] = rank
        si[s, SI_LABEL_BEST] = label
    elif rank == si[s, SI_BEST_SRC]:
        si[s, SI_LABEL_BEST] = label
    if t > sf[s, SF_LAST] or math.isnan(sf[s, SF_LAST]):
        sf[s, SF_LAST] = t
    if callsign[0] != 0 and _take(sf, si, s, SF_TCS, SI_SRC_CS, t, rank):
        for k in range(8):
            cs[s, k] = callsign[k]
    if squawk >= 0 and _take(sf, si, s, SF_TSQ, SI_SRC_SQ, t, rank):
        si[s, SI_SQUAWK] = squawk
    if emergency >= 0:
        si[s, SI_EMERG] = emergency
    if on_ground >= 0 and _take(sf, si, s, SF_TGND, SI_SRC_GND, t, rank):
        si[s, SI_GROUND] = on_ground
    if nacp >= 0:
        si[s, SI_NACP] = nacp
        sf[s, SF_TQUAL] = t


@nb.njit(cache=True)
def _state_altitudes(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float,
                     rank: int, alt_ft: float, geom_ft: float) -> None:
    if not math.isnan(alt_ft) and _take(sf, si, s, SF_TALT, SI_SRC_ALT, t, rank):
        sf[s, SF_ALT] = alt_ft
    if not math.isnan(geom_ft) and _take(sf, si, s, SF_TGEOM, SI_SRC_GEOM, t, rank):
        sf[s, SF_GEOM] = geom_ft


@nb.njit(cache=True)
def _state_velocity(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int, t: float,
                    rank: int, gs_kt: float, trk_deg: float, vr_fpm: float) -> None:
    if not math.isnan(gs_kt) and _take(sf, si, s, SF_TVEL, SI_SRC_VEL, t, rank):
        sf[s, SF_GS] = gs_kt
        sf[s, SF_TRK] = trk_deg
    if not math.isnan(vr_fpm) and _take(sf, si, s, SF_TVR, SI_SRC_VR, t, rank):
        sf[s, SF_VR] = vr_fpm  # feeds' rates count as barometric (readsb's baro_rate first)
        sf[s, SF_BRATE] = vr_fpm
        sf[s, SF_TBRATE] = t


@nb.njit(cache=True)
def _state_position_check(sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], s: int,
                          t: float, rank: int, lat: float, lon: float, surf: bool,
                          rlat: float, rlon: float, max_range_nm: float,
                          counters: npt.NDArray[np.int64], rj: npt.NDArray[np.int32]) -> bool:
    """May this decoded position become the aircraft's position? Counts the reason if not."""
    if not (abs(lat) <= 90.0 and abs(lon) <= 180.0):
        counters[C_STATE_BAD_POSITION] += 1
        rj[s, R_STATE_BAD_POSITION] += 1
        return False
    tpos = sf[s, SF_TPOS]
    if not math.isnan(tpos) and not t > tpos:
        counters[C_STATE_NOT_NEWER] += 1
        return False
    if not math.isnan(tpos) and rank > si[s, SI_SRC_POS] and t - tpos <= STALE_S:
        counters[C_STATE_OUTRANKED] += 1
        return False
    if (max_range_nm > 0 and not math.isnan(rlat)
            and distance_nm(lat, lon, rlat, rlon) > max_range_nm):
        counters[C_STATE_RANGE] += 1
        rj[s, R_STATE_RANGE] += 1
        return False
    if math.isnan(tpos):
        return True
    if _fresh(sf, s, SF_TVEL, t) and not math.isnan(sf[s, SF_GS]):
        speed = sf[s, SF_GS] * 1.25 + 50.0
    else:
        speed = 100.0 if surf else 750.0
    slack = 0.1 if surf else 1.0
    allowed = speed * (t - tpos) / 3600.0 + slack
    if distance_nm(lat, lon, sf[s, SF_LAT], sf[s, SF_LON]) <= allowed:
        return True
    if _confirms_candidate(sf, s, t, lat, lon, speed, slack):
        counters[C_RESET] += 1
        return True
    sf[s, SF_CANDLAT] = lat
    sf[s, SF_CANDLON] = lon
    sf[s, SF_TCAND] = t
    counters[C_STATE_SPEED] += 1
    rj[s, R_STATE_SPEED] += 1
    return False


@nb.njit(cache=True)
def track_states(
    keys: npt.NDArray[np.uint32], vals: npt.NDArray[np.int64], n_slots: npt.NDArray[np.int64],
    sf: npt.NDArray[np.float64], si: npt.NDArray[np.int64], cs: npt.NDArray[np.uint8],
    # state vectors (decoded values; NaN / -1 / b"" where absent)
    t_in: npt.NDArray[np.float64], icao: npt.NDArray[np.uint32], rank_in: npt.NDArray[np.int64],
    label_in: npt.NDArray[np.int64], lat_in: npt.NDArray[np.float64],
    lon_in: npt.NDArray[np.float64], alt_in: npt.NDArray[np.float32],
    geom_in: npt.NDArray[np.float32], gs_in: npt.NDArray[np.float32],
    trk_in: npt.NDArray[np.float32], vr_in: npt.NDArray[np.float32],
    ground_in: npt.NDArray[np.int8], callsign: npt.NDArray[np.uint8],
    squawk_in: npt.NDArray[np.int16], nic_in: npt.NDArray[np.int8],
    nacp_in: npt.NDArray[np.int8], emerg_in: npt.NDArray[np.int8],
    receiver: npt.NDArray[np.uint16], n_rx: npt.NDArray[np.uint8],
    rx_lat: npt.NDArray[np.float64], rx_lon: npt.NDArray[np.float64], max_range_nm: float,
    of: npt.NDArray[np.float64], oi: npt.NDArray[np.int64], counters: npt.NDArray[np.int64],
    rj: npt.NDArray[np.int32],
) -> int:
    """Merge decoded state vectors (SBS records, readsb JSON, OpenSky, aggregators) into the
    live table under the same per-field ranking as messages; rows with a position pass the
    plausibility checks (no CPR). Returns the number of positions written to ``of``/``oi``."""
    npos = 0
    for m in range(t_in.shape[0]):
        t = t_in[m]
        if math.isnan(t):
            counters[C_STATE_NO_TIME] += 1
            continue
        rank = rank_in[m]
        label = label_in[m]
        s = _state_slot(keys, vals, n_slots, sf, si, np.int64(icao[m]), t)
        counters[C_STATES] += 1
        _state_fields(sf, si, cs, s, t, rank, label, callsign[m], np.int64(squawk_in[m]),
                      np.int64(emerg_in[m]), np.int64(ground_in[m]), np.int64(nacp_in[m]))
        lat = lat_in[m]
        lon = lon_in[m]
        if math.isnan(lat) or math.isnan(lon):
            counters[C_STATE_NO_POSITION] += 1
            _state_altitudes(sf, si, s, t, rank, alt_in[m], geom_in[m])
            _state_velocity(sf, si, s, t, rank, gs_in[m], trk_in[m], vr_in[m])
            continue
        rxi = np.int64(receiver[m])
        rlat = rx_lat[rxi] if rxi < rx_lat.shape[0] else math.nan
        rlon = rx_lon[rxi] if rxi < rx_lon.shape[0] else math.nan
        surf = ground_in[m] == 1 or (ground_in[m] < 0 and si[s, SI_GROUND] == 1)
        ok = _state_position_check(sf, si, s, t, rank, lat, lon, surf, rlat, rlon,
                                   max_range_nm, counters, rj)
        # the speed check used the previous velocity; now the vector's own
        _state_velocity(sf, si, s, t, rank, gs_in[m], trk_in[m], vr_in[m])
        if not ok:
            continue
        _state_altitudes(sf, si, s, t, rank, alt_in[m], geom_in[m])
        sf[s, SF_LAT] = lat
        sf[s, SF_LON] = lon
        sf[s, SF_TPOS] = t
        si[s, SI_SRC_POS] = rank
        si[s, SI_LABEL_POS] = label
        si[s, SI_POSITIONS] += 1
        if nic_in[m] >= 0:
            si[s, SI_NIC] = nic_in[m]
        counters[C_STATE_POSITIONS] += 1
        on_gnd = si[s, SI_GROUND] == 1 and _fresh(sf, s, SF_TGND, t)
        emit_position(of, oi, npos, sf, si, s, t, lat, lon, not on_gnd, rank, n_rx[m], label)
        npos += 1
    return npos
