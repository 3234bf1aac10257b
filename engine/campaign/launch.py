"""Launching a campaign (发起专项整治): the office's launch form, checked field by field, then the
campaign process started with it — one service call for the page."""
from __future__ import annotations

from engine.campaign.operators import CAMPAIGN
from engine.errors import Invalid
from engine.forms import Submission, validate_submission
from engine.inbox.submission import FormRejected, lookups
from engine.org.people import Principal
from engine.permissions import OFFICE, require

LAUNCH_FORM = "campaign_launch"


def launch(engine, principal: Principal, raw):
    """Start a campaign from the launch form's post `raw`. The BPMN's own check (dates in order and
    not past, at least one department) answers field by field as the form's do: `FormRejected`
    with what was typed, and nothing started on a refusal."""
    require(principal.has(*OFFICE), "只有纪检监察室可以发起专项整治")
    definition = engine.forms.get(LAUNCH_FORM)
    with lookups(engine.db) as found:
        sub = validate_submission(definition, raw, lookups=found)
    if not sub.ok:
        raise FormRejected(sub)
    try:
        return engine.start(CAMPAIGN, started_by=principal.username, business_key=sub.data["doc_no"],
                            data=sub.data)
    except Invalid as exc:
        errors = {p.field or "_form": p.message for p in exc.problems} or {"_form": exc.message}
        raise FormRejected(Submission({}, {}, errors, sub.values)) from exc
