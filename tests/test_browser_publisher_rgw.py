"""The browser publisher against Ceph RGW: the same upload, and a refused attack.

The example project mints credentials from a one-node Ceph RADOS Gateway (STS
AssumeRole with each stream's session policy); the "Go live from this tab" page in
Debian's chromium uploads to the gateway's bucket, which has the CORS rule of
docs/broadcasting/browser.md (PUT from the page's origin, the SigV4 headers) and no
public access. While live, the page itself signs PUTs with its own stream's
credentials (the publisher's aws4fetch client) under another stream's prefix, a prefix
that only starts the same, and the bucket root: RGW answers 403 AccessDenied, while a
PUT under its own prefix, signed the same way in the same breath, answers 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import m3u8
import pytest

from devtools.media import decode_errors, decoder_ffmpeg
from devtools.stack import GatewayStack, start_gateway_stack
from devtools.testing.prerequisites import require_browser
from tests.browser_support import (
    fake_media_chromium,
    go_live,
    localhost,
    log_in,
    stop_broadcast,
    wait_for_segments,
)

if TYPE_CHECKING:
    from devtools.ceph_rgw.clients import RGW

pytestmark = [pytest.mark.rgw, pytest.mark.browser, pytest.mark.timeout(180)]

BUCKET = "broadcast-browser"
CONTROL = "attack-control.bin"

# In the page: PUTs signed by the publisher's own client (its stream's credentials).
ATTACK = """async ({ otherPrefix, control }) => {
    const publisher = window.broadcastPublisher;
    const { endpoint, bucket, prefix } = publisher.target;
    const base = `${endpoint.replace(/\\/+$/, "")}/${bucket}`;
    const targets = {
        "own prefix (control)": `${base}/${prefix}/${control}`,
        "another stream's segment": `${base}/${otherPrefix}/seg_000000.m4s`,
        "another stream's playlist": `${base}/${otherPrefix}/index.m3u8`,
        "a prefix that only starts the same": `${base}/${prefix}x/seg_000000.m4s`,
        "the bucket root": `${base}/seg_000000.m4s`,
    };
    const answers = {};
    for (const [what, url] of Object.entries(targets)) {
        const response = await publisher.client.fetch(url, {
            method: "PUT",
            body: new Uint8Array([0x47, 0, 0, 0]),
            headers: { "Content-Type": "video/iso.segment", "Cache-Control": "no-cache" },
        });
        const text = await response.text();
        answers[what] = [response.status, text.match(/<Code>([^<]+)<\\/Code>/)?.[1] ?? null];
    }
    return answers;
}"""


@pytest.fixture(scope="module")
def gateway_stack(
    rgw_gateway: RGW, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayStack]:
    require_browser()
    stack = start_gateway_stack(tmp_path_factory.mktemp("gateway-stack"), rgw_gateway, BUCKET)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with fake_media_chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


def test_a_tab_broadcasts_into_rgw_and_its_credentials_stay_in_their_prefix(
    gateway_stack: GatewayStack, browser: Any, tmp_path: Path
) -> None:
    stack = gateway_stack
    ffmpeg = decoder_ffmpeg()
    assert ffmpeg is not None
    base = localhost(stack.base_url)
    errors: list[str] = []
    page = browser.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, stack.user, stack.password, "/golive/")
    stream_id = go_live(page, "into ceph")["id"]
    wait_for_segments(page, 3)

    # Another stream, started by the same user through the same API.
    other = page.evaluate(
        """() => window.broadcastPublisher.api("POST", "/stream/start/",
            { type: "hls", name: "another stream" })"""
    )
    other_id = other["stream"]["id"]
    other_prefix = other["endpoint"]["S3"]["s3_bucket_path"].strip("/")
    assert other_prefix == f"streams/{other_id}"
    answers = page.evaluate(ATTACK, {"otherPrefix": other_prefix, "control": CONTROL})
    refused = {what: answer for what, answer in answers.items() if "control" not in what}
    assert answers["own prefix (control)"] == [200, None]
    assert refused == {what: [403, "AccessDenied"] for what in refused}, answers
    segments_at_attack = int(page.locator("#segments").inner_text())
    page.evaluate("id => window.broadcastPublisher.api('POST', '/stream/stop/', { id })", other_id)
    wait_for_segments(page, segments_at_attack + 3)  # the broadcast went on
    seen = stop_broadcast(page)
    page.close()
    assert errors == []
    assert [e for e in seen if e["type"] == "error"] == []

    # In the bucket: the stream's recording, and nothing outside its prefix.
    s3 = stack.gateway.admin_s3()
    listed = s3.list_objects_v2(Bucket=BUCKET)
    everything = {obj["Key"] for obj in listed.get("Contents", [])}
    prefix = f"streams/{stream_id}"
    assert not {key for key in everything if not key.startswith(f"{prefix}/")}
    text = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/index.m3u8")["Body"].read().decode()
    playlist = m3u8.loads(text)
    assert playlist.is_endlist
    assert playlist.playlist_type == "event"
    names = [str(segment.uri) for segment in playlist.segments]
    assert names == [f"seg_{i:06d}.m4s" for i in range(len(names))]
    assert {f"{prefix}/{name}" for name in ["init.mp4", CONTROL, *names]} <= everything
    recording = tmp_path / "recording.mp4"
    with recording.open("wb") as out:
        for name in ["init.mp4", *names]:
            out.write(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{name}")["Body"].read())
    assert decode_errors(ffmpeg, recording) == (0, "")
