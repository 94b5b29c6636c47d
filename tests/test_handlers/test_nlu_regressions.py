"""Utterances that conversation transcripts caught being misread (kept fixed)."""

from __future__ import annotations

from wxloan.handlers.nlu import Understander

NLU = Understander()


def test_thousand_while_a_pay_score_is_asked_is_an_out_of_range_score():
    for text in ("一千分", "一千"):
        result = NLU.understand(text, expecting="pay_score")
        assert result.out_of_range.get("pay_score") == 1000, text
        assert "amount" not in result.slots and "calculator" not in result.intents


def test_chinese_score_while_asked_stays_a_score():
    assert NLU.understand("七百", expecting="pay_score").slots["pay_score"] == 700


def test_a_fee_before_the_loan_is_paid_out_is_a_scam_in_other_words_too():
    result = NLU.understand("放款之前要交手续费吗")
    assert result.intent == "scam" and "upfront_fee" in result.scam_patterns


def test_the_word_normal_alone_is_not_an_account_status_outside_the_question():
    assert "account_normal" not in NLU.understand("手续费正常吗").slots
    assert NLU.understand("正常", expecting="account_normal").slots["account_normal"] is True
    assert NLU.understand("被冻结了", expecting="account_normal").slots["account_normal"] is False
