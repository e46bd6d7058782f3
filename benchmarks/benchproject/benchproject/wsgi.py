"""WSGI entry point for gunicorn (``--chdir benchmarks/benchproject``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
for entry in (str(HERE.parent.parent), str(HERE)):  # repository root, benchproject
    if entry not in sys.path:
        sys.path.insert(0, entry)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

from benchproject.request_cpu import measure  # noqa: E402

application = measure(get_wsgi_application())
