"""``playlists.rewrite`` on the playlists HLS has: LL-HLS parts and hints, keys, init
sections, masters with renditions and i-frame playlists, and hostile URIs."""

from __future__ import annotations

import m3u8

from broadcast_api.playback.playlists import resolve_key, rewrite

PREFIX = "streams/abc"


def signed(key: str) -> str:
    return f"https://s3.example/{key}?X-Amz-Signature=sig"


def nested(rendition: str) -> str:
    return f"/stream/abc/playlist.m3u8?rendition={rendition}"


LL_HLS = """#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:4
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0
#EXT-X-PART-INF:PART-TARGET=0.333
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-KEY:METHOD=AES-128,URI="keys/k1.key",IV=0x00000000000000000000000000000001
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.0,
seg10.m4s
#EXT-X-PART:DURATION=0.333,URI="seg11.part0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.333,URI="seg11.part1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg11.part2.m4s"
#EXT-X-RENDITION-REPORT:URI="../abc/low/index.m3u8",LAST-MSN=10,LAST-PART=1
"""

MASTER = """#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO="aud"
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000,AUDIO="aud"
high/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="high/iframes.m3u8"
"""


def test_every_media_uri_of_an_ll_hls_playlist_is_signed() -> None:
    result = rewrite(
        LL_HLS,
        playlist_key=f"{PREFIX}/index.m3u8",
        prefix=PREFIX,
        media_url=signed,
        playlist_url=nested,
    )
    text = result.body.decode()
    for name in (
        "keys/k1.key",
        "init.mp4",
        "seg10.m4s",
        "seg11.part0.m4s",
        "seg11.part1.m4s",
        "seg11.part2.m4s",
    ):
        assert signed(f"{PREFIX}/{name}") in text, name
    assert nested("low/index.m3u8") in text  # the rendition report points back here
    assert result.renditions == ("low/index.m3u8",)
    assert result.target_duration == 4.0
    assert not result.ended
    parsed = m3u8.loads(text)
    assert parsed.media_sequence == 10
    assert parsed.preload_hint is not None


def test_a_master_points_every_rendition_back_here() -> None:
    result = rewrite(
        MASTER,
        playlist_key=f"{PREFIX}/index.m3u8",
        prefix=PREFIX,
        media_url=signed,
        playlist_url=nested,
    )
    parsed = m3u8.loads(result.body.decode())
    assert [p.uri for p in parsed.playlists] == [
        nested("low/index.m3u8"),
        nested("high/index.m3u8"),
    ]
    assert [m.uri for m in parsed.media] == [nested("audio/en.m3u8")]
    assert [p.uri for p in parsed.iframe_playlists] == [nested("high/iframes.m3u8")]
    assert set(result.renditions) == {
        "low/index.m3u8",
        "high/index.m3u8",
        "audio/en.m3u8",
        "high/iframes.m3u8",
    }


def test_nested_keys_resolve_against_the_playlists_own_folder() -> None:
    variant = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg1.ts\n#EXTINF:2,\n../shared.ts\n"
    result = rewrite(
        variant,
        playlist_key=f"{PREFIX}/high/index.m3u8",
        prefix=PREFIX,
        media_url=signed,
        playlist_url=nested,
    )
    text = result.body.decode()
    assert signed(f"{PREFIX}/high/seg1.ts") in text
    assert signed(f"{PREFIX}/shared.ts") in text  # still under the stream's prefix


def test_uris_that_leave_the_prefix_are_never_signed() -> None:
    for uri in (
        "../other/seg.ts",
        "../../etc/passwd",
        "/abs/seg.ts",
        "https://x.example/a.ts",
        "//x.example/a.ts",
        "s3://bucket/key",
        "",
        "../abcx/seg.ts",
    ):
        assert resolve_key(uri, base_dir=PREFIX, prefix=PREFIX) is None, uri
    assert resolve_key("a/../b.ts", base_dir=PREFIX, prefix=PREFIX) == f"{PREFIX}/b.ts"
    assert resolve_key("seg%201.ts?x=1", base_dir=PREFIX, prefix=PREFIX) == f"{PREFIX}/seg 1.ts"
