"""``broadcast_api.sessions.Joined``: sessions' playlists joined as text, checked with the
``m3u8`` library (no servers needed)."""

from __future__ import annotations

import itertools

import m3u8

from broadcast_api.sessions import Joined

FMP4 = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:{target}
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-MAP:URI="init.mp4"
{segments}"""


def fmp4(count: int, *, target: int = 1, ended: bool = False) -> str:
    segments = "".join(f"#EXTINF:1.000,\nseg{n}.m4s\n" for n in range(count))
    return FMP4.format(target=target, segments=segments) + ("#EXT-X-ENDLIST\n" if ended else "")


def test_joined_parses_to_every_segment_in_order_with_its_init_section() -> None:
    joined = Joined().then(fmp4(2, ended=True), "").then(fmp4(3, target=2), "session-2")
    playlist = m3u8.loads(joined.text())
    assert [s.uri for s in playlist.segments] == [
        "seg0.m4s",
        "seg1.m4s",
        "session-2/seg0.m4s",
        "session-2/seg1.m4s",
        "session-2/seg2.m4s",
    ]
    assert [s.discontinuity for s in playlist.segments] == [False, False, True, False, False]
    maps = [s.init_section.uri if s.init_section else None for s in playlist.segments]
    assert maps == ["init.mp4"] * 2 + ["session-2/init.mp4"] * 3
    assert playlist.target_duration == 2  # the largest of the sessions'
    assert playlist.media_sequence == 0
    assert not playlist.is_endlist  # only the last session's ENDLIST counts
    assert m3u8.loads(Joined().then(fmp4(1), "").then(fmp4(1, ended=True), "s").text()).is_endlist


def test_a_growing_last_session_only_appends_to_the_text() -> None:
    """What lets the appended rewrites and the live window work on it unchanged."""
    earlier = Joined().then(fmp4(4), "")
    texts = [earlier.then(fmp4(count), "../session-2/720p").text() for count in range(6)]
    for before, after in itertools.pairwise(texts):
        assert after.startswith(before)
    assert texts[0] == earlier.text()  # a session with no segment adds nothing yet


def test_absolute_uris_are_left_alone() -> None:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttps://cdn.example/a.ts\n"
    joined = Joined().then(fmp4(1), "").then(text, "session-2").text()
    assert "https://cdn.example/a.ts" in joined
    assert "session-2/https" not in joined
