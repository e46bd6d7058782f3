"""The paths a host or a queue may hold on to still lead where they did.

Modules that moved into the feature packages left a module behind that re-exports their
names; each is pinned here to the object it stands for, so a re-export cannot drift into
a copy (or vanish) unnoticed.
"""

from __future__ import annotations

import importlib

import pytest
from django.utils.module_loading import import_string

from broadcast_api.conf import DEFAULT_PROVIDER
from broadcast_api.credentials import CredentialProvider

# old module -> {name: the module that now defines it}
MOVED = {
    "broadcast_api.playback": {
        "Audience": "broadcast_api.viewing",
        "PLAYLIST_URL_NAME": "broadcast_api.viewing",
        "TOKEN_SALT": "broadcast_api.viewing",
        "on_setting_changed": "broadcast_api.viewing",
        "playback_token": "broadcast_api.viewing",
        "playback_url": "broadcast_api.viewing",
        "playlist_path": "broadcast_api.viewing",
        "token_stream_id": "broadcast_api.viewing",
        "playlist_key": "broadcast_api.hls",
    },
    "broadcast_api.playback.signers": dict.fromkeys(
        ["MediaSigner", "S3PresignedUrlSigner", "get_media_signer"], "broadcast_api.signers"
    ),
    "broadcast_api.playlists": dict.fromkeys(
        [
            "CACHE_KEY_PREFIX",
            "MEDIA_TYPE",
            "NOT_READY_SECONDS",
            "CachedPlaylist",
            "PlaylistCache",
            "nested_playlist_url",
            "presigned_urls",
            "resolve_key",
            "rewrite",
            "servable",
        ],
        "broadcast_api.playback.playlists",
    ),
    "broadcast_api.lifecycle": {
        "ReapReport": "broadcast_api.lifecycle.reaper",
        "reap": "broadcast_api.lifecycle.reaper",
        "ENDLIST": "broadcast_api.lifecycle.recordings",
        "finalize_recording_of": "broadcast_api.lifecycle.recordings",
        "with_endlist": "broadcast_api.lifecycle.recordings",
    },
    "broadcast_api.delivery": dict.fromkeys(
        ["RefusedURL", "attempt", "due_deliveries", "post", "reopen", "resolve"],
        "broadcast_api.webhooks.delivery",
    ),
    "broadcast_api.events": {
        "ENDPOINTS_CACHE_KEY": "broadcast_api.webhooks.endpoints",
        "Subscriber": "broadcast_api.webhooks.endpoints",
        "configured_secrets": "broadcast_api.webhooks.endpoints",
        "subscribers": "broadcast_api.webhooks.endpoints",
        "event_body": "broadcast_api.webhooks.outbox",
        "record": "broadcast_api.webhooks.outbox",
    },
    "broadcast_api.webhook_models": dict.fromkeys(
        [
            "DeliveryStatus",
            "WebhookAttempt",
            "WebhookDelivery",
            "WebhookEndpoint",
            "WebhookEvent",
        ],
        "broadcast_api.webhooks.models",
    ),
    "broadcast_api.tasks": {
        "finalize_recording": "broadcast_api.lifecycle.tasks",
        "enqueue_finalize_recording": "broadcast_api.lifecycle.tasks",
        "deliver_webhook": "broadcast_api.webhooks.tasks",
        "enqueue_deliveries": "broadcast_api.webhooks.tasks",
        "enqueue_delivery": "broadcast_api.webhooks.tasks",
        "schedule_delivery": "broadcast_api.webhooks.tasks",
        "enqueue": "broadcast_api.deferred",
        "task_backend": "broadcast_api.deferred",
        "supports_defer": "broadcast_api.deferred",
    },
    "broadcast_api.models": dict.fromkeys(
        ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent"],
        "broadcast_api.webhooks.models",
    ),
}

PAIRS = [(old, name, new) for old, names in MOVED.items() for name, new in names.items()]


@pytest.mark.parametrize(("old", "name", "new"), PAIRS)
def test_a_moved_name_is_the_same_object_at_its_old_path(old: str, name: str, new: str) -> None:
    moved = getattr(importlib.import_module(new), name)
    assert getattr(importlib.import_module(old), name) is moved
    assert import_string(f"{old}.{name}") is moved


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_name_an_old_module_lists_resolves(old: str) -> None:
    module = importlib.import_module(old)
    assert module.__all__, old
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{old}.{name}"


def test_an_unknown_name_of_a_moved_module_is_an_attribute_error() -> None:
    playback = importlib.import_module("broadcast_api.playback")
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = playback.no_such_name


@pytest.mark.parametrize(
    ("path", "defined_in"),
    [
        ("broadcast_api.tasks.finalize_recording", "broadcast_api.lifecycle.tasks"),
        ("broadcast_api.tasks.deliver_webhook", "broadcast_api.webhooks.tasks"),
    ],
)
def test_queued_task_paths_resolve_to_the_task_objects(path: str, defined_in: str) -> None:
    """django-tasks-db rows store a task's dotted path; rows queued before the move name
    ``broadcast_api.tasks.*``, and a worker finds the task by ``import_string``."""
    task = import_string(path)
    assert task is getattr(importlib.import_module(defined_in), path.rsplit(".", 1)[1])
    assert callable(task.func)
    assert hasattr(task, "enqueue")
    assert import_string(task.module_path) is task  # and the new path is as good


def test_the_credential_provider_paths_still_import() -> None:

    assert DEFAULT_PROVIDER == "broadcast_api.credentials.AssumeRoleProvider"
    for name in ("AssumeRoleProvider", "FederationTokenProvider"):
        assert issubclass(import_string(f"broadcast_api.credentials.{name}"), CredentialProvider)
