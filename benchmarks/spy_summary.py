"""Summarise py-spy ``--format raw`` profiles of a gunicorn worker, per request.

``python -m benchmarks --profile`` records one worker for ~6 s per endpoint and side and writes
``results/profile/py-spy-<mode>-<side>-<endpoint>.txt`` (+ ``.requests``: how many requests
that worker served meanwhile). This prints, for each recording, the samples per request
spent inside a few labelled parts of the stack (inclusive), so baseline and package can be
compared line by line:

    .venv/bin/python -m benchmarks.spy_summary benchmarks/results/profile
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# label -> regular expression matched against each frame ("function (file:line)").
PARTS: dict[str, str] = {
    "whole request (WSGIHandler)": r"^WSGIHandler\.__call__ ",
    "DRF APIView.dispatch": r"^APIView\.dispatch ",
    "  authentication (token query)": r"^TokenAuthentication\.|^_user \(baseline",
    "  request parsing (.data / .POST)": r"^Request\.data |^WSGIRequest\._get_post ",
    "  request serializer is_valid": r"^\w*Serializer\.is_valid ",
    "  get_object (SELECT + permissions)": r"^\w+\.get_object ",
    "  response serializer .data": r"^\w*Serializer\.data ",
    "  DRF finalize_response / render": r"^APIView\.finalize_response |rendered_content ",
    "botocore API call (AssumeRole)": r"^(STS|BaseClient)\._(api_call|make_api_call) ",
    "ORM INSERT (create/save)": r"^(QuerySet\.create|Model\.save|Model\.save_base) ",
    "ORM UPDATE (QuerySet.update)": r"^QuerySet\.update ",
    "SQL execute (all queries)": r"^CursorWrapper\._?execute ",
    "copy.deepcopy (DRF field copies)": r"^deepcopy ",
    "broadcast_api conf reads": r"broadcast_api/conf\.py",
    "get_client_key": r"get_client_key ",
}


def load(path: Path) -> list[tuple[list[str], int]]:
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        rows.append((stack.split(";"), int(count)))
    return rows


def summarise(path: Path) -> dict[str, float]:
    rows = load(path)
    requests_file = path.with_suffix(".requests")
    requests = int(requests_file.read_text()) if requests_file.exists() else 1
    out: dict[str, float] = {"samples": sum(n for _, n in rows), "requests": requests}
    for label, pattern in PARTS.items():
        regex = re.compile(pattern)
        hits = sum(n for frames, n in rows if any(regex.search(f) for f in frames))
        out[label] = hits / max(1, requests)
    return out


def report(directory: Path) -> str:
    lines = []
    files = sorted(directory.glob("py-spy-*-*-*.txt"))
    groups: dict[tuple[str, str], dict[str, Path]] = {}
    for path in files:
        _, _, mode, side, endpoint = path.stem.split("-", 4)
        groups.setdefault((mode, endpoint), {})[side] = path
    for (mode, endpoint), sides in sorted(groups.items()):
        data = {side: summarise(path) for side, path in sides.items()}
        lines.append(f"{mode} {endpoint}: py-spy samples per request (one worker, 250 Hz)")
        names = list(data)
        lines.append(f"  {'part':40}" + "".join(f"{n:>10}" for n in names))
        for label in ["requests", *PARTS]:
            values = [data[n][label] for n in names]
            if label != "requests" and not any(values):
                continue
            fmt = "{:>10.0f}" if label == "requests" else "{:>10.2f}"
            lines.append(f"  {label:40}" + "".join(fmt.format(v) for v in values))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/profile")))
