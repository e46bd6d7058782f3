"""What the tests need around the tooling: when a missing server skips or fails, the
prerequisites of each suite, chromium's flags. Imports pytest; the demo never does."""
