"""A stream's poster, as the server learns of it: seen in the bucket, recorded once.

The broadcaster uploads ``<prefix>/poster.jpg`` (``hls.poster_key``) and announces it
(``POST /stream/{id}/poster/``); after a stop, playback looks once more for a
broadcaster that never announced. Either way :func:`record_poster` HEADs the key with
the server's own identity and sets ``poster_uploaded_at`` with one conditional UPDATE,
so a list page needs no S3 request per stream to know which have a poster. The server
never reads or touches the picture itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import DatabaseError
from django.utils import timezone

from broadcast_api.exceptions import DatabaseUnavailable, PosterNotUploaded
from broadcast_api.hls import poster_key
from broadcast_api.storage import get_storage

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream

__all__ = ["record_poster"]

logger = logging.getLogger("broadcast_api.posters")


def record_poster(stream: AbstractStream) -> AbstractStream:
    """Record that ``stream`` has a poster, live or ended; idempotent.

    A stream whose poster is recorded already is returned as it is (no S3 request).
    Otherwise one HEAD of its poster key: absent raises ``PosterNotUploaded``; S3
    failing raises ``StorageUnavailable`` (nothing written). Present: ``UPDATE ... SET
    poster_uploaded_at = now WHERE id = ? AND poster_uploaded_at IS NULL``, so
    concurrent announces keep the first time; ``stream`` is updated in memory.
    """
    if stream.poster_uploaded_at is not None:
        return stream
    if get_storage().last_modified(stream.s3_bucket, poster_key(stream)) is None:
        raise PosterNotUploaded("No poster has been uploaded under the stream's prefix yet.")
    now = timezone.now()
    manager = type(stream)._default_manager
    try:
        updated = manager.filter(pk=stream.pk, poster_uploaded_at__isnull=True).update(
            poster_uploaded_at=now
        )
        if updated:
            stream.poster_uploaded_at = now
            logger.info("stream %s: poster recorded", stream.pk)
        else:  # another announce was first
            stream.refresh_from_db(fields=["poster_uploaded_at"])
    except DatabaseError as exc:
        logger.error("stream %s: poster not recorded: %s", stream.pk, type(exc).__name__)
        raise DatabaseUnavailable("The poster could not be recorded.", reason="db_error") from None
    return stream
