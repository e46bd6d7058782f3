"""Live HLS broadcasting for Django REST Framework.

Clients start a stream, receive short-lived credentials that can upload into one S3
prefix and nothing else, upload their HLS segments straight to S3, then stop the stream.
"""

from __future__ import annotations

__version__ = "0.1.0"
