"""The engine core knows no domain: an engine built without the campaign's and the clues' operators
runs plain processes, and refuses at deploy a diagram that names an operator it was not given."""
from __future__ import annotations

import subprocess
import sys

import pytest

from engine.bpmn.validation import SourceFile
from engine.clock import IdSource
from engine.errors import Invalid
from engine.forms import FormCatalog
from engine.runtime.services import Engine
from tests.conftest import ROOT, bpmn

pytestmark = pytest.mark.both_databases


@pytest.fixture
def core(db, clock, forms_dir):
    """An engine with no domain registered (only the engine's own operators and guards)."""
    return Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=3), verify_persistence=True)


def test_an_engine_without_domains_deploys_and_runs_a_plain_process_to_its_end(core):
    core.deploy([SourceFile("parallel.bpmn", bpmn("parallel.bpmn"))], deployed_by="admin")
    view = core.start("parallel", started_by="alice")
    for name in ("Task A", "Task B", "Final"):
        task = next(t for t in core.show(view.id).tasks if t.name == name)
        view = core.complete_task(task.id, user="alice")
    assert view.status == "completed"
    assert "campaign_statistics" not in core.connectors.services


def test_a_campaign_operator_is_refused_at_deploy_with_its_place_when_the_campaign_is_not_registered(core):
    with pytest.raises(Invalid) as refused:
        core.deploy([SourceFile("campaign_figures.bpmn", bpmn("campaign_figures.bpmn"))], deployed_by="admin")
    [problem] = refused.value.problems
    assert (problem.code, problem.file, problem.element_id, problem.line) == (
        "unknown_service", "campaign_figures.bpmn", "figures", 7)
    assert '"campaign_statistics"' in problem.message and "start_instances" in problem.message


def test_the_same_diagram_deploys_once_the_composition_root_registers_the_domains(db, clock, forms_dir):
    from engine.bootstrap import domain_connectors
    full = Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=3), connectors=domain_connectors())
    [deployed] = full.deploy([SourceFile("campaign_figures.bpmn", bpmn("campaign_figures.bpmn"))],
                             deployed_by="admin")
    assert deployed.created


def test_the_runtime_imports_no_domain_and_the_schema_is_complete_on_its_own():
    probe = ("import sys\n"
             "from engine.db.schema import metadata\n"
             "import engine.runtime.services, engine.runtime.replay, engine.bpmn.validation\n"
             "assert {'clue_reporter', 'clue_query_code', 'public_throttle'} <= set(metadata.tables)\n"
             "loaded = [m for m in sys.modules if m.startswith(('engine.campaign', 'engine.clues'))]\n"
             "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
