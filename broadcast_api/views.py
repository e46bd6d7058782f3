"""``StreamViewSet``: start, stop, list, retrieve and delete streams, and serve their
playlists.

Customise it the DRF way, by subclassing and registering the subclass::

    class MyStreamViewSet(StreamViewSet):
        authentication_classes = [TokenAuthentication]
        throttle_classes = [UserRateThrottle]

Swap a response by pointing ``start_response_serializer_class`` (or
``stop_response_serializer_class``, ``serializer_class``) at a subclass of ours. Hooks:
``get_queryset``, ``perform_start``, ``perform_refresh``, ``perform_resume``,
``perform_update``, ``perform_stop``, ``perform_destroy``, ``perform_announce_poster``;
stop is always ``get_object()`` then ``perform_stop()``, delete ``get_object()`` then
``perform_destroy()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from broadcast_api.conf import conf
from broadcast_api.errors import exception_handler
from broadcast_api.lifecycle.deletion import delete_stream
from broadcast_api.models import AbstractStream, StopReason, get_stream_model
from broadcast_api.permissions import IsOwnerOrStaff
from broadcast_api.playback.views import PlaylistMixin
from broadcast_api.posters import record_poster
from broadcast_api.schema import StreamSchema
from broadcast_api.serializers import (
    StartStreamResponseSerializer,
    StartStreamSerializer,
    StopStreamResponseSerializer,
    StopStreamSerializer,
    StreamListQuerySerializer,
    StreamSerializer,
    StreamUpdateSerializer,
)
from broadcast_api.services import (
    StartResult,
    StopResult,
    refresh_credentials,
    resume_stream,
    start_stream,
    stop_stream,
    streams_for,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from rest_framework.request import Request
    from rest_framework.serializers import BaseSerializer


class StreamPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = conf.PAGE_SIZE
        return super().get_page_size(request)


IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces


def idempotency_key(request: Request) -> str:
    """The ``Idempotency-Key`` header (IETF draft: a structured-field string, so its
    quotes are optional here), or ``""``. A malformed one is a 400."""
    value = request.headers.get("Idempotency-Key", "").strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if "Idempotency-Key" in request.headers and not IDEMPOTENCY_KEY_RE.fullmatch(value):
        raise exceptions.ValidationError(
            {
                "Idempotency-Key": [
                    exceptions.ErrorDetail(
                        "1 to 255 printable ASCII characters, e.g. a UUID.", code="invalid"
                    )
                ]
            }
        )
    return value


def request_params(request: Request) -> dict[str, Any]:
    """Parameters from the query string and the body (url-encoded, form or JSON).

    The seed's clients send ``POST /stream/start/?name=...&type=hls`` with an empty body;
    newer clients send a body. Body values win over query-string values.
    """
    data = request.data
    if not isinstance(data, Mapping):
        raise exceptions.ValidationError({"non_field_errors": ["Expected an object."]})
    params: dict[str, Any] = request.query_params.dict()
    params.update(data.dict() if isinstance(data, QueryDict) else data)
    return params


class StreamViewSet(
    PlaylistMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Start, stop, refresh, list, retrieve, edit and delete streams, and serve their
    playlists.

    Serializers are chosen per action, as DRF's generic views choose theirs: the
    request by ``<action>_serializer_class`` (``serializer_class`` when there is none),
    the response by ``<action>_response_serializer_class`` (else the request's).
    """

    serializer_class = StreamSerializer
    start_serializer_class = StartStreamSerializer
    start_response_serializer_class = StartStreamResponseSerializer
    stop_serializer_class = StopStreamSerializer
    stop_response_serializer_class = StopStreamResponseSerializer
    credentials_response_serializer_class = StartStreamResponseSerializer
    resume_response_serializer_class = StartStreamResponseSerializer
    partial_update_serializer_class = StreamUpdateSerializer
    partial_update_response_serializer_class = StreamSerializer
    poster_response_serializer_class = StreamSerializer
    # DRF's ScopedRateThrottle reads it; start sets "broadcast_start" (see the README).
    throttle_scope: str | None = None
    # The responses are a JSON contract; the browsable API's negotiation costs ~0.1 ms.
    renderer_classes = [JSONRenderer]
    permission_classes = [IsAuthenticated, IsOwnerOrStaff]
    pagination_class = StreamPagination
    schema = StreamSchema()
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"  # any id reaches the view, which answers 404 in our shape

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return exception_handler

    def get_queryset(self) -> QuerySet[AbstractStream]:
        """The caller's streams; staff may retrieve, stop and delete anyone's, but list
        their own. A stream being deleted is staff's only (``services.streams_for``).

        The playlist action looks at every stream: who may watch is decided by the stream
        (owner, staff, public, token), and a stream one may not watch is a 404 as well.
        """
        if self.action == "playlist":  # a stream being deleted is no longer watched
            return get_stream_model()._default_manager.filter(deleted_at__isnull=True)
        # Only the owner lists its streams, refreshes their credentials and edits them.
        owner_only = self.action in {"list", "credentials", "resume", "partial_update", "poster"}
        queryset = streams_for(self.request.user, include_others_for_staff=not owner_only)
        # Never upload into a prefix being emptied, nor begin a session there.
        if self.action in {"credentials", "resume"}:
            queryset = queryset.filter(deleted_at__isnull=True)
        if self.action == "list":
            # A dict, not the QueryDict: DRF reads a missing boolean in form data as False.
            params = StreamListQuerySerializer(data=self.request.query_params.dict())
            params.is_valid(raise_exception=True)
            queryset = queryset.filter(**params.validated_data)
        return queryset

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        action_class: type[BaseSerializer[Any]] | None = getattr(
            self, f"{self.action}_serializer_class", None
        )
        return action_class or super().get_serializer_class()

    def get_response_serializer_class(self) -> type[BaseSerializer[Any]]:
        action_class: type[BaseSerializer[Any]] | None = getattr(
            self, f"{self.action}_response_serializer_class", None
        )
        return action_class or self.get_serializer_class()

    def get_response_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[Any]:
        """The current action's response serializer, with the usual context."""
        kwargs.setdefault("context", self.get_serializer_context())
        return self.get_response_serializer_class()(*args, **kwargs)

    # -- start --------------------------------------------------------------------------

    @action(detail=False, methods=["post"], throttle_scope="broadcast_start")
    def start(self, request: Request) -> Response:
        """Start a stream; with an ``Idempotency-Key`` header, a retry returns the same one."""
        serializer = self.get_serializer(data=request_params(request))
        serializer.is_valid(raise_exception=True)
        result = self.perform_start(serializer)
        data = self.get_response_serializer(result).data
        headers = {"Idempotent-Replayed": "true"} if result.replayed else None
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)

    def perform_start(self, serializer: BaseSerializer[Any]) -> StartResult:
        return start_stream(
            owner=self.request.user,
            idempotency_key=idempotency_key(self.request),
            **serializer.validated_data,
        )

    # -- credentials --------------------------------------------------------------------

    @action(detail=True, methods=["post"])
    def credentials(self, request: Request, id: str | None = None) -> Response:
        """New upload credentials for the same prefix, for the owner of a live stream."""
        result = self.perform_refresh(self.get_object())
        return Response(self.get_response_serializer(result).data)

    def perform_refresh(self, stream: AbstractStream) -> StartResult:
        return refresh_credentials(stream)

    # -- resume -------------------------------------------------------------------------

    @action(detail=True, methods=["post"])
    def resume(self, request: Request, id: str | None = None) -> Response:
        """Continue a live stream after a crash or a lost connection: the next publishing
        session, with credentials for its own folder (``s3_bucket_path``)."""
        result = self.perform_resume(self.get_object())
        return Response(self.get_response_serializer(result).data)

    def perform_resume(self, stream: AbstractStream) -> StartResult:
        return resume_stream(stream)

    # -- the poster ---------------------------------------------------------------------

    @action(detail=True, methods=["post"])
    def poster(self, request: Request, id: str | None = None) -> Response:
        """The owner says the poster is uploaded; the server checks (live or ended)."""
        stream = self.perform_announce_poster(self.get_object())
        return Response(self.get_response_serializer(stream).data)

    def perform_announce_poster(self, stream: AbstractStream) -> AbstractStream:
        return record_poster(stream)

    # -- edit ---------------------------------------------------------------------------

    def partial_update(self, request: Request, id: str | None = None) -> Response:
        """``PATCH /stream/{id}/``: the owner changes ``title``, ``description``,
        ``is_public``."""
        stream = self.get_object()
        serializer = self.get_serializer(stream, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(self.get_response_serializer(stream).data)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        stream = serializer.save()
        if "is_public" in serializer.validated_data:  # who may watch: applies at once
            self.playlist_cache.forget_stream(stream.pk)

    # -- stop ---------------------------------------------------------------------------

    @action(detail=False, methods=["post"])
    def stop(self, request: Request) -> Response:
        """Stop the stream named by ``id`` in the body (or the query string)."""
        serializer = self.get_serializer(data=request_params(request))
        serializer.is_valid(raise_exception=True)
        self.kwargs[self.lookup_url_kwarg] = serializer.validated_data["id"]
        result = self.perform_stop(self.get_object())
        return Response(self.get_response_serializer(result).data)

    def perform_stop(self, stream: AbstractStream) -> StopResult:
        return stop_stream(stream, reason=StopReason.CLIENT)

    # -- delete -------------------------------------------------------------------------

    def perform_destroy(self, instance: AbstractStream) -> None:
        """``DELETE /stream/{id}/`` (the owner, or staff): stop it if live, delete every
        object under its prefix, then the row (``lifecycle.deletion``). When S3 fails the
        answer is 503, the stream answers 404 to its owner from then on, and
        ``broadcast_reap`` finishes the deletion."""
        user = self.request.user
        mine = instance.owner_id is not None and instance.owner_id == getattr(user, "pk", None)
        delete_stream(instance, reason=StopReason.CLIENT if mine else StopReason.ADMIN)
