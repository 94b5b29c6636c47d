"""Pre-generated WeChat pushes for the benchmark: many users in realistic conversations.

Each user follows one of a few scripted conversations (eligibility questionnaire answered
with Chinese numerals, rejection diagnostics, limit tips, FAQ and the calculator). The
requests are interleaved so consecutive ones come from different users, and every one has
a unique MsgId and a fresh, valid signature (and AES envelope in safe mode).
"""

from __future__ import annotations

import itertools
import secrets
import time
from pathlib import Path

from wxloan.bot.simulator.protocol import PushBuilder

CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    ("1", "没有", "七百二", "是的", "日常消费", "上班族", "两次", "没有"),
    ("能开通微粒贷吗", "没有逾期", "六百八", "嗯", "装修", "学生", "为什么"),
    ("我被拒了", "综合评分不足", "上周", "没有逾期", "查了三次", "六百五左右", "每周用四五次"),
    ("怎么提额", "有社保", "按时还了6期", "为什么"),
    ("日利率怎么算", "借1万分12期，年利率18%，每月还多少", "在哪开通", "学生能开吗"),
    ("你好", "支付分七百二，没有逾期，最近三个月查了两次征信，我是学生", "是的", "谢谢"),
)

_ids = itertools.count(int(time.time() * 1000) * 1000)


def generate(path: Path, *, users: int, token: str, app_id: str, aes_key: str, mode: str,
             limit: int) -> int:
    """Write up to ``limit`` requests (``PATH<TAB>BODY`` lines) to ``path``; return count."""
    builder = PushBuilder(token, app_id, aes_key, mode=mode)
    run = secrets.token_hex(3)
    scripts = [CONVERSATIONS[u % len(CONVERSATIONS)] for u in range(users)]
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for turn in range(max(len(s) for s in scripts)):
            for user, script in enumerate(scripts):
                if turn >= len(script) or written >= limit:
                    continue
                fields = builder.message_fields(f"bench-{run}-{user}", "text",
                                                Content=script[turn], MsgId=next(_ids))
                push = builder.build(fields)
                query = "&".join(f"{k}={v}" for k, v in push.query.items())
                out.write(f"/wechat?{query}\t{push.body.replace(chr(10), '')}\n")
                written += 1
    return written
