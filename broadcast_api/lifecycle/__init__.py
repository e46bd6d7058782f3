"""A broadcast's life after start: the reaper, and closing recordings.

``reaper`` (``reap()``, ``manage.py broadcast_reap``), ``recordings``
(``finalize_recording_of``), ``tasks`` (``finalize_recording``), ``receivers`` (what it
does when the core announces a stop).

``broadcast_api.lifecycle`` was a module before it was this package; its names are
still found here, imported on first use (so importing a submodule imports nothing else).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> the module that now holds it
_MOVED = {
    "FINALIZE_RETRY_WINDOW": "broadcast_api.lifecycle.reaper",
    "ReapReport": "broadcast_api.lifecycle.reaper",
    "reap": "broadcast_api.lifecycle.reaper",
    "ENDLIST": "broadcast_api.lifecycle.recordings",
    "finalize_recording_of": "broadcast_api.lifecycle.recordings",
    "with_endlist": "broadcast_api.lifecycle.recordings",
}

__all__ = [
    "ENDLIST",
    "FINALIZE_RETRY_WINDOW",
    "ReapReport",
    "finalize_recording_of",
    "reap",
    "with_endlist",
]


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
