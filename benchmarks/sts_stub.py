"""A near-zero-cost local STS and S3 stub for benchmarks (never for tests of behaviour).

STS: it answers ``AssumeRole`` and ``GetFederationToken`` POSTs with a canned XML body of
the shape botocore parses (``Credentials`` with ``AccessKeyId``, ``SecretAccessKey``,
``SessionToken``, ``Expiration``; ``AssumedRoleUser`` / ``FederatedUser``).

S3 (path-style ``GET /<bucket>/<key>``): any key ending in ``.m3u8`` is a live HLS media
playlist that changes every second (media sequence ``int(time.time())``, six one-second
segments ``seg_<n>.ts``), with an ``ETag`` derived from the media sequence,
``Last-Modified`` and ``Content-Type: application/vnd.apple.mpegurl``; a matching
``If-None-Match`` gets ``304 Not Modified``. A key with a ``live-<N>s/`` part (the
viewer bench's streams, ``streams/live-60s/<id>/index.m3u8`` and ``live-7200s``) is
instead an EVENT playlist ``N`` seconds into its broadcast (``N`` one-second segments,
each with its ``EXT-X-PROGRAM-DATE-TIME``, no ``EXT-X-ENDLIST``), one segment longer
every second; ``GET /__reset`` starts every such broadcast again at its age, so each
wrk run sees the length it is named after. Other keys are ``404 NoSuchKey``. ``HEAD``
answers the same headers; ``PUT`` (broadcast_api closing a recording after a stop) is
read, acknowledged with ``200`` and forgotten (``Expect: 100-continue`` gets its
``100 Continue``, so botocore does not wait a second before sending the body).

It checks no signatures or policies: its only job is to cost (almost) nothing, so that a
benchmark measures the Django side.

HTTP/1.1 keep-alive on a bare ``asyncio.Protocol`` (no ``http.server`` parsing), so a
shared boto3 client reuses its pooled connections. ``GET /__stats`` answers a JSON object
with the number of calls per STS action, and of S3 requests as ``"S3 GET 200"``,
``"S3 GET 304"``, ``"S3 GET 404"``, ``"S3 HEAD <status>"``, ``"S3 PUT 200"``: the
benchmark uses them to check that each start
made exactly one STS call, and how many S3 reads the viewers of a playlist cost.

Run: ``python -m benchmarks.sts_stub --port 8599`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

_ASSUME_ROLE = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/bench/bench</Arn>
      <AssumedRoleId>AROABENCHBENCHBENCH:bench</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIABENCHBENCHBENCH1</AccessKeyId>
      <SecretAccessKey>benchSecretAccessKeybenchSecretAccessKey</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata>
</AssumeRoleResponse>
"""

_FEDERATION = """<GetFederationTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetFederationTokenResult>
    <Credentials>
      <AccessKeyId>ASIABENCHBENCHBENCH1</AccessKeyId>
      <SecretAccessKey>benchSecretAccessKeybenchSecretAccessKey</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <FederatedUser>
      <Arn>arn:aws:sts::123456789012:federated-user/bench</Arn>
      <FederatedUserId>123456789012:bench</FederatedUserId>
    </FederatedUser>
    <PackedPolicySize>6</PackedPolicySize>
  </GetFederationTokenResult>
  <ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata>
</GetFederationTokenResponse>
"""

_ERROR = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>InvalidAction</Code><Message>bench stub</Message></Error>
  <RequestId>00000000-0000-4000-8000-000000000000</RequestId>
