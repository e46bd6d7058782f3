"""Webhooks: the package's events, signed and POSTed to the host's endpoints.

``endpoints`` (where they go), ``outbox`` (written with the change), ``delivery`` (one
signed POST, retried), ``tasks``, ``admin``, ``checks``; ``receivers`` subscribes them
to the core's announcements (``broadcast_api.hooks``) when the app is ready.

Nothing is imported here: ``broadcast_api.models`` imports ``webhooks.models`` while
the app registry loads.
"""
