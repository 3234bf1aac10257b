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
