"""SpiffWorkflow set-up in one place: the serializer registry, and fixes for the library's traps.

- Our clock and id source replace SpiffWorkflow's `datetime.now` and `uuid4` (see clock.install).
- The task iterator's depth cap (1,000) silently stalls long chains: a 500-pass loop (W2) would
  stop at pass 333 and report the workflow completed. We lift it.
- A multi-instance activity writing into an output *map* keys it by the input's index, an int;
  instance data is stored as JSON, whose keys are strings, so the same dict would hold `0` before a
  restart and `"0"` after (and mixed keys cannot be sorted, e.g. for the history's hash). We write
  the key as JSON will hold it, a string, so the data is the same whether or not the instance was
  reloaded meanwhile.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from collections.abc import Mapping

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskIterator

from engine import clock
from engine.bpmn import countersign

UNLIMITED_DEPTH = 10**9


def _lift_depth_cap() -> None:
    for cls in (TaskIterator, BpmnTaskIterator):
        init = cls.__init__
        names = init.__code__.co_varnames[1:init.__code__.co_argcount]
        defaults = list(init.__defaults__)
        offset = len(names) - len(defaults)
        defaults[names.index("max_depth") - offset] = UNLIMITED_DEPTH
        init.__defaults__ = tuple(defaults)


def _string_keys_in_output_maps() -> None:
    merge = MultiInstanceTask.merge_child
    if getattr(merge, "string_keys", False):
        return

    def merge_child(self, workflow, child):
        key = child.internal_data.get("key_or_index")
        if key is not None and not isinstance(key, str) and self.data_output is not None \
                and self.output_item is not None:
            parent = child.parent
            output = self.data_output.get(parent)     # as the library reads them (task data references)
            given = self.data_input.get(parent) if self.data_input is not None else None
            if isinstance(output, Mapping) and given is not output:
                child.internal_data["key_or_index"] = str(key)
        return merge(self, workflow, child)
    merge_child.string_keys = True
    MultiInstanceTask.merge_child = merge_child


def _build_registry():
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    registry.register(set, lambda v: {"value": sorted(v, key=repr)}, lambda d: set(d["value"]))
    return registry


clock.install()
_lift_depth_cap()
_string_keys_in_output_maps()
countersign.install()
registry = _build_registry()
serializer = BpmnWorkflowSerializer(registry)
_encoder = serializer.json_encoder_cls


# Built once: json.dumps builds a new encoder on every call that is not all default options.
_PLAIN = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_TAGGED = (_encoder or json.JSONEncoder)(ensure_ascii=False, separators=(",", ":"))


def dumps(value) -> str:
    """JSON for values that may hold datetimes, Decimals and other registered types.

    Plain JSON data (the common case) goes straight to the C encoder; anything else through
    the serializer's registry, which tags it with its type so that `loads` restores it.
    """
    try:
        return _PLAIN.encode(value)
    except (TypeError, ValueError):
        return _TAGGED.encode(registry.convert(value))


def loads(text: str):
    return registry.restore(json.loads(text))


def spec_bundle_json(spec, subprocess_specs: dict) -> str:
    return json.dumps({
        "spec": registry.convert(spec),
        "subprocess_specs": {k: registry.convert(v) for k, v in subprocess_specs.items()},
    }, cls=_encoder, ensure_ascii=False)


def spec_bundle_from_json(text: str):
    d = json.loads(text)
    return (registry.restore(d["spec"]),
            {k: registry.restore(v) for k, v in d["subprocess_specs"].items()})


def connect_multi_instance(spec) -> None:
    """Reconnect multi-instance tasks to their child specs after a spec is restored.

    SpiffWorkflow connects a child spec's completion to its multi-instance parent only when it
    creates a child, so in a fresh process a restored instance would never merge the outputs of
    children created before the restart.
    """
    for ts in spec.task_specs.values():
        if isinstance(ts, LoopTask) and hasattr(ts, "merge_child"):
            child = spec.task_specs[ts.task_spec]
            if not child.completed_event.is_connected(ts.merge_child):
                child.completed_event.connect(ts.merge_child)


def task_properties(task) -> dict:
    """The `spiffworkflow:properties` of a task's spec (`dueIn`, `remindBefore`, `escalateAfter`, …)."""
    return task_properties_of(task.task_spec)


def task_properties_of(task_spec) -> dict:
    ext = getattr(task_spec, "extensions", None) or {}
    return ext.get("properties", {}) or {}
