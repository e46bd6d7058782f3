"""``StreamViewSet``: start, stop, list and retrieve streams.

Customise it the DRF way, by subclassing and registering the subclass::

    class MyStreamViewSet(StreamViewSet):
        authentication_classes = [TokenAuthentication]
        throttle_classes = [UserRateThrottle]

Hooks: ``get_queryset``, ``perform_start``, ``perform_stop``,
``get_start_response_data``, ``get_stop_response_data``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from broadcast_api import schema
from broadcast_api.conf import conf
from broadcast_api.errors import exception_handler
from broadcast_api.models import AbstractStream, StopReason, get_stream_model
from broadcast_api.permissions import IsOwnerOrStaff
from broadcast_api.rendering import start_response, stop_response
from broadcast_api.serializers import (
    StartStreamSerializer,
    StopStreamSerializer,
    StreamListQuerySerializer,
    StreamSerializer,
)
from broadcast_api.services import (
    StartResult,
    StopResult,
    owner_scope,
    start_stream,
    stop_in,
    stop_stream,
    streams_for,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from rest_framework.request import Request


class StreamPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = conf.PAGE_SIZE
        return super().get_page_size(request)


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


@schema.stream_viewset_schema
class StreamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    serializer_class = StreamSerializer
    # The responses are a JSON contract; the browsable API's negotiation costs ~0.1 ms.
    renderer_classes = [JSONRenderer]
    permission_classes = [IsAuthenticated, IsOwnerOrStaff]
    pagination_class = StreamPagination
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"  # any id reaches the view, which answers 404 in our shape

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return exception_handler

    def get_queryset(self) -> QuerySet[AbstractStream]:
        """The caller's streams; staff may retrieve and stop anyone's, but list their own."""
        is_list = self.action == "list"
        queryset = streams_for(self.request.user, include_others_for_staff=not is_list)
        if is_list:
            params = StreamListQuerySerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            if "status" in params.validated_data:
                queryset = queryset.filter(status=params.validated_data["status"])
        return queryset

    # -- start --------------------------------------------------------------------------

    @action(detail=False, methods=["post"])
    def start(self, request: Request) -> Response:
        serializer = StartStreamSerializer(data=request_params(request))
        serializer.is_valid(raise_exception=True)
        result = self.perform_start(serializer)
        return Response(self.get_start_response_data(result), status=status.HTTP_201_CREATED)

    def perform_start(self, serializer: StartStreamSerializer) -> StartResult:
        return start_stream(owner=self.request.user, **serializer.validated_data)

    def get_start_response_data(self, result: StartResult) -> dict[str, Any]:
        return start_response(result)

    # -- stop ---------------------------------------------------------------------------

    @action(detail=False, methods=["post"])
    def stop(self, request: Request) -> Response:
        serializer = StopStreamSerializer(data=request_params(request))
        serializer.is_valid(raise_exception=True)
        self.kwargs[self.lookup_url_kwarg] = serializer.validated_data["id"]
        result = self.stop_without_get_object()
        if result is None:  # a hook or an object permission needs the stream first
            result = self.perform_stop(self.get_object())
        return Response(self.get_stop_response_data(result))

    def stop_without_get_object(self) -> StopResult | None:
        """Stop through ``services.stop_in`` when that provably decides the same.

        ``get_object()`` then ``perform_stop()`` cost a SELECT and an UPDATE.
        ``stop_in`` stops a live stream with one ``UPDATE … RETURNING``. It is used when
        nothing needs the stream before the write: ``perform_stop``, ``get_object`` and
        ``check_object_permissions`` are not overridden, and every object permission
        is either a no-op or ``IsOwnerOrStaff``, which becomes an owner filter. The
        write then carries the whole decision, with the same queryset, filters, lookup
        and permission as the two-step path. An ended stream is answered by one read, a
        stream outside our own queryset by a 404, as ``get_object`` would. ``None``
        means "take the two-step path".
        """
        cls = type(self)
        if (
            cls.perform_stop is not StreamViewSet.perform_stop
            or cls.get_object is not StreamViewSet.get_object
            or cls.check_object_permissions is not StreamViewSet.check_object_permissions
        ):
            return None
        user = self.request.user
        lookup = {self.lookup_field: self.kwargs[self.lookup_url_kwarg]}
        own_queryset = cls.get_queryset is StreamViewSet.get_queryset
        if own_queryset:  # the same rows, with the scope merged into one filter() call
            queryset = get_stream_model()._default_manager.all()
            lookup.update(owner_scope(user))
        else:
            queryset = self.get_queryset()
        for permission in self.get_permissions():
            check = type(permission).has_object_permission
            if check is IsOwnerOrStaff.has_object_permission:
                if not getattr(user, "is_staff", False):
                    if getattr(user, "pk", None) is None:
                        return None  # IsOwnerOrStaff refuses ownerless streams
                    if not own_queryset:  # our own queryset already says exactly this
                        lookup["owner_id"] = user.pk
            elif check is not BasePermission.has_object_permission:
                return None
        queryset = self.filter_queryset(queryset)
        try:
            return stop_in(queryset, lookup, reason=StopReason.CLIENT)
        except queryset.model.DoesNotExist:
            if own_queryset:
                raise exceptions.NotFound() from None
            return None  # a wider queryset: get_object tells 403 (not yours) from 404

    def perform_stop(self, stream: AbstractStream) -> StopResult:
        return stop_stream(stream, reason=StopReason.CLIENT)

    def get_stop_response_data(self, result: StopResult) -> dict[str, Any]:
        return stop_response(result)
