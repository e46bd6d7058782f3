"""Where a stream is watched, and who may watch it (``broadcast_api.playback`` serves it).

Two modes, chosen by ``BROADCAST_API_PLAYBACK_BASE_URL``:

- public (a CDN or public bucket in front of the bucket):
  ``playback_url = <base>/<s3 prefix>/<playlist name>``;
- private (the default): ``playback_url`` is this server's
  ``GET /stream/<id>/playlist.m3u8``, which serves the playlist with presigned media URLs
  to the owner, staff, anyone when the stream is public, and anyone holding a playback
  token. A private stream's URL carries ``?token=``: a value signed with Django's signing
  framework, naming that stream and valid for ``BROADCAST_API_PLAYBACK_TOKEN_TTL``
  seconds from when it was made, so a player can open it without cookies or headers.

``thumbnail_url`` is the stream's poster (``<prefix>/poster.jpg``, once the server has
seen it): under the public base URL in public mode, else signed as media is
(``BROADCAST_API_MEDIA_SIGNER``: S3 presigned, or CloudFront).
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode

from django.core.signing import BadSignature, Signer
from django.urls import NoReverseMatch, reverse

from broadcast_api.conf import conf
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.hls import playlist_key, poster_key
from broadcast_api.signers import get_media_signer

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

    from broadcast_api.models import AbstractStream

logger = logging.getLogger("broadcast_api.playback")

TOKEN_SALT = "broadcast_api.playback"
PLAYLIST_URL_NAME = "broadcast_api:stream-playlist"


def playback_token(stream_id: uuid.UUID) -> str:
    """A token that lets its holder watch one stream for ``PLAYBACK_TOKEN_TTL`` seconds.

    ``<stream id>.<expiry>:<signature>``, signed with Django's ``Signer`` (the project's
    ``SECRET_KEY``, and its fallbacks when they rotate).
    """
    expires = int(time.time()) + conf.PLAYBACK_TOKEN_TTL
    return Signer(salt=TOKEN_SALT).sign(f"{stream_id.hex}.{expires}")


def token_stream_id(token: str | None) -> uuid.UUID | None:
    """The stream a valid, unexpired token names, else ``None``."""
    if not token:
        return None
    verified = _verify(token)
    if verified is None or verified[1] < time.time():
        return None
    return verified[0]


@functools.lru_cache(maxsize=4096)
def _verify(token: str) -> tuple[uuid.UUID, int] | None:
    """The stream and expiry a token's signature vouches for. Viewers poll with the same
    token every second: its signature is checked once, its expiry on every use."""
    try:
        stream_hex, _, expires = Signer(salt=TOKEN_SALT).unsign(token).partition(".")
        return uuid.UUID(hex=stream_hex), int(expires)
    except (BadSignature, ValueError):
        return None


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """A new ``SECRET_KEY`` voids the verdicts :func:`_verify` remembers."""
    if setting.startswith("SECRET_KEY"):
        _verify.cache_clear()


class Audience(NamedTuple):
    """What decides who may watch a stream: copied from its row, cached with its playlist."""

    owner_id: Any
    is_public: bool

    @classmethod
    def of(cls, stream: AbstractStream) -> Audience:
        return cls(owner_id=stream.owner_id, is_public=bool(getattr(stream, "is_public", False)))

    def admits(self, user: Any, *, token_for_this_stream: bool) -> bool:
        """The owner, staff, anyone for a public stream, or a token holder."""
        if self.is_public or token_for_this_stream:
            return True
        if getattr(user, "is_staff", False):
            return True
        return self.owner_id is not None and self.owner_id == getattr(user, "pk", None)


# The playlist routes of StreamViewSets that routers mounted (``PlaylistMixin.as_view``
# records each: URL name, lookup kwarg), for when there is no request to ask.
mounted_playlist_routes: list[tuple[str, str]] = []


def remember_playlist_route(url_name: str, lookup_kwarg: str) -> None:
    if (url_name, lookup_kwarg) not in mounted_playlist_routes:
        mounted_playlist_routes.append((url_name, lookup_kwarg))


def playlist_routes() -> list[tuple[str, str]]:
    """Where to look for a stream's playlist URL without a request, in order:
    ``BROADCAST_API_PLAYLIST_URL_NAME`` when set; else ``broadcast_api.urls``' own, then
    those of any router that mounted a ``StreamViewSet`` (subclass)."""
    if conf.PLAYLIST_URL_NAME:
        return [(conf.PLAYLIST_URL_NAME, "id")]
    return [(PLAYLIST_URL_NAME, "id"), *mounted_playlist_routes]


def playlist_path(stream_id: uuid.UUID) -> str | None:
    """The playlist path of the first route that reverses; ``None`` when none is mounted."""
    for url_name, lookup_kwarg in playlist_routes():
        try:
            return reverse(url_name, kwargs={lookup_kwarg: stream_id})
        except NoReverseMatch:
            continue
    return None


def playback_url(
    stream: AbstractStream,
    *,
    request: HttpRequest | Request | None = None,
    url: str | None = None,
) -> str | None:
    """Where a player opens ``stream``.

    Public mode: the CDN URL. Private mode: this server's playlist URL (``url`` when the
    caller knows it, e.g. a subclassed ViewSet mounted elsewhere). With ``request`` it is
    absolute and, for a stream that is not public, carries a token: a representation is
    only shown to those who may watch. Without one (the function API, webhooks) it is
    the path alone, and carries no token.
    """
    if conf.PLAYBACK_BASE_URL:
        return f"{conf.PLAYBACK_BASE_URL}/{playlist_key(stream)}"
    if url is None:
        url = playlist_path(stream.pk)
        if url is None:
            return None
        if request is None:
            return url
        url = request.build_absolute_uri(url)
    if request is not None and not getattr(stream, "is_public", False):
        url += "?" + urlencode({"token": playback_token(stream.pk)})
    return url


def thumbnail_url(
    stream: AbstractStream, *, request: HttpRequest | Request | None = None
) -> str | None:
    """Where a list or a player gets the stream's poster; ``None`` until the server has
    seen one (``poster_uploaded_at``, set when the broadcaster announces it or after
    the stop).

    A signed URL is a capability: as with ``playback_url``'s token, a stream that is not
    public gets it only with ``request`` (a representation is only shown to those who
    may watch), never in a webhook payload or the function API's answers.
    """
    if request is None and not conf.PLAYBACK_BASE_URL and not getattr(stream, "is_public", False):
        return None
    return poster_url(stream)


def poster_url(stream: AbstractStream) -> str | None:
    """The poster's URL for someone who may watch ``stream`` (``None`` before it exists,
    and once the stream is being deleted: its objects are going).

    Public mode: ``<PLAYBACK_BASE_URL>/<prefix>/poster.jpg``. Otherwise signed by the
    media signer (S3 presigned, or CloudFront), valid for its ``url_lifetime()``, with no
    network call. A signer that fails gives ``None`` (logged): a missing picture must
    not fail a list or a stop.
    """
    if getattr(stream, "poster_uploaded_at", None) is None:
        return None
    if getattr(stream, "deleted_at", None) is not None:
        return None
    key = poster_key(stream)
    if conf.PLAYBACK_BASE_URL:
        return f"{conf.PLAYBACK_BASE_URL}/{key}"
    signer = get_media_signer()
    try:
        return signer.sign(key, bucket=stream.s3_bucket, expires_in=signer.url_lifetime())
    except StorageUnavailable as exc:
        logger.warning("stream %s: poster URL not signed (%s)", stream.pk, exc.reason)
        return None
