"""A clue's collective decision (集体研判) for tests that walk the clue route: the triage records a
meeting of three people of the test organisations, each with an opinion."""
from __future__ import annotations


def meeting(*people: str, on: str = "2026-09-28") -> dict:
    """The meeting fields of the triage form (default participants: jijian, jj_head, leader)."""
    people = people or ("jijian", "jj_head", "leader")
    return {"meeting_date": on, "participants": [{"person": p, "opinion": "同意"} for p in people]}
