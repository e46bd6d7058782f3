"""``make bench`` (``python -m benchmarks``): broadcast_api's start, stop and viewer path
against hand-written baselines.

Run from the repository root: ``.venv/bin/python -m benchmarks`` (about 10 minutes).

Modules: :mod:`~benchmarks.cli` (options, the order of the phases), :mod:`~benchmarks.wrk`
(the wrk driver), :mod:`~benchmarks.servers` (stub, gunicorn), :mod:`~benchmarks.phases`
(start/stop, viewer, memory, profile), :mod:`~benchmarks.aggregate`, :mod:`~benchmarks.budget`
and :mod:`~benchmarks.report` (``results/latest.md`` from ``results/latest.json``).

1. Starts the STS and S3 stub (``python -m benchmarks.sts_stub``), creates the PostgreSQL
   database ``broadcast_bench`` if missing, migrates it, creates the bench user and its
   token, seeds two pools of live streams (baseline, package) for the stop runs, creates
   one live stream and a playback token for the viewer runs, and deletes the bench's keys
   from the Redis cache.
2. In-process: Django's test client, per-request latency and CPU time of the baseline,
   and broadcast_api, interleaved.
3. For gunicorn ``sync`` (2 workers) and ``gthread`` (2 workers x 4 threads): warms up,
   then for start and for stop runs ``wrk -t2 -c8 -d6s --latency`` three times,
   alternating baseline and package (B P, P B, B P). Each run records requests/s, p50,
   p99, wrk errors, the workers' CPU per request, STS calls per start, boto3
   Sessions/clients built in the workers during the run, and the CPU other processes on
   the machine used meanwhile (so a noisy run can be recognised). Then one paired run
   per endpoint: baseline and package requests alternate on the same connections and
   ``benchproject/request_cpu.py`` sums each side's thread CPU, measured at the same
   moments (this machine's CPU speed drifts by up to ~40 % between separate runs).
4. Viewer path, for ``sync`` and ``gthread``: ``GET /stream/<id>/playlist.m3u8?token=``
   with ``Accept-Encoding: gzip`` of two live streams, whose stub playlists are EVENT
   playlists of one-second segments 1 minute and 2 hours into their broadcast
   (``--viewer-lengths 60,7200``), against ``/baseline/playlist/<id>.m3u8?token=`` (the
   cached-bytes baseline: the same token check, the rewritten live window from the same
   Redis cache, gzip-encoded once per refresh). For each length and each of ``-c8`` and
   ``-c256`` (``--viewer-connections``), ``wrk -t2 -d4s`` B P / P B / B P and one paired
   run, each run with the stub's broadcasts restarted at their age; then the CPU of one
   refresh of each length, in-process (``bench_refresh``). Each run also
   counts the S3 GETs the stub answered (200 and 304): the package's must not grow with
   the number of viewers nor with the playlist's length.
5. Memory: one sync worker, VmRSS before and after 20,000 starts (a count-bounded wrk),
   with the RSS curve. It gets the time left of ``--time-budget`` (560 s) and says so
   when it could not finish (the growth is then scaled linearly, which overstates a
   growth that levels off).
6. Prints the table and the budget verdicts; writes ``benchmarks/results/latest.json``
   and ``latest.md`` (``partial.*`` for --quick, --skip or --no-package runs).

Why 6 s runs and not 10: on a 2-core machine where one start costs ~7 ms of worker CPU,
20,000 starts on one worker take about 2.5 minutes by themselves; 24 runs of 10 s would
not fit beside them in 5 minutes. ``BENCH_DURATION=10`` gives 10 s runs (about 8 min).
Viewer runs are 4 s (``--viewer-duration``): a GET costs ~1 ms, so 4 s is thousands of
requests, and the 48 such runs (2 modes x 2 lengths x 2 connection counts x 6) take
about 4 minutes.

Budget (issue #5): start and stop each >= 0.85x the baseline's requests/s and p99 <=
1.5x the baseline's; the playlist (viewer path) >= 0.8x the baseline's requests/s at
each length and number of connections, and its S3 reads/s flat: the highest of a mode's
cells no more than 1.25x the lowest (+2 reads a run); zero boto3 clients or Sessions
built per request; worker RSS growth < 5 MB per 20,000
starts. The exit status is 0 whether or not the budget holds (the verdicts are the
output); it is 2 when the harness itself failed.

Options: ``--duration``, ``--quick`` (2 s runs, one repeat, 2,000 starts: a smoke
test), ``--profile`` (pyinstrument in-process and py-spy on a sync worker; writes
``benchmarks/results/profile/``), ``--no-package``, ``--skip
servers,viewer,memory,inprocess``, ``--only viewer`` (the phases to run); viewer runs:
``--viewer-duration``, ``--viewer-connections`` (8,256), ``--viewer-lengths`` (60,7200),
``--viewer-paired``, ``--viewer-refresh-n`` (30).
"""
