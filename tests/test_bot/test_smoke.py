from tests.conftest import rows


async def test_text_message_gets_template_reply(wechat, db_path):
    reply = await wechat.text("user-1", "随便说点什么")
    assert reply.status == 200
    assert reply.fields["ToUserName"] == "user-1"
    assert "回复数字开始" in reply.content
    assert rows(db_path, "SELECT direction FROM messages ORDER BY id") == [("in",), ("out",)]


async def test_safe_mode_round_trip(wechat):
    reply = await wechat.text("user-2", "你好", mode="safe")
    assert reply.status == 200
    assert "回复数字开始" in reply.content
