"""The facade's notes: "session expired" and the privacy notice go before the answer.

The notes are not part of any feature's outcome: the facade adds them when rendering.
A renderer that records what it is asked to render shows which ``Say`` names went out.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from wxloan.handlers import Dialogue, Kind, Say, State
from wxloan.handlers.rendering import Renderer
from wxloan.handlers.states import Flow


class RecordingRenderer(Renderer):
    """Renders as usual and remembers the says of every ``render`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Say, ...]] = []

    def render(self, says: Iterable[Say]) -> str:
        says = tuple(says)
        self.calls.append(says)
        return super().render(says)

    @property
    def last_names(self) -> list[str]:
        return [say.template for say in self.calls[-1]] if self.calls else []


@pytest.fixture(scope="module")
def shared_recorder() -> RecordingRenderer:
    return RecordingRenderer()  # compiling the templates takes a while: once per module


@pytest.fixture
def recorder(shared_recorder) -> RecordingRenderer:
    shared_recorder.calls.clear()
    return shared_recorder


@pytest.fixture(scope="module")
def noted(chat, dialogue, shared_recorder):
    """The chat helper over a dialogue that renders through ``recorder``."""
    return type(chat)(Dialogue(dialogue.router, dialogue.services, shared_recorder))


async def test_an_expired_session_is_mentioned_first(noted, recorder):
    reply = await noted.text("你好", expired=True)
    assert recorder.last_names == ["session_expired", "greeting", "menu"]
    assert reply.names == ["greeting", "menu"]  # the outcome itself is the feature's
    assert reply.text.startswith(recorder.render_one("session_expired"))


async def test_personal_numbers_get_the_privacy_notice(noted, recorder):
    await noted.text("我手机号是[手机号]，支付分700", pii_kinds=frozenset({"mobile"}))
    assert recorder.last_names[0] == "privacy_notice"
    assert recorder.calls[-1][0].context == {"kinds": ["mobile"]}
    assert "session_expired" not in recorder.last_names


async def test_both_notes_in_order_with_the_kinds_sorted(noted, recorder):
    reply = await noted.text("你好", expired=True, pii_kinds=frozenset({"mobile", "id"}))
    assert recorder.last_names == ["session_expired", "privacy_notice", "greeting", "menu"]
    assert recorder.calls[-1][1].context == {"kinds": ["id", "mobile"]}
    assert reply.names == ["greeting", "menu"]


async def test_no_notes_on_an_ordinary_message(noted, recorder):
    await noted.text("你好")
    assert recorder.last_names == ["greeting", "menu"]


async def test_an_event_after_expiry_is_not_told_about_it(noted, recorder):
    await noted.event("subscribe", expired=True)
    assert recorder.last_names == ["welcome"]


@pytest.mark.parametrize(
    "message_kind", [Kind.UNKNOWN, Kind.EVENT], ids=["unknown-type", "unsubscribe"]
)
async def test_a_silent_answer_has_no_notes_either(noted, recorder, message_kind):
    if message_kind is Kind.EVENT:
        reply = await noted.event("unsubscribe", expired=True, pii_kinds=frozenset({"mobile"}))
    else:
        reply = await noted.send(noted.message(Kind.UNKNOWN, "device_text"), expired=True,
                                 pii_kinds=frozenset({"mobile"}))
    assert reply.outcome.silent is True and reply.text == ""
    assert recorder.calls == []


async def test_the_notes_come_before_a_mid_flow_answer(noted, recorder):
    state = State(flow=Flow.ELIGIBILITY, step="pay_score", slots={"_asked": ["pay_score"]})
    reply = await noted.text("700", state, pii_kinds=frozenset({"card"}))
    assert recorder.last_names[0] == "privacy_notice"
    assert recorder.last_names[1:] == reply.names
    assert reply.slots["pay_score"] == 700


def test_the_apology_keeps_the_users_state(dialogue):
    state = State(flow=Flow.LIMITS, step="materials", slots={"overdue": "none"})
    answer = dialogue.apology(state)
    assert [say.template for say in answer.outcome.says] == ["error"]
    assert (answer.outcome.flow, answer.outcome.step) == (Flow.LIMITS, "materials")
    assert dict(answer.outcome.slots) == {"overdue": "none"}
    assert answer.text
