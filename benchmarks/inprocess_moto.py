"""In-process latency of start and stop against moto_server, beside bare boto3.

    .venv/bin/python benchmarks/inprocess_moto.py [--calls 200]

Each round makes one bare ``assume_role`` call on a reused boto3 client (the floor: the
STS round trip every start must pay), one ``POST /stream/start/`` and one
``POST /stream/stop/`` through Django's test client and the package's whole stack. The
calls are interleaved so machine noise hits all three alike. SQLite in memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["BROADCAST_TEST_DB"] = "sqlite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test.utils import setup_test_environment
    from rest_framework.test import APIClient

    from broadcast_api.policies import UploadScope
    from tests.servers import ROLE_ARN, run_moto

    setup_test_environment()
    call_command("migrate", verbosity=0)
    with run_moto(settings.BROADCAST_API_S3_BUCKET, settings.BROADCAST_API_S3_REGION) as moto:
        settings.BROADCAST_API_STS_ENDPOINT_URL = moto.endpoint_url
        settings.BROADCAST_API_S3_ENDPOINT_URL = moto.endpoint_url
        user = get_user_model().objects.create_user("bench")
        client = APIClient()
        client.force_authenticate(user)
        sts = moto.client("sts")
        scope = UploadScope.for_stream(
            uuid.uuid4(),
            bucket="broadcast-test",
            key_prefix="streams",
            region="us-west-1",
        )
        policy = scope.policy_json()
        # Warm up both paths (client construction, imports, connection pools).
        for _ in range(5):
            sts.assume_role(
                RoleArn=ROLE_ARN, RoleSessionName="warm", Policy=policy, DurationSeconds=3600
            )
            stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
            client.post("/stream/stop/", {"id": stream_id})
        bare, start, stop = [], [], []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            sts.assume_role(
                RoleArn=ROLE_ARN, RoleSessionName="bare", Policy=policy, DurationSeconds=3600
            )
            t1 = time.perf_counter()
            response = client.post("/stream/start/?name=bench&type=hls")
            t2 = time.perf_counter()
            assert response.status_code == 201, response.content
            stopped = client.post("/stream/stop/", {"id": response.json()["stream"]["id"]})
            t3 = time.perf_counter()
            assert stopped.status_code == 200, stopped.content
            bare.append(t1 - t0)
            start.append(t2 - t1)
            stop.append(t3 - t2)

    def row(label: str, samples: list[float]) -> str:
        samples = sorted(samples)
        p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
        return f"{label:<38} {statistics.median(samples) * 1000:8.2f} ms  p99 {p99 * 1000:7.2f} ms"

    print(f"in-process latency, {args.calls} interleaved calls each, moto_server over HTTP")
    print(row("bare boto3 assume_role (reused client)", bare))
    print(row("POST /stream/start/ (full stack)", start))
    print(row("POST /stream/stop/ (full stack)", stop))
    overhead = statistics.median(start) - statistics.median(bare)
    print(
        f"start - bare assume_role (median): {overhead * 1000:.2f} ms; "
        f"ratio {statistics.median(start) / statistics.median(bare):.2f}x"
    )


if __name__ == "__main__":
    main()
