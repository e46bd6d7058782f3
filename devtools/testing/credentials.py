"""Upload credentials shorter than STS's 900 s minimum, for test servers only.

AWS STS refuses a ``DurationSeconds`` below 900, and so does botocore before sending
(its model says so), and check ``broadcast_api.E005`` refuses such a
``BROADCAST_API_CREDENTIALS_TTL``. A test of refresh or expiry needs lifetimes of
seconds: moto takes any, and Ceph RGW takes what its ``rgw sts min session duration``
allows. This provider skips botocore's parameter validation so the request is sent.
"""

from __future__ import annotations

from botocore.config import Config

from broadcast_api.credentials import AssumeRoleProvider


class ShortLivedAssumeRoleProvider(AssumeRoleProvider):
    """AssumeRole below STS's 900 s minimum: only a test gateway accepts that."""

    def get_client_config(self) -> Config:
        return super().get_client_config().merge(Config(parameter_validation=False))


SHORT_LIVED_PROVIDER = f"{__name__}.{ShortLivedAssumeRoleProvider.__name__}"
# The lifetime of tests.short_credentials_settings, the browser refresh test's server.
SHORT_CREDENTIALS_TTL = 20
