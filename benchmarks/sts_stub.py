"""A near-zero-cost local STS stub for benchmarks (never for tests of behaviour).

It answers ``AssumeRole`` and ``GetFederationToken`` POSTs with a canned XML body of the
shape botocore parses (``Credentials`` with ``AccessKeyId``, ``SecretAccessKey``,
``SessionToken``, ``Expiration``; ``AssumedRoleUser`` / ``FederatedUser``). It does not
check signatures or policies: its only job is to cost (almost) nothing, so that a
benchmark measures the Django side.

HTTP/1.1 keep-alive on a bare ``asyncio.Protocol`` (no ``http.server`` parsing), so a
shared boto3 client reuses its pooled connections. ``GET /__stats`` answers a JSON object
with the number of calls per action, which the benchmark uses to check that each start
request made exactly one STS call.

Run: ``python benchmarks/sts_stub.py --port 8599`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

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


def _http(status: int, body: str, content_type: str = "text/xml") -> bytes:
    raw = body.encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(raw)}\r\n"
        "x-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + raw


CANNED = _Canned()
STATS: Counter[str] = Counter()


class StubProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server: Content-Length bodies, keep-alive, pipelining-safe."""

    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None

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
                return
            body = self.buf[end + 4 : total]
            self.buf = self.buf[total:]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        assert self.transport is not None
        if head.startswith(b"GET /__stats"):
            self.transport.write(_http(200, json.dumps(STATS), "application/json"))
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
