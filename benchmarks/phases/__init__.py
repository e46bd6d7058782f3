"""The phases of a bench run, each against its own gunicorn: start/stop, viewer, memory."""
