"""Keep secrets out of the host's logs.

botocore logs every response body at DEBUG (``botocore.parsers``); for AssumeRole and
GetFederationToken that body holds the new secret key and session token. urllib3 logs
every request line at DEBUG (``urllib3.connectionpool``); for a webhook that line holds
the receiver's URL, whose path or query may be the receiver's own secret. Filters on
those loggers run before any handler, so no handler of the host ever sees them.
"""

from __future__ import annotations

import contextvars
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


# Set while this thread (or task) sends a webhook: urllib3's records then are ours.
sending_webhook: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "broadcast_api_sending_webhook", default=False
)
WEBHOOK_REDACTED = "a webhook request (its URL redacted by broadcast_api)"


class RedactWebhookURLFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if sending_webhook.get():
            record.msg = WEBHOOK_REDACTED
            record.args = ()
        return True


def install() -> None:
    """Attach the filters to botocore's and urllib3's loggers, once each."""
    for name, kind in (
        ("botocore.parsers", RedactCredentialsFilter),
        ("urllib3.connectionpool", RedactWebhookURLFilter),
    ):
        target = logging.getLogger(name)
        if not any(isinstance(existing, kind) for existing in target.filters):
            target.addFilter(kind())
