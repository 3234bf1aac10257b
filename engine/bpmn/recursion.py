"""Deploy-time check of call activities that call their own process, directly or through others.

A process whose every run starts another run of itself never ends: at run time the operation's
step bound stops it with an incident (see runtime/stepping), but such a diagram is refused at deploy.
A recursive call is allowed when it is *guarded*:

- A call activity is guarded when its scope (the process, or the subprocess it sits in) can get from
  a start event to an end event without running it, moving along sequence flows and from an activity
  to its boundary events — so whether it runs is decided at run time by a gateway's condition, a
  conditional flow or an event. A parallel join counts as reached only when all its incoming flows
  are (a parallel split runs every branch, so a branch through the call cannot be avoided).
- A call activity inside a subprocess is guarded also when that subprocess is guarded in its own
  scope; one inside an event subprocess or an ad hoc subprocess always is (they run on an event or
  on demand).

A cycle of processes (A calls B … calls A) is refused when every call activity on it is unguarded.
Only the processes of the bundle are followed: a cycle through a version deployed earlier is left
to the run-time bound.
"""
from __future__ import annotations

from lxml import etree

from engine.bpmn.xml import BPMN_NS, bpmn_local, q

_SCOPES = ("process", "subProcess", "transaction")
_ALWAYS_GUARDED = ("adHocSubProcess",)
_NOT_NODES = ("sequenceFlow", "laneSet", "dataObject", "dataObjectReference", "dataStoreReference",
              "textAnnotation", "association", "ioSpecification", "extensionElements", "property",
              "documentation", "dataInputAssociation", "dataOutputAssociation", "group", "category")


def recursive_calls(processes: dict) -> list[tuple[etree._Element, str, list[str]]]:
    """(call activity, calling process key, the cycle of process keys) for each unguarded call that
    leads back, through unguarded calls only, to the process that made it. `processes`: process key
    -> its `bpmn:process` element, for the executable processes of the bundle."""
    calls = {key: [(el, (el.get("calledElement") or "").strip()) for el in proc.iter(q("callActivity"))
                   if not _guarded(el)]
             for key, proc in processes.items()}
    edges = {key: {called for _, called in found if called in processes} for key, found in calls.items()}
    found = []
    for key, unguarded in calls.items():
        for el, called in unguarded:
            path = _path(edges, called, key)
            if path is not None:
                found.append((el, key, [key, *path]))
    return found


def _path(edges: dict, start: str, goal: str) -> list[str] | None:
    """Process keys from `start` to `goal` along unguarded calls (breadth first), or None."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        if path[-1] == goal:
            return path
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt not in seen:
                seen.add(nxt)
                paths.append(path + [nxt])
    return None


def _guarded(activity) -> bool:
    """Whether `activity` (a call activity or a subprocess) may not run in a run of its scope."""
    scope = activity.getparent()
    while scope is not None and bpmn_local(scope) not in _SCOPES + _ALWAYS_GUARDED:
        scope = scope.getparent()        # e.g. a lane set never holds flow nodes, but be lenient
    if scope is None:
        return True
    local = bpmn_local(scope)
    if local in _ALWAYS_GUARDED or scope.get("triggeredByEvent") == "true":
        return True
    if _avoidable(scope, activity.get("id")):
        return True
    return local != "process" and _guarded(scope)


def _avoidable(scope, avoid: str) -> bool:
    """Whether an end of `scope` is reachable from a start without passing through `avoid`."""
    nodes = {el.get("id"): el for el in scope.iterchildren(etree.Element)
             if etree.QName(el).namespace == BPMN_NS and bpmn_local(el) not in _NOT_NODES and el.get("id")}
    incoming: dict[str, list[str]] = {n: [] for n in nodes}
    outgoing: dict[str, list[str]] = {n: [] for n in nodes}
    for flow in scope.iterchildren(q("sequenceFlow")):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in nodes and target in nodes:
            outgoing[source].append(target)
            incoming[target].append(source)
    for node_id, el in nodes.items():
        attached = el.get("attachedToRef")
        if bpmn_local(el) == "boundaryEvent" and attached in nodes:
            outgoing[attached].append(node_id)
            incoming[node_id].append(attached)
    starts = [n for n, el in nodes.items() if bpmn_local(el) == "startEvent"] or \
        [n for n, el in nodes.items() if not incoming[n] and bpmn_local(el) != "boundaryEvent"
         and el.get("triggeredByEvent") != "true"]
    ends = {n for n, el in nodes.items() if bpmn_local(el) == "endEvent" or not outgoing[n]} - {avoid}
    reached = {n for n in starts if n != avoid}
    changed = True
    while changed:
        changed = False
        for source in list(reached):
            for target in outgoing[source]:
                if target == avoid or target in reached:
                    continue
                el = nodes[target]
                if bpmn_local(el) == "parallelGateway" and len(incoming[target]) > 1 \
                        and not all(s in reached for s in incoming[target]):
                    continue
                reached.add(target)
                changed = True
    return bool(reached & ends)
