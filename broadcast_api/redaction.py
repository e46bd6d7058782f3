"""Keep minted credentials out of the host's logs.

botocore logs every response body at DEBUG (``botocore.parsers``); for AssumeRole and
GetFederationToken that body holds the new secret key and session token. A filter on
that logger runs before any handler, so no handler of the host ever sees them.
"""

from __future__ import annotations

import logging

SECRET_MARKERS = ("<SecretAccessKey>", "<SessionToken>")
REDACTED = "<response body with credentials redacted by broadcast_api>"


def _has_secret(value: object) -> bool:
    if isinstance(value, bytes | bytearray):
        return any(marker.encode() in value for marker in SECRET_MARKERS)
    if isinstance(value, str):
        return any(marker in value for marker in SECRET_MARKERS)
    return False


class RedactCredentialsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if _has_secret(record.msg) or any(_has_secret(arg) for arg in args):
            record.msg = REDACTED
            record.args = ()
        return True


def install() -> None:
    """Attach the filter to botocore's response-body logger, once."""
    target = logging.getLogger("botocore.parsers")
    if not any(isinstance(existing, RedactCredentialsFilter) for existing in target.filters):
        target.addFilter(RedactCredentialsFilter())
