"""Standard Webhooks signing secrets. Needs no Django settings, so it works as a
one-liner: ``python -c "from broadcast_api.webhooks.secrets import new_webhook_secret as
n; print(n())"``."""

from __future__ import annotations

import base64
import secrets

__all__ = ["new_webhook_secret"]


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
