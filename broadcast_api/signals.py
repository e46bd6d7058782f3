"""Signals sent after the transaction that started or stopped a stream commits.

``stream_started``: ``sender`` the stream model, ``stream``.
``stream_stopped``: ``sender`` the stream model, ``stream``, ``reason`` (a StopReason).
Each is sent exactly once per stream; receivers never see credentials.
"""

from __future__ import annotations

from django.dispatch import Signal

stream_started = Signal()
stream_stopped = Signal()
