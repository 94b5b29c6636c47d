"""Each flow's conclusion is recorded in ``assessments`` with the core's summary."""

from __future__ import annotations

import json

from tests.conftest import rows


async def test_each_flow_records_its_conclusion(wechat, db_path):
    await wechat.text("rec-1", "支付分七百二，没有逾期，最近三个月查了两次征信，我是上班族")
    for answer in ("是的", "日常消费", "没有"):
        await wechat.text("rec-1", answer)
    await wechat.text("rec-1", "我被拒了，综合评分不足")
    for answer in ("上周", "每周四五次", "用了两年", "没有"):
        reply = await wechat.text("rec-1", answer)
        if "建议" in reply.content and "申请" in reply.content:
            break
    recorded = rows(db_path, "SELECT inputs, result FROM assessments WHERE openid = 'rec-1'"
                             " ORDER BY id")
    flows = [json.loads(result)["flow"] for _, result in recorded]
    assert flows[0] == "eligibility"
    first = json.loads(recorded[0][1])
    assert set(first["verdicts"]) == {"weilidai", "we2000", "partner_bank"}
    assert json.loads(recorded[0][0])["pay_score"] == 720
    assert "rejection" in flows
    rejection = json.loads(recorded[flows.index("rejection")][1])
    assert rejection["causes"] and "reapply_on" in rejection
