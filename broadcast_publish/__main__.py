"""``python -m broadcast_publish``: the same as the ``broadcast-publish`` command."""

from __future__ import annotations

import sys

from broadcast_publish.cli import main

sys.exit(main())
