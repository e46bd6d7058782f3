"""The live window: a live media playlist served as its newest segments only.

:func:`keep_live_window` does it on a parsed playlist (an ``m3u8.M3U8``).
:func:`live_window_text` cuts the playlist's *text* down to what the window keeps
before anything is parsed, so a refresh of a two-hour broadcast parses, signs and
writes two minutes of segments, not 7,200 of them: the dropped part is only counted
(segments, discontinuities) and searched for the tags still in force at the cut
(``EXT-X-MAP``, ``EXT-X-KEY``, the ``EXT-X-PROGRAM-DATE-TIME`` of the first kept
segment), with ``str`` methods and one regular expression, which run in C. What it
returns parses, with :func:`keep_live_window` applied, to the same playlist as the
whole text does (``tests/test_playlist_rewrite.py`` checks that on generated
playlists); anything it does not recognise as a plain live media playlist comes back
unchanged, for the full parse.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import m3u8

from broadcast_api.hls import is_segment_tag

__all__ = [
    "is_segment_tag",
    "keep_live_window",
    "live_window_text",
    "tag_in_force",
    "window_seconds",
]

EXTINF = "#EXTINF:"
# Tags a cut cannot carry over faithfully: such playlists get the full parse.
UNCUTTABLE = ("#EXT-X-ENDLIST", "#EXT-X-STREAM-INF", "#EXT-X-PART:", "#EXT-X-SKIP")
DURATION_RE = re.compile(r"^#EXTINF:([0-9.]+)", re.M)


def window_seconds(seconds: float, target_duration: float) -> float:
    """What a window of ``seconds`` keeps at least: three target durations, the least
    RFC 8216 (6.2.2) lets a live playlist hold."""
    return max(seconds, 3 * target_duration)


def keep_live_window(playlist: m3u8.M3U8, seconds: float) -> int:
    """Make a live media playlist a sliding window of its newest ``seconds``; returns how
    many segments were dropped.

    What a player needs to follow it stays right: ``EXT-X-MEDIA-SEQUENCE`` and
    ``EXT-X-DISCONTINUITY-SEQUENCE`` grow by the segments and discontinuities dropped,
    the first kept segment carries its ``EXT-X-PROGRAM-DATE-TIME``, and ``EXT-X-MAP`` and
    ``EXT-X-KEY`` are written again before it (the ``m3u8`` library does that). The
    ``EVENT`` type goes, since an EVENT playlist may never lose a segment: the window is
    a live playlist of the usual kind, which every player follows. A recording (with
    ``EXT-X-ENDLIST``) and a master playlist are left whole.
    """
    if playlist.is_variant or playlist.is_endlist:
        return 0
    playlist.playlist_type = None
    segments = playlist.segments
    keep = window_seconds(seconds, float(playlist.target_duration or 0))
    kept, total = 0, 0.0
    for segment in reversed(segments):
        if kept and total + float(segment.duration or 0) > keep:
            break
        total += float(segment.duration or 0)
        kept += 1
    drop = len(segments) - kept
    if drop <= 0:
        return 0
    first = segments[drop]
    if first.program_date_time is None and first.current_program_date_time is not None:
        first.program_date_time = first.current_program_date_time
    dropped_discontinuities = sum(1 for segment in segments[:drop] if segment.discontinuity)
    del segments[:drop]
    playlist.media_sequence = (playlist.media_sequence or 0) + drop
    if dropped_discontinuities:
        playlist.discontinuity_sequence = (
            playlist.discontinuity_sequence or 0
        ) + dropped_discontinuities
    return drop


def live_window_text(text: str, seconds: float) -> str:
    """``text`` cut down to the header, the tags in force at the cut and the segments the
    window keeps; ``text`` itself when it is short enough, not a plain live media
    playlist, or not understood."""
    if any(tag in text for tag in UNCUTTABLE):
        return text
    first = text.find("\n" + EXTINF)
    if first < 0:
        return text
    target = _header_number(text[:first], "#EXT-X-TARGETDURATION:")
    keep = window_seconds(seconds, float(target or 0))
    # Walk back over the newest segments' EXTINF lines until the window is full.
    total, position, kept_start = 0.0, len(text), -1
    while True:
        found = text.rfind("\n" + EXTINF, 0, position)
        if found < first:
            return text  # everything fits: nothing to cut
        duration = _duration_at(text, found + 1)
        if duration is None:
            return text
        if kept_start >= 0 and total + duration > keep:
            break
        total += duration
        kept_start, position = found + 1, found
    # ``found`` is the newest dropped segment's EXTINF; the cut follows its URI line.
    cut = _end_of_uri_line(text, found + 1)
    if cut is None or cut > kept_start:
        return text
    before = text[:cut]  # the header and every dropped segment, never parsed
    header = text[: first + 1]
    dropped_segments = before.count("\n" + EXTINF)
    discontinuities = before.count("\n#EXT-X-DISCONTINUITY\n") + before.count(
        "\n#EXT-X-DISCONTINUITY\r\n"
    )
    carried = [
        line
        for line in (tag_in_force(before, "#EXT-X-MAP:"), tag_in_force(before, "#EXT-X-KEY:"))
        if line
    ]
    kept = text[cut:]
    if "#EXT-X-PROGRAM-DATE-TIME:" not in kept.split(EXTINF, 1)[0]:
        date = _date_at_cut(before)
        if date is not None:
            carried.append("#EXT-X-PROGRAM-DATE-TIME:" + date.isoformat(timespec="milliseconds"))
    lines = [
        line
        for line in header.splitlines()
        if not is_segment_tag(line)
        and not line.startswith(("#EXT-X-MEDIA-SEQUENCE:", "#EXT-X-PLAYLIST-TYPE:"))
        and not line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:")
    ]
    sequence = (_header_number(header, "#EXT-X-MEDIA-SEQUENCE:") or 0) + dropped_segments
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{int(sequence)}")
    stated = _header_number(header, "#EXT-X-DISCONTINUITY-SEQUENCE:")
    if stated is not None or discontinuities:
        discontinuity_sequence = int((stated or 0) + discontinuities)
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}")
    return "\n".join([*lines, *carried]) + "\n" + kept


# -- the pieces -------------------------------------------------------------------------------


def _header_number(header: str, tag: str) -> float | None:
    match = re.search("^" + re.escape(tag) + r"\s*([0-9.]+)", header, re.M)
    return float(match.group(1)) if match else None


def _duration_at(text: str, line_start: int) -> float | None:
    match = DURATION_RE.match(text, line_start)
    return float(match.group(1)) if match else None


def _end_of_uri_line(text: str, extinf_start: int) -> int | None:
    """Where the line after the segment's URI starts (its URI: the first line after its
    EXTINF that is not a tag or blank)."""
    position = text.find("\n", extinf_start)
    while position >= 0:
        end = text.find("\n", position + 1)
        line = text[position + 1 : end if end >= 0 else len(text)].strip()
        if line and not line.startswith("#"):
            return end + 1 if end >= 0 else None
        if end < 0:
            return None
        position = end
    return None


def tag_in_force(text: str, tag: str) -> str:
    """The last line of ``text`` that starts with ``tag`` (stripped), or ``""``."""
    found = text.rfind("\n" + tag)
    if found < 0:
        if not text.startswith(tag):
            return ""
        found = -1
    end = text.find("\n", found + 1)
    return text[found + 1 : end if end >= 0 else len(text)].strip()


def _date_at_cut(dropped: str) -> datetime | None:
    """The wall-clock time the first kept segment starts at: the newest dropped
    ``EXT-X-PROGRAM-DATE-TIME`` plus the durations of the segments after it."""
    line = tag_in_force(dropped, "#EXT-X-PROGRAM-DATE-TIME:")
    if not line:
        return None
    try:
        date = m3u8.parser.cast_date_time(line.split(":", 1)[1])
    except ValueError:
        return None
    since = dropped[dropped.rfind(line) :]
    # Whole microseconds per segment, as the m3u8 parser's timedeltas round each one.
    micros = sum(map(round, map((1e6).__mul__, map(float, DURATION_RE.findall(since)))))
    return date + timedelta(microseconds=micros)
