"""The reaper phase (issue 18): ``broadcast_reap``'s ``reap()`` over ten thousand live
streams against an S3 stub with a fixed latency, serial against concurrent, and the
database side of a thousand stops (``bench_reap``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchmarks.config import log
from devtools.testing.s3_stub import S3StubProcess

if TYPE_CHECKING:
    from benchmarks.servers import Env


def reaper_phase(
    env: Env,
    *,
    streams: int,
    serial_streams: int,
    widths: list[int],
    delay: float,
    stops: int,
    watched: int,
) -> dict[str, Any]:
    """Start the stub (its own process), run ``bench_reap`` against it, log the figures."""
    log(
        f"reaper: {streams} live streams, S3 stub answering in {delay * 1000:g} ms;"
        f" serial over {serial_streams}, then concurrency {','.join(map(str, widths))}"
    )
    with S3StubProcess(delay=delay) as stub:
        result: dict[str, Any] = env.manage(
            "bench_reap",
            "--endpoint",
            stub.endpoint_url,
            "--streams",
            str(streams),
            "--serial-streams",
            str(serial_streams),
            "--widths",
            ",".join(map(str, widths)),
            "--stops",
            str(stops),
            "--watched",
            str(watched),
            timeout=900,
        )
    for run in result["runs"]:
        extrapolated = ", extrapolated" if run["extrapolated"] else ""
        note = f" ({run['watched_percent']}% watched)" if run["watched_percent"] else ""
        log(
            f"reaper concurrency {run['width']:>3}{note}: {run['streams']} streams in"
            f" {run['wall_s']:.1f} s, {run['streams_per_s']:.0f} streams/s"
            f" (10,000: {run['wall_10k_s']:.1f} s{extrapolated}),"
            f" {run['ended']} ended, {run['heads']} HEADs, {run['max_in_flight']} in flight"
            " at most"
        )
    for stop in result["stops"]:
        log(
            f"reaper stops, recording closed by {stop['close']}: {stop['stops']} in"
            f" {stop['wall_s']:.1f} s ({stop['ms_per_stop']:.2f} ms each)"
        )
    return result
