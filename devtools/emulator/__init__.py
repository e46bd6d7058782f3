"""A local S3/STS emulator (moto) prepared for broadcast_api: bucket, CORS and role.

``python -m devtools.emulator`` runs one until Ctrl-C and prints the settings pointing a
Django project at it.
"""

from __future__ import annotations

from devtools.emulator.account import (
    DEFAULT_BUCKET,
    DEFAULT_REGION,
    ROLE_ARN,
    SERVER_ACCESS_KEY_ID,
    SERVER_SECRET_ACCESS_KEY,
)
from devtools.emulator.server import (
    Emulator,
    launch_emulator,
    moto_server_available,
    start_emulator,
)

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_REGION",
    "ROLE_ARN",
    "SERVER_ACCESS_KEY_ID",
    "SERVER_SECRET_ACCESS_KEY",
    "Emulator",
    "launch_emulator",
    "moto_server_available",
    "start_emulator",
]
