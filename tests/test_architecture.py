"""The layout's rules hold: import-linter's contracts of setup.cfg (docs/architecture.md) are kept.

A broken contract fails here with the import chain that breaks it, e.g. a web page importing
`engine.db`, or the BPMN core importing the campaign."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_import_contracts_are_kept():
    lint = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()", "--config", "setup.cfg", "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_only_the_runtime_reads_its_storage_format():
    """A running instance's stored form (SpiffWorkflow's serialisation in `workflow_json` and each task's
    `data_json`) is the runtime's private business: other rooms read instance and task data through
    `engine.runtime.queries` (`instance_data`, `task_data`, `data_of_tasks`, `waiting_elements`)."""
    private = ("workflow_json", "instance_task.c.data_json", "spiff.loads(")
    readers = {}
    for path in sorted((ROOT / "engine").rglob("*.py")):
        room = path.relative_to(ROOT / "engine").parts[0]
        if room in ("runtime", "db"):
            continue
        text = path.read_text(encoding="utf-8")
        found = [p for p in private if p in text]
        if found:
            readers[str(path.relative_to(ROOT))] = found
    assert readers == {}
