"""BPMN conformance: each construct run through raw SpiffWorkflow and through the engine, compared.

`cases.py` is the table (diagram + driver steps + what may differ, and why), `runners.py` the two
drivers, `test_conformance.py` the comparison. docs/bpmn-support.md points at these cases.
"""
