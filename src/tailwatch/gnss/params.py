"""Thresholds of the GNSS interference indicators (docs/gnss.md explains each one).

``GnssParams`` is a pydantic model so that it can become the ``gnss`` section of
tailwatch.config as it stands; every field has a unit in its name.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GnssParams(BaseModel):
    """Thresholds of the per-aircraft quality counter, the spoofing tests and the hex levels."""

    model_config = ConfigDict(frozen=True)

    # --- quality (jamming) -------------------------------------------------------------
    bad_nic: int = Field(5, description="A position with NIC <= this is bad (Rc >= 1 NM).")
    bad_nacp: int = Field(6, description="A position with NACp <= this is bad (EPU >= 0.3 NM).")
    good_nic: int = Field(7, description="NIC >= this (and NACp good or absent) is good.")
    good_nacp: int = Field(8, description="NACp >= this (and NIC good or absent) is good.")
    counter_max: int = Field(4, ge=1, description="Ceiling of the per-aircraft counter.")
    counter_enter: int = Field(
        3, ge=1, description="Counter value that confirms a degradation (bad +1, good -1).")
    lost_gap_s: float = Field(
        10.0, gt=0, description="A silence longer than this inside a degradation counts as "
        "positions lost.")
    episode_gap_s: float = Field(
        600.0, gt=0, description="A silence longer than this ends an episode.")
    report_every_s: float = Field(
        1800.0, gt=0, description="An episode longer than this is reported in parts (live).")

    lost_after_s: float = Field(
        30.0, gt=0, description="An airborne aircraft still heard whose last position is older "
        "than this has lost its positions (live table snapshots).")
    lost_min_s: float = Field(
        60.0, gt=0, description="Positions lost for at least this long make a gnss_jamming "
        "event...")
    lost_min_messages: int = Field(
        20, ge=1, description="...with at least this many messages heard meanwhile (not an "
        "aircraft at the edge of coverage).")
    heard_within_s: float = Field(
        10.0, gt=0, description="An aircraft is still heard when its last message is at most "
        "this old.")

    # --- spoofing ------------------------------------------------------------------------
    dr_base_nm: float = Field(
        3.0, gt=0, description="Tolerance of a position against dead reckoning, fixed part.")
    dr_rate: float = Field(
        0.1, ge=0, description="Tolerance growth per NM dead-reckoned since the last fix.")
    dr_trust_gap_s: float = Field(
        60.0, gt=0, description="No new position for longer than this: dead reckoning is not "
        "trusted to open an episode (turns in the gap).")
    min_moving_kt: float = Field(
        100.0, gt=0, description="Reported ground speed above which a still position is "
        "evidence.")
    speed_min_nm: float = Field(
        2.0, gt=0, description="Steps shorter than this are not judged on speed.")
    max_gs_low_kt: float = Field(
        550.0, gt=0, description="Highest plausible ground speed at or below 10,000 ft.")
    max_gs_high_kt: float = Field(
        800.0, gt=0, description="Highest plausible ground speed at or above FL300.")
    spoof_min_n: int = Field(
        3, ge=1, description="Positions away from the expected one needed for a verdict.")
    spoof_min_s: float = Field(
        20.0, ge=0, description="Time over which they must spread.")
    spoof_min_offset_nm: float = Field(
        10.0, gt=0, description="...and an offset from the expected position of at least "
        "this, unless two kinds of evidence agree or MLAT or the radio horizon (evidence "
        "independent of the aircraft's own data) says so.")
    feed_velocity_stale_s: float = Field(
        60.0, gt=0, description="A decoded feed whose velocity did not change for this long "
        "repeats an old one: not used for dead reckoning.")
    spoof_end_n: int = Field(
        3, ge=1, description="Consistent positions in a row that end an episode.")
    mlat_max_age_s: float = Field(
        10.0, gt=0, description="MLAT position at most this old is compared with ADS-B.")
    mlat_tol_nm: float = Field(
        3.0, gt=0, description="ADS-B and MLAT farther apart than this disagree.")
    baro_jump_ft: float = Field(
        1000.0, gt=0, description="GNSS-baro difference departing from the aircraft's "
        "baseline by more than this is evidence.")
    same_point_nm: float = Field(
        0.5, gt=0, description="Aircraft reporting positions this close in one minute...")
    same_point_min_aircraft: int = Field(
        3, ge=2, description="...this many of them, moving, are at the same point.")
    horizon_margin: float = Field(
        1.3, ge=1, description="Radio horizon multiplier (refraction, ducting) before a "
        "position counts as beyond every receiver's horizon.")

    # --- hexagons --------------------------------------------------------------------------
    level_low_share: float = Field(
        0.02, ge=0, le=1, description="Share of degraded aircraft from which a cell is low.")
    level_high_share: float = Field(
        0.10, ge=0, le=1, description="Share of degraded aircraft from which a cell is high.")
    level_min_aircraft: int = Field(
        3, ge=1, description="Cells with fewer aircraft get a level from spoofing only.")
    level_min_degraded: int = Field(
        2, ge=1, description="Degraded aircraft needed for high (one aircraft is not a zone).")
    grid_deg: float = Field(
        0.01, gt=0, le=0.1, description="Positions are reduced to this grid per aircraft and "
        "period before the H3 look-up (1.1 km: well inside a resolution-6 cell).")
    resolutions: tuple[int, ...] = Field(
        (3, 4, 5, 6), description="H3 resolutions kept (3-6).")
