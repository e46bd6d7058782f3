"""Developer tooling for broadcast_api: the demo stack, a local S3/STS emulator, the Ceph
RADOS Gateway runner and the pytest plugin that hands them to the tests.

Not part of the distribution (the wheel ships ``broadcast_api`` only). Run from a
checkout: ``python -m devtools.demo``, ``python -m devtools.emulator``,
``python -m devtools.ceph_rgw start|stop``.
"""
