"""``appending``: a whole EVENT playlist refreshed by rewriting only what was appended
gives the body (and, decompressed, the gzip) a full rewrite gives."""

from __future__ import annotations

import gzip
from typing import Any

import m3u8
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast_api.playback.appending import RewriteState, appended_text
from broadcast_api.playback.playlists import GZIP_LEVEL, rewrite, rewrite_uris
from tests.test_playlist_rewrite import event_playlist, live_playlists

PREFIX = "streams/abc"
KEY = f"{PREFIX}/index.m3u8"
signed: list[str] = []


def media_url(key: str) -> str:
    signed.append(key)
    return f"https://bucket.example/{key}?X-Amz-Signature=1"


def full(text: str) -> Any:
    return rewrite(text, playlist_key=KEY, prefix=PREFIX, media_url=media_url, playlist_url=str)


def sign(playlist: m3u8.M3U8) -> None:
    rewrite_uris(playlist, playlist_key=KEY, prefix=PREFIX, media_url=media_url, playlist_url=str)


def state_of(text: str) -> RewriteState | None:
    rewritten = full(text)
    return RewriteState.after_full_rewrite(
        text, rewritten.playlist, rewritten.body, valid_until=100.0, level=GZIP_LEVEL
    )


def segment_ends(text: str) -> list[int]:
    """The offsets just after each segment's URI line."""
    ends, offset = [], 0
    for line in text.splitlines(keepends=True):
        offset += len(line)
        if line.strip() and not line.startswith("#"):
            ends.append(offset)
    return ends


@settings(max_examples=300, deadline=None)
@given(text=live_playlists(), data=st.data())
def test_an_appended_rewrite_is_the_full_rewrite(text: str, data: st.DataObject) -> None:
    if "#EXT-X-PLAYLIST-TYPE:EVENT" not in text:
        text = text.replace("#EXT-X-VERSION:7\n", "#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:EVENT\n")
    ends = segment_ends(text)
    split = data.draw(st.sampled_from(ends[:-1] or ends))
    ended = data.draw(st.booleans())
    whole = text + ("#EXT-X-ENDLIST\n" if ended else "")
    state = state_of(text[:split])
    assert state is not None
    continued = state.continued(whole, media=sign, valid_until=200.0)
    if split == len(whole):
        assert continued is None  # nothing appended
        return
    assert continued is not None
    body, gzipped, following = continued
    assert body == full(whole).body
    assert gzip.decompress(gzipped) == body
    assert (following is None) == ended
    if following is not None:
        assert following.valid_until == 100.0  # the oldest URL in it decides


def test_a_refresh_of_a_two_hour_playlist_parses_and_signs_only_the_new_segment() -> None:
    state = state_of(event_playlist(7200))
    assert state is not None
    signed.clear()
    continued = state.continued(event_playlist(7201), media=sign, valid_until=200.0)
    assert continued is not None
    assert signed == [f"{PREFIX}/seg_007200.m4s", f"{PREFIX}/init.mp4"] or signed == [
        f"{PREFIX}/init.mp4",
        f"{PREFIX}/seg_007200.m4s",
    ]
    assert continued[0] == full(event_playlist(7201)).body


def test_what_is_not_an_append_gets_the_full_rewrite() -> None:
    base = event_playlist(60)
    assert appended_text(base, base) is None  # unchanged
    assert appended_text(base, event_playlist(61).replace("seg_000000", "seg_x")) is None
    assert appended_text(base, base + "#EXT-X-TARGETDURATION:4\n") is None
    assert appended_text(base, base + "#EXT-X-ENDLIST\n#EXTINF:1.0,\nlate.m4s\n") is None
    assert appended_text(base, base + "#EXTINF:1.000,\nseg_000060.m4s\n") is not None
    live = event_playlist(60).replace("#EXT-X-PLAYLIST-TYPE:EVENT\n", "")
    assert state_of(live) is None  # not an EVENT playlist: segments may go
    assert state_of(event_playlist(60, ended=True)) is None  # a recording never grows
