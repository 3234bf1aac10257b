// Browser bundle of the modeler's tools: bpmnlint (our rule set) and bpmn-js-differ.
// Built at set-up by `make install` (esbuild) into web/static/build/modeler-tools.js; exposes window.QinglianModelerTools.
import { Linter } from "bpmnlint";
import { diff } from "bpmn-js-differ";

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

// Lint moddle definitions; returns [{id, message, rule, category}] (category "error" or "warn").
async function lint(definitions) {
  const linter = new Linter({ resolver });
  const results = await linter.lint(definitions, config);
  const found = [];
  Object.entries(results).forEach(([rule, reports]) => {
    reports.forEach((r) => found.push({ id: r.id, message: r.message, rule, category: r.category }));
  });
  return found;
}

window.QinglianModelerTools = { lint, diff, rules: Object.keys(RULES) };
