"""A few demo clues for `make run`, in different states: awaiting triage (real-name, acceptance notice
due), waiting for an inquiry reply, held for later (暂存待查), closed (予以了结), one awaiting the
leadership group's approval, and one about a hospital leader waiting to be reported to the higher
commission (withheld from the leadership group)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.clues import confidential as clues_confidential, intake as clues_intake
from engine.db.schema import process_instance
from engine.deadlines.workdays import BEIJING

CLERK, HEAD = "jijian_clerk", "jijian"


def load(engine, settings) -> int:
    """Register the demo clues once (nothing when clues exist already); returns how many."""
    with engine.db.connect() as conn:
        if conn.execute(sa.select(process_instance.c.id)
                        .where(process_instance.c.process_key == clues_intake.PROCESS_KEY)).first():
            return 0
    vault = clues_confidential.vault_from_settings(settings)
    today = engine.clock.now().astimezone(BEIJING).date()

    def clue(days_ago, **fields):
        base = {"person_position": None, "party_member": True, "position_level": "other", "channel": "letter",
                "real_name": False, "received_on": (today - timedelta(days=days_ago)).isoformat()}
        return {**base, **fields}

    meeting = {"meeting_date": today.isoformat(),
               "participants": [{"person": p, "opinion": "同意"} for p in (HEAD, CLERK, "jiwei_shuji")]}

    def step(view, element, data):
        task = next(t for t in engine.show(view).tasks if t.element_id == element)
        engine.complete_task(task.id, user=HEAD if element.startswith("approve") else CLERK, data=data)

    reg = clues_intake.register
    waiting = reg(engine, vault, clue(20, person_name="李建国", person_position="采购中心主任", person_department="caigou",
                                      position_level="middle_manager", source="petition", channel="phone", real_name=True,
                                      summary="反映采购中心主任李建国在2026年耗材招标中多次与某供应商私下接触，疑似收受回扣。"),
                  started_by=CLERK, reporter_name="（演示）王某", reporter_contact="13800000000")
    inquiry = reg(engine, vault, clue(30, person_name="孙浩", person_position="主治医师", person_department="waike",
                                      source="audit", channel="letter",
                                      summary="审计发现外科孙浩医生2026年第二季度开具的高值耗材数量明显高于同组医生。"),
                  started_by=CLERK)
    step(inquiry.instance_id, "triage", {"disposal": "talk_inquiry", "opinion": "问题较轻，拟函询了解情况。", **meeting})
    step(inquiry.instance_id, "approve_office", {"office_approved": True, "office_comment": None})
    step(inquiry.instance_id, "inquiry", {"inquiry_method": "letter", "talk_record": None,
                                          "letter_sent_on": (today - timedelta(days=10)).isoformat(),
                                          "inquiry_files": []})
    held = reg(engine, vault, clue(40, person_name="周敏", person_position="护士", person_department="erke",
                                   party_member=False, source="self_found", channel="visit",
                                   summary="有患者家属反映儿科护士周敏在夜班期间收受红包，时间地点不详，暂无法核实。"),
               started_by=CLERK)
    step(held.instance_id, "triage", {"disposal": "hold", "opinion": "线索要素不全，暂存待查。", **meeting})
    step(held.instance_id, "approve_office", {"office_approved": True, "office_comment": None})
    closed = reg(engine, vault, clue(60, person_name="吴刚", person_position="检验师", person_department="jianyanke",
                                     source="accusation", channel="email",
                                     summary="举报检验科吴刚在外兼职取酬，经查其已于2025年辞去兼职并如实报告。"),
                 started_by=CLERK)
    step(closed.instance_id, "triage", {"disposal": "close", "opinion": "经了解，兼职已于2025年依规辞去并报告，予以了结。", **meeting})
    step(closed.instance_id, "approve_office", {"office_approved": True, "office_comment": None})
    # a middle manager's clue the office approved: the leadership group (shuji) decides, with the case
    # and the office's opinion in front of them
    leader = reg(engine, vault, clue(12, person_name="钱伟", person_position="药剂科主任", person_department="yaojike",
                                     position_level="middle_manager", source="petition", channel="letter",
                                     summary="反映药剂科主任钱伟在药品遴选中为某医药代表关照，疑似收受好处。"),
                 started_by=CLERK)
    step(leader.instance_id, "triage", {"disposal": "verify", "opinion": "线索具体可查，建议初步核实。", **meeting})
    step(leader.instance_id, "approve_office", {"office_approved": True, "office_comment": "同意初步核实，报领导小组审批。"})
    # about a hospital leader (院领导): to be reported to the higher commission; the leadership group
    # (shuji, yuanzhang, fuyuanzhang…) never sees it
    reg(engine, vault, clue(5, person_username="fuyuanzhang", person_name=None, person_department=None,
                            source="petition", channel="letter",
                            summary="来信反映副院长钱卫东在新院区建设项目招标中为亲属企业打招呼。"),
        started_by=CLERK)
    return 6
