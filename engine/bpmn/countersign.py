"""会签 / 或签: a multi-instance user task's completion condition sees every signature so far.

SpiffWorkflow evaluates a multi-instance `completionCondition` in the data of the instance that just
finished, which knows its own answer only. For an approval signed by several people the condition
must count: it is evaluated here with two more names —

- `signatures`: the output items of the instances finished so far (the `outputDataItem`, e.g. each
  signer's `opinion`), in the order they finished;
- `total_signers`: how many instances there are (task data of the same name would hide these).

So, with `outputDataItem` `opinion` (a dict with `agree`):
- 会签 (all must approve): `not opinion["agree"]` — done at the first refusal, else when all signed;
- 或签 (any one suffices): `opinion["agree"]`;
- a ratio: `len([s for s in signatures if s["agree"]]) >= 0.6 * total_signers`.

The collected opinions (`loopDataOutputRef`, e.g. `opinions`) are the next step's data. Installed
once, by engine.bpmn.spiff, like its other library fixes; it is deterministic, so a replay agrees.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask


def install() -> None:
    if getattr(MultiInstanceTask.check_completion_condition, "countersign", False):
        return

    def check_completion_condition(self, my_task):
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return None
        children = {str(c.id): c for c in my_task.children}
        last = children[merged[-1]]
        name = self.output_item.bpmn_id if self.output_item is not None else None
        signatures = [children[i].data.get(name) if name else None for i in merged if i in children]
        context = {"signatures": signatures, "total_signers": len(list(self._instances(my_task)))}
        return my_task.workflow.script_engine.evaluate(last, self.condition, external_context=context)
    check_completion_condition.countersign = True
    MultiInstanceTask.check_completion_condition = check_completion_condition
