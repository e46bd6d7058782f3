"""Loopback ports for the daemons: checked free, below the ephemeral range."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from devtools.ceph_rgw.layout import HOST, RGWError


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    try:
        low = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
        return int(low)
    except (OSError, ValueError, IndexError):
        return 32768


def free_block(count: int, exclude: set[int]) -> int:
    """First port of ``count`` consecutive free ports below the ephemeral range."""
    high = max(_ephemeral_low() - count, 12000)
    rng = random.SystemRandom()
    for _ in range(500):
        base = rng.randrange(10000, high)
        block = range(base, base + count)
        if exclude.isdisjoint(block) and all(port_free(port) for port in block):
            return base
    raise RGWError(f"found no {count} consecutive free ports on {HOST}")
