"""The one exception tree of tailwatch.

Every error tailwatch raises on purpose derives from :class:`TailwatchError`.
Errors about bad values also derive from :class:`ValueError`, so callers that
already catch ``ValueError`` keep working.

Batch paths never raise on bad *data*: they drop the row under a named reject
counter (see :mod:`tailwatch.core.rejects`). Exceptions are for single-message
helpers, bad arguments and broken configuration.
"""

from __future__ import annotations


class TailwatchError(Exception):
    """Base class of every error raised by tailwatch."""


class DecodeError(TailwatchError, ValueError):
    """A single message cannot be decoded (bad length, not hex, unknown DF, bad CRC)."""


class FormatError(TailwatchError, ValueError):
    """A file or stream is not in the format it was declared (or detected) to be."""


class ConfigError(TailwatchError, ValueError):
    """A setting is missing or has a value tailwatch cannot use."""


class SourceError(TailwatchError):
    """A feed source cannot be opened or has failed for good."""


class StoreError(TailwatchError):
    """The history store cannot be opened, written or queried."""


class ReferenceDataError(TailwatchError):
    """Reference data (aircraft database, airports, ranges) is missing or malformed."""
