"""The example project with 20-second upload credentials, for the browser refresh test.

``devtools.stack.start_stack(..., settings_module="tests.short_credentials_settings")``
serves the example project with these. AWS STS refuses lifetimes below 900 s, so check
``broadcast_api.E005`` refuses such a ``BROADCAST_API_CREDENTIALS_TTL``: silenced here,
for a test server only. moto takes any lifetime (and enforces none); the provider skips
botocore's own check of ``DurationSeconds``.
"""

from __future__ import annotations

from example_project.settings import *  # noqa: F403

from devtools.testing.credentials import SHORT_CREDENTIALS_TTL, SHORT_LIVED_PROVIDER

BROADCAST_API_CREDENTIALS_TTL = SHORT_CREDENTIALS_TTL
BROADCAST_API_CREDENTIAL_PROVIDER = SHORT_LIVED_PROVIDER
SILENCED_SYSTEM_CHECKS = ["broadcast_api.E005"]
