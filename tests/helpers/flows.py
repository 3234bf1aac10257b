"""Short ways through the test diagrams."""
from __future__ import annotations


def claimed_review(engine, process_key: str, starter: str, holder: str = "neike_head"):
    """The second task of `process_key` (its review), after `starter` started the instance and
    completed its first task, claimed by `holder`."""
    view = engine.start(process_key, started_by=starter)
    view = engine.complete_task(view.tasks[0].id, user=starter, data={})
    review = view.tasks[0]
    engine.claim(review.id, user=holder)
    return review
