"""Multilateration: Mode S transmissions placed from their times of arrival at several
receivers (docs/mlat.md).

* :mod:`.sites` — receiver positions (source URLs, recording side files, a receivers file);
* :mod:`.geodesy` — WGS84 ↔ ECEF;
* :mod:`.clock` — pairwise clock synchronisation from ADS-B position messages;
* :mod:`.solve` — the time-difference solve (Gauss-Newton in ECEF) with GDOP and residuals;
* :mod:`.filter` — the per-aircraft constant-velocity Kalman filter;
* :mod:`.engine` — :class:`Multilateration`, the stage the pipeline calls per batch;
* :mod:`.synthetic` — synthetic receptions with known truth (tests and bench).
"""

from tailwatch.mlat.engine import MlatSettings, Multilateration
from tailwatch.mlat.sites import Site, Sites

__all__ = ["MlatSettings", "Multilateration", "Site", "Sites"]
