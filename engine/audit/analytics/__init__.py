"""Process analytics (流程分析) for process owners and auditors, from the event log: per step the cycle
time (median, 90th percentile), waiting (ready → claimed) versus working (claimed → completed) time,
the overdue rate per step and per department, and the variants (the sequences of steps instances took)
with their frequency.

- `fold`: pure — an instance's events into step facts and its variant; the duration buckets.
- `summary`: the summary tables, kept incrementally from each instance's watermark (and rebuilt).
- `figures`: the figures of a version over a date range, read from the summaries.
- `service`: what the pages and the scheduler call (authorisation, one transaction each).
- `workbook`: the figures as an Excel workbook.
"""
