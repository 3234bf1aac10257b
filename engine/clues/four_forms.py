"""Who may receive which handling, and where it counts: the four forms (四种形态) and 行政处罚.

The one rule, as seed 002's 附件4 (专项整治情况汇总表) notes define its columns:

    说明：1.“处理人员”中“其他”包括中层以下公职人员、非党员、非公职人员等；
          2．“行政处罚”中仅填写对非党员、非公职人员的处理处罚人数；

so a person is one of three kinds:

- a party member (党员): party discipline, counted in the four forms; they may also receive
  administrative measures, which do not make them a 行政处罚 count;
- a public employee who is not a party member (非党员公职人员): 政务处分 and the other measures of
  the supervision law, counted in the four forms as well;
- neither (非党员、非公职人员, e.g. staff hired outside the establishment): the four forms do not
  apply; the hospital's handling of them (处理处罚) is what the 行政处罚 column counts.

`problems` is what the disposal form refuses (the clue's outcome guard); `counted` is what every
report counting four forms or 行政处罚 uses: the campaign's 附件4 (engine.campaign.reports.outcomes),
the quarterly statistics (engine.clues.quarterly) and any other record of handling a person.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.errors import Problem

FORMS = ("first", "second", "third", "fourth")


@dataclass(frozen=True)
class Counted:
    """Where one handling of a person counts: `form` in the four forms (or None), `admin_penalty`
    in 行政处罚."""

    form: str | None
    admin_penalty: bool

    @property
    def dealt_with(self) -> bool:
        """The person counts among those handled (处理人员)."""
        return self.form is not None or self.admin_penalty


def _forms_apply(party_member, public_employee) -> bool:
    """The four forms apply: a party member or a public employee. `public_employee` None (a clue
    registered before the staff record said so) is not taken to mean "neither"."""
    return bool(party_member) or public_employee is not False


def counted(party_member, public_employee, discipline_form, admin_penalty) -> Counted:
    """Where this handling counts. The four forms count for party members and public employees;
    行政处罚 counts only for a person who is neither (附件4 note 2) — a party member's or a public
    employee's administrative measure is not counted there."""
    penalty = bool(str(admin_penalty or "").strip())
    form = discipline_form if discipline_form in FORMS and _forms_apply(party_member, public_employee) else None
    return Counted(form, penalty and not party_member and not public_employee)


def problems(party_member, public_employee, discipline_form, admin_penalty) -> list[Problem]:
    """The impossible combinations, each as a field error: the four forms for someone who is
    neither a party member nor a public employee. (`None` for public_employee: a clue registered
    before the staff record said so — not refused.)"""
    if discipline_form in FORMS and not _forms_apply(party_member, public_employee):
        return [Problem("四种形态只适用于党员和公职人员（非党员公职人员为政务处分）；"
                        "对非党员、非公职人员请选择“不予处理”并填写行政处罚", field="discipline_form",
                        code="not_applicable")]
    return []