</ErrorResponse>
"""

# A real session token is ~800 bytes; keep the response size realistic.
_TOKEN = "FwoGZXIvYXdzEBench" + "x" * 780


class _Canned:
    """Bodies re-rendered at most once a second (the Expiration moves with time)."""

    def __init__(self) -> None:
        self._second = -1
        self._cache: dict[bytes, bytes] = {}

    def response(self, action: bytes) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            exp = (datetime.now(UTC) + timedelta(seconds=3600)).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._cache = {
                b"AssumeRole": _http(200, _ASSUME_ROLE.format(token=_TOKEN, expiration=exp)),
                b"GetFederationToken": _http(
                    200, _FEDERATION.format(token=_TOKEN, expiration=exp)
                ),
            }
        body = self._cache.get(action)
        return body if body is not None else _http(400, _ERROR)


def _http(status: int, body: str, content_type: str = "text/xml", extra: str = "") -> bytes:
    raw = body.encode()
    reason = {200: "OK", 304: "Not Modified", 400: "Bad Request", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(raw)}\r\n"
        f"{extra}"
        "x-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + raw


_NO_SUCH_KEY = """<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
<RequestId>0000000000000000</RequestId></Error>
"""
SEGMENTS = 6
MPEGURL = "application/vnd.apple.mpegurl"
# A key under ``.../live-<N>s/...`` is an EVENT playlist N seconds into its broadcast.
EVENT_KEY_RE = re.compile(rb"/live-([0-9]{1,6})s/")


def _pdt(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _LivePlaylist:
    """The live media playlist of second ``int(time.time())``, rendered once a second.

    Six one-second segments ending now; the media sequence is the current second, so the
    playlist (and its ETag) changes every second, as a live encoder's does.
    """

    def __init__(self) -> None:
        self._second = -1
        self.etag = b""
        self.ok = b""
        self.head_ok = b""
        self.not_modified = b""

    def lines(self, now: int) -> str:
        start = _pdt(now - SEGMENTS)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            "#EXT-X-TARGETDURATION:1",
            f"#EXT-X-MEDIA-SEQUENCE:{now}",
            f"#EXT-X-PROGRAM-DATE-TIME:{start}",
        ]
        for n in range(now, now + SEGMENTS):
            lines += ["#EXTINF:1.0,", f"seg_{n}.ts"]
        return "\n".join(lines) + "\n"

    def refresh(self) -> None:
        now = int(time.time())
        if now == self._second:
            return
        self._second = now
        etag = f'"{self.tag(now)}"'
        headers = f"ETag: {etag}\r\nLast-Modified: {formatdate(now, usegmt=True)}\r\n"
        self.etag = etag.encode()
        self.ok = _http(200, self.lines(now), MPEGURL, headers)
        self.head_ok = self.ok[: self.ok.find(b"\r\n\r\n") + 4]
        self.not_modified = _http(304, "", MPEGURL, headers)

    def tag(self, now: int) -> str:
        return f"{now:032x}"

    def response(self, head: bytes, lower: bytes) -> tuple[str, bytes]:
        """``(status, response)`` for a GET of a playlist with request header ``head``."""
        self.refresh()
        i = lower.find(b"\r\nif-none-match:")
        if i >= 0:
            j = lower.find(b"\r\n", i + 2)
            if head[i + 16 : j if j >= 0 else len(head)].strip() == self.etag:
                return "304", self.not_modified
        return "200", self.ok


class _EventPlaylist(_LivePlaylist):
    """An EVENT playlist ``age`` seconds into its broadcast: one-second segments
    ``seg_<unix second>.ts``, each with its ``EXT-X-PROGRAM-DATE-TIME``, no ENDLIST.

    The broadcast starts ``age`` seconds before this object's first render (``GET
    /__reset`` starts it again), then grows by one segment a second, as an EVENT
    playlist does: within a run only lines are appended (media sequence fixed), and a
    run of a few seconds sees "after 1 minute" or "after 2 hours" give or take a few
    segments. Segment lines are kept between renders, so a render costs one join.
    """

    def __init__(self, age: int) -> None:
        super().__init__()
        self.age = age
        self.first = -1  # the broadcast's first second (its first segment's name)
        self.segments: list[str] = []

    def lines(self, now: int) -> str:
        if self.first < 0:
            self.first = now - self.age
        for n in range(self.first + len(self.segments), now):
            self.segments.append(
                f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(n)}\n#EXTINF:1.000,\nseg_{n}.ts\n"
            )
        head = (
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n"
            f"#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:{self.first}\n"
        )
        return head + "".join(self.segments)

    def tag(self, now: int) -> str:
        return f"{self.first & 0xFFFFFFFF:08x}{self.age:08x}{now:016x}"


class _Playlists:
    """The playlist answered for each key: the six-segment live one, or an EVENT one
    per ``live-<N>s`` age named in the key."""

    def __init__(self) -> None:
        self.default = _LivePlaylist()
        self.events: dict[int, _EventPlaylist] = {}

    def response(self, path: bytes, head: bytes, lower: bytes) -> tuple[str, bytes]:
        match = EVENT_KEY_RE.search(path)
        if match is None:
            return self.default.response(head, lower)
        age = int(match.group(1))
        playlist = self.events.get(age)
        if playlist is None:
            playlist = self.events[age] = _EventPlaylist(age)
        return playlist.response(head, lower)

    def head_ok(self, path: bytes) -> bytes:
        match = EVENT_KEY_RE.search(path)
        playlist = self.events.get(int(match.group(1))) if match else None
        return (playlist or self.default).head_ok

    def reset(self) -> None:
        """Every EVENT broadcast starts again (at its age) on its next GET."""
        self.events.clear()


CANNED = _Canned()
PLAYLIST = _Playlists()
STATS: Counter[str] = Counter()


class StubProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server: Content-Length bodies, keep-alive, pipelining-safe."""

    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.continued = False  # "100 Continue" sent for the request being read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            lower = head.lower()
            i = lower.find(b"\r\ncontent-length:")
            if i >= 0:
                j = lower.find(b"\r\n", i + 2)
                length = int(head[i + 17 : j if j >= 0 else len(head)].strip())
            total = end + 4 + length
            if len(self.buf) < total:
                if not self.continued and b"\r\nexpect: 100-continue" in lower:
                    assert self.transport is not None
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.continued = True
                return
            body = self.buf[end + 4 : total]
            self.buf = self.buf[total:]
            self.continued = False
            self._answer(head, lower, body)

    def _answer(self, head: bytes, lower: bytes, body: bytes) -> None:
        assert self.transport is not None
        if head.startswith(b"GET /__stats"):
            self.transport.write(_http(200, json.dumps(STATS), "application/json"))
            return
        if head.startswith(b"GET /__reset"):
            PLAYLIST.reset()
            self.transport.write(_http(200, "{}", "application/json"))
            return
        method = head[: head.find(b" ")]
        if method in (b"GET", b"HEAD"):  # S3, path-style: GET /<bucket>/<key>
            path = head[len(method) + 1 : head.find(b" ", len(method) + 1)].split(b"?", 1)[0]
            if path.endswith(b".m3u8"):
                status, response = PLAYLIST.response(path, head, lower)
            else:
                status, response = "404", _http(404, _NO_SUCH_KEY, "application/xml")
            if method == b"HEAD":
                response = PLAYLIST.head_ok(path) if status == "200" else _http(int(status), "")
            STATS[f"S3 {method.decode()} {status}"] += 1
            self.transport.write(response)
            return
        if method == b"PUT":
            STATS["S3 PUT 200"] += 1
            self.transport.write(_http(200, "", "application/xml", 'ETag: "stub"\r\n'))
            return
        action = b""
        i = body.find(b"Action=")
        if i >= 0:
            j = body.find(b"&", i)
            action = body[i + 7 : j if j >= 0 else len(body)]
        STATS[action.decode("ascii", "replace") or "?"] += 1
        self.transport.write(CANNED.response(action))


async def serve(host: str, port: int, ready: asyncio.Event | None = None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(StubProtocol, host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"sts_stub listening on http://{host}:{port}", flush=True)
    if ready is not None:
        ready.set()
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8599)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
