// Browser bundle of the modeler's tools: bpmnlint (our rule set, its messages in the user's language),
// bpmn-js-differ and the minimap. Built at set-up by `make install` (esbuild) into
// web/static/build/modeler-tools.js; exposes window.QinglianModelerTools.
import { Linter } from "bpmnlint";
import { diff } from "bpmn-js-differ";
import minimapModule from "diagram-js-minimap";

import startEventRequired from "bpmnlint/rules/start-event-required";
import endEventRequired from "bpmnlint/rules/end-event-required";
import noDisconnected from "bpmnlint/rules/no-disconnected";
import noDuplicateSequenceFlows from "bpmnlint/rules/no-duplicate-sequence-flows";
import singleEventDefinition from "bpmnlint/rules/single-event-definition";
import eventBasedGateway from "bpmnlint/rules/event-based-gateway";
import linkEvent from "bpmnlint/rules/link-event";
import subProcessBlankStartEvent from "bpmnlint/rules/sub-process-blank-start-event";
import labelRequired from "bpmnlint/rules/label-required";
import fakeJoin from "bpmnlint/rules/fake-join";
import superfluousGateway from "bpmnlint/rules/superfluous-gateway";
import noImplicitSplit from "bpmnlint/rules/no-implicit-split";

// "error" rules block a deploy in the modeler; "warn" rules are shown but do not.
const RULES = {
  "start-event-required": [startEventRequired, "error"],
  "end-event-required": [endEventRequired, "error"],
  "no-disconnected": [noDisconnected, "error"],
  "no-duplicate-sequence-flows": [noDuplicateSequenceFlows, "warn"],
  "single-event-definition": [singleEventDefinition, "error"],
  "event-based-gateway": [eventBasedGateway, "error"],
  "link-event": [linkEvent, "error"],
  "sub-process-blank-start-event": [subProcessBlankStartEvent, "error"],
  "label-required": [labelRequired, "warn"],
  "fake-join": [fakeJoin, "warn"],
  "superfluous-gateway": [superfluousGateway, "warn"],
  "no-implicit-split": [noImplicitSplit, "warn"],
};

const resolver = {
  resolveRule(pkg, name) {
    const entry = RULES[name];
    if (!entry) { throw new Error("unknown rule " + name); }
    return entry[0];
  },
  resolveConfig() { throw new Error("configs are not resolved in the browser"); },
};

const config = { rules: Object.fromEntries(Object.entries(RULES).map(([name, entry]) => [name, entry[1]])) };

// bpmnlint's English reports, said in the user's language: [pattern, Chinese, English] per report
// of each rule; a report no pattern matches (a newer bpmnlint) falls back to the rule's first entry.
const MESSAGES = {
  "start-event-required": [[/^Sub process/, "子流程缺少开始事件", "The sub-process has no start event"],
    [/./, "流程缺少开始事件", "The process has no start event"]],
  "end-event-required": [[/^Sub process/, "子流程缺少结束事件", "The sub-process has no end event"],
    [/./, "流程缺少结束事件", "The process has no end event"]],
  "no-disconnected": [[/./, "元素没有连线", "The element is not connected"]],
  "no-duplicate-sequence-flows": [[/outgoing/, "有重复的流出顺序流", "Duplicate outgoing sequence flows"],
    [/incoming/, "有重复的流入顺序流", "Duplicate incoming sequence flows"],
    [/./, "顺序流重复", "The sequence flow is a duplicate"]],
  "single-event-definition": [[/./, "事件有多个事件定义", "The event has more than one event definition"]],
  "event-based-gateway": [[/conditional/, "事件网关的流出顺序流不能带条件", "A flow leaving an event-based gateway must not be conditional"],
    [/./, "事件网关至少要有 2 条流出顺序流", "An event-based gateway needs at least 2 outgoing flows"]],
  "link-event": [[/missing link name/, "链接事件缺少链接名称", "The link event has no link name"],
    [/^Duplicate/, "同一范围内有重名的链接捕获事件「$1」", "Two link catch events are named <$1> in this scope"],
    [/^Link (?:catch|throw) event with link name <(.*)> missing/, "同一范围内缺少与「$1」配对的链接事件", "The link event <$1> has no partner in this scope"],
    [/./, "链接事件不配对", "The link event has no partner"]],
  "sub-process-blank-start-event": [[/./, "子流程的开始事件不能带事件定义", "A sub-process's start event must be blank"]],
  "label-required": [[/./, "元素缺少名称", "The element has no name"]],
  "fake-join": [[/./, "多条流入顺序流没有经过网关汇合", "Incoming flows do not join through a gateway"]],
  "superfluous-gateway": [[/./, "网关多余：只有一个来源和一个去向", "The gateway is superfluous: one source and one target"]],
  "no-implicit-split": [[/./, "流程隐式分支：请用网关分支", "The flow splits implicitly: split with a gateway"]],
};

function say(rule, message, locale) {
  const entries = MESSAGES[rule] || [];
  const match = entries.find(([pattern]) => pattern.test(message)) || entries[entries.length - 1];
  if (!match) { return message; }
  const captured = (/<(.*)>/.exec(message) || [])[1] || "";
  return match[locale === "en" ? 2 : 1].replace("$1", captured);
}

// Lint moddle definitions; returns [{id, message, rule, category}] (category "error" or "warn"),
// the message in `locale` ("zh" or "en").
async function lint(definitions, locale) {
  const linter = new Linter({ resolver });
  const results = await linter.lint(definitions, config);
  const found = [];
  Object.entries(results).forEach(([rule, reports]) => {
    reports.forEach((r) => found.push({ id: r.id, message: say(rule, r.message, locale), rule, category: r.category }));
  });
  return found;
}

window.QinglianModelerTools = { lint, diff, minimap: minimapModule, rules: Object.keys(RULES) };
