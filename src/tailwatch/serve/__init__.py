"""The HTTP API, the live feed and the web map (see docs/api.md).

    from tailwatch.serve import LiveState, create_app
    state = LiveState(store=store)
    app = create_app(state, settings.serve)
    state.publish(tracker.snapshot(now))  # once a second, from the pipeline
"""

from __future__ import annotations

from tailwatch.serve.app import create_app
from tailwatch.serve.identity import IdentityResolver
from tailwatch.serve.security import Limits
from tailwatch.serve.state import LiveState, ReceiverInfo

__all__ = ["IdentityResolver", "Limits", "LiveState", "ReceiverInfo", "create_app"]
