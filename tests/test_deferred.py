"""``broadcast_api.deferred``: tasks with Django's Tasks framework, and without one.

Django 5.2 without the ``django-tasks`` backport has no framework: every module must
still import (admin autodiscovery, ``migrate``, ``check``), and the tasks run in the
process, as Django 6's immediate backend runs them. CI's 5.2 line runs the whole
selection that way; here the same is forced in a subprocess on whichever line runs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from broadcast_api import deferred
from broadcast_api.deferred import InProcessBackend, InProcessTask

ROOT = Path(__file__).resolve().parent.parent


def double(value: int, seen: list[int]) -> int:
    seen.append(value * 2)
    return value * 2


def fail(value: int) -> None:
    raise RuntimeError(f"secret-{value}")


def test_an_in_process_task_runs_when_it_is_enqueued() -> None:
    seen: list[int] = []
    task = InProcessTask(double)
    assert task.name == "double"
    assert task.module_path == f"{__name__}.double"
    deferred.enqueue(task, 21, seen)
    assert seen == [42]
    assert task.call(1, seen) == 2
    assert isinstance(task.get_backend(), InProcessBackend)
    assert task.get_backend().supports_defer is False


def test_an_in_process_tasks_error_is_logged_by_class_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="broadcast_api.tasks"):
        deferred.enqueue(InProcessTask(fail), 7)
    [record] = [r for r in caplog.records if r.name == "broadcast_api.tasks"]
    assert "RuntimeError" in record.getMessage()
    assert "secret-7" not in record.getMessage()


@pytest.mark.parametrize(
    "using",
    [{"run_after": "soon"}, {"queue_name": "broadcasts"}, {"backend": "workers"}],
)
def test_what_an_in_process_task_cannot_honour_is_refused(using: dict[str, Any]) -> None:
    seen: list[int] = []
    with pytest.raises(ValueError, match="without a Tasks framework"):
        InProcessTask(double).using(**using).enqueue(1, seen)
    assert seen == []
    deferred.enqueue(InProcessTask(double).using(queue_name="default"), 1, seen)  # fine
    assert seen == [2]


def test_without_a_framework_task_makes_in_process_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deferred, "_tasks", None)
    made = deferred.task(double)
    assert isinstance(made, InProcessTask)
    assert made.func is double
    assert isinstance(deferred.task_backend(), InProcessBackend)
    assert deferred.supports_defer() is False


def test_with_a_framework_task_makes_its_tasks() -> None:
    if deferred.FRAMEWORK is None:
        assert isinstance(deferred.task(double), InProcessTask)
        return
    made = deferred.task(double)
    assert not isinstance(made, InProcessTask)
    assert type(made).__module__.startswith(deferred.FRAMEWORK)


NO_FRAMEWORK = textwrap.dedent(
    """
    import importlib, io, pkgutil, sys

    class NoTasksFramework:
        \"\"\"As on Django 5.2 without the backport: neither import is there.\"\"\"

        def find_spec(self, name, path=None, target=None):
            if name in ("django.tasks", "django_tasks") or name.startswith(
                ("django.tasks.", "django_tasks.")
            ):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTasksFramework())

    import django
    from django.core.management import call_command

    django.setup()  # admin autodiscovery imports broadcast_api.admin and webhooks.admin
    import broadcast_api

    for module in pkgutil.walk_packages(broadcast_api.__path__, "broadcast_api."):
        importlib.import_module(module.name)
    from broadcast_api import deferred, tasks

    assert deferred.FRAMEWORK is None, deferred.FRAMEWORK
    assert type(tasks.finalize_recording).__name__ == "InProcessTask"
    assert type(tasks.deliver_webhook).__name__ == "InProcessTask"
    call_command("migrate", verbosity=0)
    err = io.StringIO()
    call_command("check", stdout=io.StringIO(), stderr=err)
    print(err.getvalue())
    """
)


def test_every_module_imports_and_migrate_and_check_pass_without_a_tasks_framework(
    tmp_path: Path,
) -> None:
    (tmp_path / "override.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        f"DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', "
        f"'NAME': {str(tmp_path / 'db.sqlite3')!r}}}}}\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "override",  # the test settings, on a fresh database
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        "BROADCAST_TEST_DB": "sqlite",
    }
    result = subprocess.run(
        [sys.executable, "-c", NO_FRAMEWORK],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "broadcast_api.W007" in result.stdout
    assert "E017" not in result.stdout + result.stderr
