"""The calls a broadcaster makes: start, refresh credentials, announce the poster, stop
(stdlib HTTP).

Authentication is the host's: a DRF token (``Authorization: Token …``, the docs'
installation page sets up ``TokenAuthentication``) or HTTP Basic (the example project).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from broadcast_publish.layout import POSTER_NAME

log = logging.getLogger(__name__)


class ApiError(RuntimeError):
    """The API answered an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class UploadTarget:
    """Where and with what one stream uploads: the ``endpoint.S3`` part of the answer."""

    stream_id: str
    name: str
    bucket: str
    path: str
    region: str
    endpoint_url: str | None
    expiration_seconds: float
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    # The publishing session (1 from start, more after a resume) and the stream's own
    # prefix, where the poster goes whatever the session; ``path`` is the session's.
    session: int = 1
    stream_path: str = ""

    def key(self, filename: str) -> str:
        """Where ``filename`` (relative to the layout's root) is uploaded: under the
        session's ``path``, but the poster always at the stream's own prefix."""
        if filename == POSTER_NAME and self.stream_path:
            return f"{self.stream_path}/{filename}"
        return f"{self.path}/{filename}"

    @classmethod
    def from_start_response(
        cls, payload: dict[str, Any], *, fallback_endpoint_url: str | None
    ) -> UploadTarget:
        """Read the seed's start answer.

        The S3 endpoint is the answer's ``s3_endpoint_url`` when the server sends one (an
        S3-compatible server or emulator), else ``fallback_endpoint_url`` (the publisher's
        ``--s3-endpoint-url``), else AWS's own endpoint for the region.
        """
        try:
            stream = payload["stream"]
            s3 = payload["endpoint"]["S3"]
            return cls(
                stream_id=str(stream["id"]),
                name=str(stream.get("name") or ""),
                bucket=str(s3["s3_bucket_name"]),
                path=str(s3["s3_bucket_path"]).strip("/"),
                region=str(s3["s3_bucket_region"]),
                endpoint_url=s3.get("s3_endpoint_url") or fallback_endpoint_url,
                expiration_seconds=float(s3["aws_expiration"]),
                access_key_id=str(s3["aws_access_key_id"]),
                secret_access_key=str(s3["aws_secret_access_key"]),
                session_token=str(s3["aws_session_token"]),
                session=int(s3.get("publish_session") or 1),
                stream_path=str(s3.get("s3_stream_path") or "").strip("/"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(f"unexpected answer with credentials: missing {exc}") from exc


class BroadcastApi:
    """A client of ``POST /stream/start/``, ``/stream/<id>/credentials/``,
    ``/stream/<id>/resume/``, ``/stream/<id>/poster/`` and ``/stream/stop/``."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        token: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ApiError(f"the API URL must be http:// or https://, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        if token:
            authorization = f"Token {token}"
        else:
            basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            authorization = f"Basic {basic}"
        self._headers = {
            "Authorization": authorization,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "broadcast-publish",
        }
        self.timeout = timeout

    def start(self, name: str, *, public: bool = False) -> dict[str, Any]:
        """Start a stream. Not retried: a second start would be a second stream."""
        form = {"type": "hls", "name": name}
        if public:
            form["is_public"] = "true"
        return self._post("/stream/start/", form)

    def stop(self, stream_id: str, *, attempts: int = 5) -> dict[str, Any]:
        """Stop a stream; stopping is idempotent, so transient failures are retried."""
        return self._retried("/stream/stop/", {"id": stream_id}, attempts=attempts)

    def refresh(self, stream_id: str, *, attempts: int = 3) -> dict[str, Any]:
        """New upload credentials for the same stream (start's shape); retried, since a
        refresh creates nothing."""
        return self._retried(f"/stream/{stream_id}/credentials/", {}, attempts=attempts)

    def resume(self, stream_id: str, *, attempts: int = 3) -> dict[str, Any]:
        """The stream's next publishing session (start's shape, ``s3_bucket_path`` the
        session's folder). Retried: a lost answer's session is left empty, harmlessly."""
        quoted = urllib.parse.quote(stream_id, safe="")
        return self._retried(f"/stream/{quoted}/resume/", {}, attempts=attempts)

    def announce_poster(self, stream_id: str) -> dict[str, Any]:
        """Say the poster is uploaded; the answer is the stream, with its
        ``thumbnail_url``. Not retried here: the next poster upload tries again."""
        return self._post(f"/stream/{stream_id}/poster/", {})

    def _retried(self, path: str, form: dict[str, str], *, attempts: int) -> dict[str, Any]:
        delay = 0.5
        for attempt in range(1, attempts + 1):
            try:
                return self._post(path, form)
            except ApiError as exc:
                retryable = exc.status is None or exc.status >= 500 or exc.status == 429
                if not retryable or attempt == attempts:
                    raise
                log.warning("POST %s failed (%s); retrying in %.1fs", path, exc, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        data = urllib.parse.urlencode(form).encode()
        # http(s) only: checked in __init__.
        request = urllib.request.Request(url, data=data, headers=self._headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            raise ApiError(
                f"POST {path} answered {exc.code}: {text[:300]}", status=exc.code, body=text
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"POST {path} failed: {exc}") from exc
        try:
            decoded: Any = json.loads(body)
        except ValueError as exc:
            raise ApiError(f"POST {path} answered non-JSON: {body[:200]!r}") from exc
        if not isinstance(decoded, dict):
            raise ApiError(f"POST {path} answered a {type(decoded).__name__}, not an object")
        return decoded
