"""``python -m publisher``: see :mod:`publisher`."""

from __future__ import annotations

from publisher.cli import main

raise SystemExit(main())
