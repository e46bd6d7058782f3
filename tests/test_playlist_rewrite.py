"""``playlists.rewrite`` on the playlists HLS has: LL-HLS parts and hints, keys, init
sections, masters with renditions and i-frame playlists, and hostile URIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import m3u8
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast_api.playback.playlists import resolve_key, rewrite
from broadcast_api.playback.window import keep_live_window, live_window_text

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


# -- the live window --------------------------------------------------------------------------


def event_playlist(
    seconds: int, *, discontinuities: tuple[int, ...] = (), ended: bool = False
) -> str:
    """An EVENT playlist of ``seconds`` 1 s segments, as the reference publisher writes,
    with a discontinuity before each of the given segment numbers."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:1",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
        "#EXT-X-MEDIA-SEQUENCE:0",
        '#EXT-X-MAP:URI="init.mp4"',
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T06:00:00.000+00:00",
    ]
    for n in range(seconds):
        if n in discontinuities:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += ["#EXTINF:1.000,", f"seg_{n:06d}.m4s"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def windowed(text: str, window: float | None) -> m3u8.M3U8:
    rewritten = rewrite(
        text,
        playlist_key=f"{PREFIX}/index.m3u8",
        prefix=PREFIX,
        media_url=signed,
        playlist_url=nested,
        live_window=window,
    )
    return m3u8.loads(rewritten.body.decode())


def test_a_two_hour_live_playlist_is_served_as_its_newest_window() -> None:
    served = windowed(event_playlist(7200, discontinuities=(100, 7000, 7150)), 120)
    assert [s.uri for s in served.segments] == [
        signed(f"{PREFIX}/seg_{n:06d}.m4s") for n in range(7080, 7200)
    ]  # the newest 120 s, newest last
    assert served.media_sequence == 7080
    assert served.discontinuity_sequence == 2  # the two dropped: before 100 and 7000
    assert served.segments[70].discontinuity  # the kept one, before 7150, stays
    assert served.playlist_type is None  # no longer EVENT: segments were removed
    first = served.segments[0]
    assert first.init_section is not None
    assert first.init_section.uri == signed(f"{PREFIX}/init.mp4")
    assert first.program_date_time is not None
    assert first.program_date_time.isoformat() == "2026-12-04T07:58:00+00:00"  # 7080 s on


def test_the_window_keeps_three_target_durations_and_leaves_recordings_whole() -> None:
    short_segments = event_playlist(600).replace(
        "#EXT-X-TARGETDURATION:1", "#EXT-X-TARGETDURATION:10"
    )
    assert len(windowed(short_segments, 5).segments) == 30  # 3 x 10 s of 1 s segments
    recording = windowed(event_playlist(7200, ended=True), 120)
    assert len(recording.segments) == 7200
    assert recording.media_sequence == 0
    assert recording.playlist_type == "event"
    whole = windowed(event_playlist(600), None)
    assert len(whole.segments) == 600
    assert whole.playlist_type == "event"


def test_a_playlist_shorter_than_the_window_loses_only_its_event_type() -> None:
    served = windowed(event_playlist(60), 120)
    assert len(served.segments) == 60
    assert served.media_sequence == 0
    assert served.playlist_type is None  # the same on every poll: the type never changes


# -- the live window cut from the text -----------------------------------------------------------


@st.composite
def live_playlists(draw: st.DrawFn) -> str:
    """Live media playlists as publishers write them: any start sequence, durations,
    discontinuities, program dates (per segment, at the top only, now and then, or
    never), init sections and keys that change on the way, byte ranges."""
    count = draw(st.integers(min_value=1, max_value=120))
    dates = draw(st.sampled_from(["every", "top", "some", "none"]))
    lines = ["#EXTM3U", "#EXT-X-VERSION:7"]
    lines.append(f"#EXT-X-TARGETDURATION:{draw(st.integers(min_value=1, max_value=6))}")
    if draw(st.booleans()):
        lines.append("#EXT-X-PLAYLIST-TYPE:EVENT")
    if draw(st.booleans()):
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{draw(st.integers(min_value=0, max_value=10**6))}")
    if draw(st.booleans()):
        lines.append(
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{draw(st.integers(min_value=0, max_value=9))}"
        )
    if draw(st.booleans()):
        lines.append('#EXT-X-MAP:URI="init0.mp4"')
    start = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    elapsed = timedelta()
    for n in range(count):
        if n and draw(st.integers(min_value=0, max_value=9)) == 0:
            lines.append("#EXT-X-DISCONTINUITY")
        if draw(st.integers(min_value=0, max_value=19)) == 0:
            lines.append(f'#EXT-X-MAP:URI="init{n}.mp4"')
        if draw(st.integers(min_value=0, max_value=19)) == 0:
            lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="keys/{n}.key"')
        if (
            dates == "every"
            or (dates == "top" and n == 0)
            or (dates == "some" and draw(st.integers(min_value=0, max_value=7)) == 0)
        ):
            stamp = (start + elapsed).isoformat(timespec="milliseconds")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
        duration = draw(st.integers(min_value=200, max_value=6000)) / 1000
        elapsed += timedelta(seconds=duration)
        lines.append(f"#EXTINF:{duration:.3f},")
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            lines.append(f"#EXT-X-BYTERANGE:1000@{n * 1000}")
        lines.append(f"seg_{n:06d}.m4s")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None)
@given(text=live_playlists(), window=st.integers(min_value=1, max_value=200))
def test_the_window_cut_from_the_text_is_the_window_of_the_parsed_playlist(
    text: str, window: int
) -> None:
    whole = m3u8.loads(text)
    keep_live_window(whole, window)
    cut = live_window_text(text, window)
    assert len(cut) <= len(text)
    from_cut = m3u8.loads(cut)
    keep_live_window(from_cut, window)
    assert from_cut.dumps() == whole.dumps()


def test_the_cut_of_a_two_hour_playlist_is_the_window_only() -> None:
    text = event_playlist(7200, discontinuities=(100, 7150))
    cut = live_window_text(text, 120)
    assert cut.count("#EXTINF:") == 120
    assert "#EXT-X-MEDIA-SEQUENCE:7080" in cut
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1" in cut
    assert '#EXT-X-MAP:URI="init.mp4"' in cut
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T07:58:00.000+00:00" in cut
    assert "EVENT" not in cut
    assert live_window_text(event_playlist(7200, ended=True), 120).count("#EXTINF:") == 7200
