"""The package's boto3 clients: each built once, shared by every thread, never per request.

boto3 documents clients as thread-safe (sessions and resources are not). A
:class:`SharedClient` builds its client lazily under a lock, rebuilds it after ``fork()``
(a client must not cross into a child process) and after any ``BROADCAST_API_*``
setting changes (Django's ``setting_changed``, as ``override_settings`` sends), so the
fast path is one attribute read and a pid compare.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botocore.config import Config
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from broadcast_api.conf import conf

if TYPE_CHECKING:
    from collections.abc import Callable

ClientT = TypeVar("ClientT")

_every_client: weakref.WeakSet[SharedClient[Any]] = weakref.WeakSet()


class SharedClient(Generic[ClientT]):
    """One lazily built client; ``factory`` builds it from the current settings."""

    def __init__(self, factory: Callable[[], ClientT]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._client: ClientT | None = None
        self._pid: int | None = None
        _every_client.add(self)

    def get(self) -> ClientT:
        client = self._client
        if client is not None and self._pid == os.getpid():
            return client
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = self._factory()
                self._pid = os.getpid()
            return self._client

    def invalidate(self) -> None:
        """Drop the client; the next :meth:`get` builds one from the current settings."""
        with self._lock:
            self._client = None
            self._pid = None


def aws_client_config(**extra: Any) -> Config:
    """Short timeouts and standard retries, so a slow AWS cannot pin every worker."""
    return Config(
        connect_timeout=conf.STS_CONNECT_TIMEOUT,
        read_timeout=conf.STS_READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": conf.STS_MAX_ATTEMPTS},
        **extra,
    )


def server_credentials() -> dict[str, Any]:
    """The server's own keys when set; otherwise boto3's chain finds them."""
    if conf.AWS_ACCESS_KEY_ID and conf.AWS_SECRET_ACCESS_KEY:
        return {
            "aws_access_key_id": conf.AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": conf.AWS_SECRET_ACCESS_KEY,
        }
    return {}


def failure_kind(exc: BaseException) -> str:
    """What a botocore failure that is not an answer means, for a ``reason`` code:
    ``timeout``, ``unreachable``, ``no_credentials`` (the server has no identity of its
    own) or ``error``."""
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return "timeout"
    if isinstance(exc, EndpointConnectionError):
        return "unreachable"
    if isinstance(exc, NoCredentialsError):
        return "no_credentials"
    return "error"


NO_CREDENTIALS_HINT = (
    "the server has no AWS credentials of its own. Set BROADCAST_API_AWS_ACCESS_KEY_ID and "
    "BROADCAST_API_AWS_SECRET_ACCESS_KEY, or give the process credentials boto3 finds "
    "(environment variables, a profile, an instance or task role)."
)


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver (connected in ``AppConfig.ready``)."""
    if setting.startswith("BROADCAST_API_") or setting == "BROADCAST_SETTINGS":
        for client in list(_every_client):
            client.invalidate()
