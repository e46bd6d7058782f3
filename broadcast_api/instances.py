"""One shared instance per configured dotted path (the storage, the credential provider,
the media signer): built on first use with ``import_string(path)()``, then shared by
every thread, so no request builds one. A setting changed to another path gets another
instance; :meth:`SharedInstances.clear` forgets them (tests, a class swapped at runtime).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from django.utils.module_loading import import_string

__all__ = ["SharedInstances"]

T = TypeVar("T")


class SharedInstances(Generic[T]):
    """The instances of the classes named by dotted paths, one per path."""

    def __init__(self) -> None:
        self._instances: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> T:
        instance = self._instances.get(path)
        if instance is None:
            with self._lock:
                instance = self._instances.get(path)
                if instance is None:
                    instance = self._instances[path] = import_string(path)()
        return instance

    def clear(self) -> None:
        with self._lock:
            self._instances.clear()
