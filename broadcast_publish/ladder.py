"""Renditions: the default bitrate ladder and ``--renditions`` parsing.

Sizes and bitrates follow Apple's HLS authoring guidance for H.264 (16:9), rounded; the
audio (AAC, stereo) is the same in every rendition.
"""

from __future__ import annotations

from dataclasses import dataclass

AUDIO_KBPS = 128


@dataclass(frozen=True)
class Rendition:
    name: str
    height: int
    video_kbps: int

    @property
    def bandwidth(self) -> int:
        """Peak bits per second, for the master's ``BANDWIDTH`` (video, audio, overhead)."""
        return int((self.video_kbps + AUDIO_KBPS) * 1000 * 1.1)


LADDER: dict[str, Rendition] = {
    r.name: r
    for r in (
        Rendition("1080p", 1080, 5000),
        Rendition("720p", 720, 2800),
        Rendition("480p", 480, 1400),
        Rendition("360p", 360, 800),
        Rendition("240p", 240, 400),
    )
}
DEFAULT_RENDITIONS = ("720p", "480p", "240p")


def parse_renditions(value: str) -> tuple[Rendition, ...]:
    """``"720p,480p"`` → the ladder's renditions, highest first; ``ValueError`` if unknown
    or repeated. ``"default"`` is :data:`DEFAULT_RENDITIONS`."""
    names = DEFAULT_RENDITIONS if value.strip() == "default" else value.split(",")
    chosen: list[Rendition] = []
    for raw in names:
        name = raw.strip()
        if name not in LADDER:
            known = ", ".join(LADDER)
            raise ValueError(f"unknown rendition {name!r} (known: {known})")
        if LADDER[name] in chosen:
            raise ValueError(f"rendition {name!r} given twice")
        chosen.append(LADDER[name])
    return tuple(sorted(chosen, key=lambda r: -r.height))
