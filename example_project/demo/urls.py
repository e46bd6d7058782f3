"""Pages of the demo app (the player page is added by the demo work)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
