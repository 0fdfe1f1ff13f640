"""tailwatch: a self-hosted flight tracker for open-source investigations.

Public API::

    from tailwatch import decode, decode_one
    batch = decode(["8D406B902015A678D4D220AA4BDA"], times=[1.7e9])
    batch["callsign"], batch.to_arrow()
"""

from __future__ import annotations

from tailwatch.core.errors import DecodeError, TailwatchError
from tailwatch.core.frames import FrameBatch
from tailwatch.decode.api import decode, decode_frames, decode_one
from tailwatch.decode.batch import MessageBatch

__version__ = "0.1.0"

__all__ = [
    "DecodeError",
    "FrameBatch",
    "MessageBatch",
    "TailwatchError",
    "__version__",
    "decode",
    "decode_frames",
    "decode_one",
]
