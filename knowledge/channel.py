"""recommend_channel(): which of the article's three opening channels to suggest.

Rules, first match wins (figures from the channels table, section 3):

1. Every product is "no" → no channel (``channel_none``).
2. Rejected before, or too many credit inquiries → the mini-program line: it offers
   a pre-approval limit query and has the smallest limit error (±8 %), so the user
   can look before applying again (``channel_preapproval``).
3. Real-name or face verification not confirmed → the wallet entrance, which runs
   the three-level identity check (``channel_identity_check``).
4. Otherwise → the channel with the highest pass rate (the consumption-scene
   entrance, 82 %, instant) (``channel_highest_pass_rate``).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import ids
from .enums import Status
from .kb import KnowledgeBase
from .profile import ApplicantProfile
from .records import Channel
from .results import ChannelAdvice, Param, ProductVerdict, Reason
from .signals import too_many_inquiries

__all__ = ["recommend_channel"]


def recommend_channel(
    profile: ApplicantProfile, verdicts: Sequence[ProductVerdict], kb: KnowledgeBase
) -> ChannelAdvice:
    """The recommended channel key and why."""
    if all(v.status is Status.NO for v in verdicts):
        return ChannelAdvice(None, (Reason("channel_none", {}, (ids.CHANNELS_OVERVIEW,)),))
    if profile.rejected_before is True or too_many_inquiries(profile, kb):
        channel = kb.channel(ids.CHANNEL_MINI_PROGRAM)
        return ChannelAdvice(
            channel.key, (Reason("channel_preapproval", _params(channel), (channel.id,)),)
        )
    if profile.real_name_verified is not True or profile.face_verified is not True:
        channel = kb.channel(ids.CHANNEL_WALLET)
        sources = (channel.id, ids.FACE)
        return ChannelAdvice(
            channel.key, (Reason("channel_identity_check", _params(channel), sources),)
        )
    channel = max(kb.channels, key=lambda c: c.pass_rate_pct)
    sources = (channel.id, kb.rules.channel_spread_pct.id)
    return ChannelAdvice(
        channel.key, (Reason("channel_highest_pass_rate", _params(channel), sources),)
    )


def _params(channel: Channel) -> dict[str, Param]:
    return {
        "channel": channel.key,
        "pass_rate_pct": channel.pass_rate_pct,
        "limit_error_pct": channel.limit_error_pct,
        "review_minutes_min": channel.review_minutes_min,
        "review_minutes_max": channel.review_minutes_max,
    }
