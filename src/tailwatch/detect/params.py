"""Every threshold of the flight and event detectors, in one place (documented in docs/events.md).

Times are seconds, speeds knots, heights feet, distances nautical miles unless the name says
otherwise. Heights "above the field" use the barometric altitude (pressure altitude, standard
setting) minus the airport elevation, so they carry the QNH error (about 27 ft per hPa, a few
hundred feet in deep lows or highs): the thresholds leave room for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DetectParams:
    """Thresholds of :class:`~tailwatch.detect.flights.FlightDetector`."""

    process_every_s: float = 10.0
    """Live use: each aircraft's new positions are processed together once the oldest has
    waited this long (data time), or at once when they carry an emergency squawk or status,
    when the aircraft went silent, and at the end. The results do not depend on it; the cost
    (mostly per aircraft and call) falls by this factor, events come up to this much later."""

    # --- ground / air state --------------------------------------------------------------
    speed_window_s: float = 10.0
    """Ground speed from positions: distance to the last position at least this old..."""
    speed_max_span_s: float = 90.0
    """... when that position is at most this old (else the reported ground speed is used)."""
    ground_max_kt: float = 250.0
    """A position reported on the ground moving faster than this is airborne."""
    parked_max_kt: float = 40.0
    """A position reported airborne but slower than this within ``airport_near_nm`` of an
    airport is on the ground (transponders that never report ground, air/ground flicker)."""
    airport_near_nm: float = 3.0
    unknown_air_kt: float = 80.0
    """A position of unknown air/ground state faster than this is airborne."""
    unknown_ground_height_ft: float = 300.0
    """... and slower than ``parked_max_kt`` and lower than this above the field: on the ground."""
    unknown_air_height_ft: float = 500.0
    min_run_n: int = 3
    """Hysteresis: a run of one state is real when it has ``min_run_n`` positions over
    ``min_run_s`` seconds, or two positions ``long_run_s`` apart; shorter runs take the state
    of the run before them."""
    min_run_s: float = 5.0
    long_run_s: float = 20.0
    altitude_jump_ft: float = 1000.0
    """Altitude filter: a value farther than this + ``altitude_rate_fpm`` x elapsed time from
    the last accepted one is a spike (unless ``altitude_resync_n`` consecutive spikes agree)."""
    altitude_rate_fpm: float = 8000.0
    interpolated_mismatch_kt: float = 50.0
    """Hygiene: a position on exactly the line and pace of the step before (to 1e-6°) whose
    motion is this much (and half) off the reported speed was made up by resampling
    (detect/hygiene.py)."""
    track_mismatch_deg: float = 45.0
    """A reported track more than this off the track measured from the positions (moving
    faster than ``parked_max_kt``) is replaced by the measured one (counted per aircraft as
    ``track_mismatch``)."""
    altitude_resync_n: int = 3

    # --- gaps -------------------------------------------------------------------------------
    coverage_gap_s: float = 300.0
    """No position for this long: leave_coverage / enter_coverage (airborne aircraft)."""
    flight_gap_s: float = 1800.0
    """No position for this long: the open flight is closed (and re-opened when the aircraft
    comes back on a direct course)."""
    evict_after_s: float = 48 * 3600.0
    """Per-aircraft state is dropped after this long without a position."""

    # --- take-off / landing ---------------------------------------------------------------
    transition_pre_s: float = 180.0
    """Positions before a take-off or landing used to name its airport and runway."""
    transition_post_s: float = 60.0
    """Positions after it (the decision waits for them)."""
    roll_min_kt: float = 30.0
    """Ground positions faster than this are the take-off or landing roll."""
    runway_max_height_ft: float = 1500.0
    """Airborne positions at most this high above the field are matched to a runway."""
    transition_airport_nm: float = 5.0
    """The airport of a take-off or landing is within this distance of the lift-off or
    touch-down point."""
    field_height_min_ft: float = -800.0
    field_height_max_ft: float = 2000.0
    """An airport is consistent with a take-off/landing when the aircraft's first/last
    airborne altitude is within this band above its elevation."""
    taxi_out_s: float = 1800.0
    """Ground positions up to this long before a take-off belong to the flight."""
    taxi_in_s: float = 600.0
    """Ground positions up to this long after a landing belong to the flight."""
    touch_and_go_max_s: float = 120.0
    """A landing followed by a take-off within this long, never slower than
    ``touch_and_go_min_kt`` in between, is a touch-and-go."""
    touch_and_go_min_kt: float = 30.0

    # --- airports of flights seen only in the air --------------------------------------------
    descent_window_s: float = 600.0
    """The last/first positions of a flight used to find the airport ahead/behind."""
    max_rows_per_aircraft: int = 3000
    """Memory bound: at most this many decided positions are kept per aircraft (the last
    ones, for the windows above) and in a flight's first ``descent_window_s``. 3000 rows is
    5 positions a second over 600 s, well above a real aircraft's rate (ADS-B sends about 2
    airborne positions a second), so only an implausibly fast feed (a soak, a duplicated
    stream) is cut to it: its windows then span less time."""
    descent_min_ft: float = 1000.0
    """A flight ends "descending" when it lost this much altitude over ``descent_window_s``
    (or its last vertical rate is below -``descent_min_fpm``)."""
    descent_min_fpm: float = 300.0
    glide_ft_per_nm: float = 300.0
    """Expected height lost per nautical mile on a descent (3° ≈ 318 ft/NM)."""
    candidate_max_nm: float = 200.0
    candidate_cone_deg: float = 60.0
    """Candidates ahead (behind) within this angle of the track, unless closer than
    ``candidate_any_bearing_nm``."""
    candidate_any_bearing_nm: float = 10.0
    runway_fit_max_nm: float = 12.0
    """Runway geometry of an air start or end: the runway ends of the airports within this
    distance of the first/last position are fitted (detect/attribution.py)."""
    runway_fit_corridor_m: float = 1500.0
    """A position counts for a runway end when its track is within 15° of the axis and it is
    within this of the extended centreline (+ a 5° cone beyond the runway): wide enough that
    a parallel runway is fitted too, and loses on its offset."""
    runway_fit_min_score: float = 0.2
    """... and the best fit names the airport and runway when it scores at least this."""
    glide_tolerance_ft: float = 300.0
    """Height above a 3° path tolerated on an approach (+ 15 % of the expected height)."""
    climb_max_ft_per_nm: float = 1000.0
    """Steepest plausible climb-out: a first position higher than this above the runway per
    NM past its start (+ ``glide_tolerance_ft``) does not fit that runway."""
    airline_military_weight: float = 0.05
    """Weight of a military field without scheduled service (no IATA code) for an airline
    callsign (three letters and a digit)."""
    airline_no_iata_weight: float = 0.3
    """Weight of any other airport without an IATA code for an airline callsign."""

    # --- itineraries --------------------------------------------------------------------------
    itinerary_break_s: float = 36 * 3600.0
    """A flight starting this long after the previous one ended starts a new itinerary."""
    direct_speed_margin: float = 0.2
    """Gap allowed for a direct (unseen) leg: great-circle time at cruise speed
    x (1 + margin) + ``direct_fixed_margin_s``."""
    direct_fixed_margin_s: float = 2700.0
    min_stop_s: float = 1800.0
    """Shortest plausible unseen stop (landing, turnaround, take-off)."""
    stop_runway_ft: float = 5000.0
    """Runway length needed by a jet of unknown type (cruise >= 380 kt) for an unseen stop or
    a runway fit: a floor, as business jets use 3,000 ft and a Boeing 737 lands on 5,000
    (``FlightDetector(types=...)`` or ``min_runway_ft=...`` give per-airframe values)."""
    stop_course_deg: float = 5.0
    """Stop candidates: spread of the course towards the stop around the track seen before
    the gap (and of the course from the stop around the track seen after it)."""
    default_cruise_kt: float = 250.0
    direct_min_speed_frac: float = 0.35
    """A direct leg across a gap is plausible only when its implied speed is at least this
    fraction of the cruise speed; a slower one (2 kt between two points near one airport)
    is first tried as a stop at an airport (``gap_stop_*``)."""
    gap_stop_max_nm: float = 20.0
    """Stops across gaps (detect/gaps.py): both ends of the gap within this of the airport..."""
    gap_stop_approach_ft_per_nm: float = 400.0
    """... the last position before the gap at most this high above it per NM out (+ margin)..."""
    gap_stop_climb_ft_per_nm: float = 1000.0
    """... the first one after it at most this high per NM out (a steep climb-out)..."""
    gap_stop_height_margin_ft: float = 1500.0
    gap_stop_min_ft_per_nm: float = 150.0
    """... and both at least this high per NM out (a 1.5° path) - ``gap_stop_low_margin_ft``:
    lower than that far out is low flying, not an approach or a climb-out..."""
    gap_stop_low_margin_ft: float = 500.0
    gap_stop_speed_kt: float = 150.0
    """... flying to and from the airport at this speed..."""
    gap_stop_min_ground_s: float = 300.0
    """... leaves at least this long on the ground."""
    gap_stop_scale_nm: float = 10.0
    """Candidates weigh exp(-(d(last, X) + d(X, next)) / this)."""
    gap_stop_unknown_runway_ft: float = 3000.0
    """Airports without a known runway are candidates for aircraft needing at most this."""
    max_stop_candidates: int = 5
    same_airport_nm: float = 3.0

    # --- events -----------------------------------------------------------------------------
    squawk_confirm_n: int = 2
    """A new squawk counts once seen in this many consecutive positions."""
    go_around_max_height_ft: float = 700.0
    """Go-around: the lowest point at most this high above the field ("a few hundred feet",
    with room for the QNH error of a pressure altitude)..."""
    go_around_approach_s: float = 90.0
    go_around_min_approach_n: int = 2
    """... reached on a runway axis before its far end, with at least this many airborne
    positions of the ``go_around_approach_s`` before it on the same axis, further back and
    higher (a real approach; frozen positions are never used)."""
    go_around_airport_nm: float = 6.0
    go_around_descent_ft: float = 300.0
    """The aircraft came down at least this much in the ``go_around_window_s`` before the
    lowest point..."""
    go_around_climb_ft: float = 500.0
    """... and climbed at least this much within ``go_around_window_s`` after it."""
    go_around_window_s: float = 300.0
    orbit_turn_deg: float = 720.0
    orbit_window_s: float = 7200.0
    orbit_max_radius_nm: float = 40.0
    orbit_sample_s: float = 10.0
    orbit_max_step_s: float = 120.0
    gnss_good_nic: int = 7
    gnss_bad_nic: int = 4
    gnss_good_nacp: int = 8
    gnss_bad_nacp: int = 5
    gnss_min_n: int = 2
    """A degradation is reported when ``gnss_min_n`` consecutive airborne positions are bad
    (NIC <= gnss_bad_nic or NACp <= gnss_bad_nacp) after a good one (NIC >= gnss_good_nic or
    NACp >= gnss_good_nacp); it ends with ``gnss_min_n`` good ones."""
    jump_max_kt: float = 1000.0
    """Implausible position: implied speed from the previous position above this..."""
    jump_min_nm: float = 3.0
    """... over a jump of at least this much."""
    implausible_every_s: float = 60.0
    """At most one implausible_position event per aircraft in this long."""
