"""What nobody else took: media, untranscribed voice, unknown types, unrecognised text."""

from __future__ import annotations

from .contract import Outcome, Say, Turn
from .contract import Kind
from .routing import Router

from .flows import resume_says

__all__ = ["router"]

router = Router("fallback")


@router.on(Kind.MEDIA)
async def media(turn: Turn) -> Outcome:
    """Images, video, location, links, files: we read text only; say so politely."""
    return turn.stay(
        Say("media_not_supported", {"msg_type": turn.message.msg_type}), *resume_says(turn)
    )


@router.on(Kind.EMPTY_VOICE)
async def empty_voice(turn: Turn) -> Outcome:
    """Voice that WeChat could not transcribe: ask for text."""
    return turn.stay(Say("empty_voice"), *resume_says(turn))


@router.on(Kind.UNKNOWN)
async def unknown(turn: Turn) -> Outcome:
    """A message type wechatpy does not know: ``success`` (nothing to say about it)."""
    return turn.stay(silent=True)


@router.on(Kind.TEXT)
async def not_understood(turn: Turn) -> Outcome:
    """Text no feature claimed: a polite answer, then the menu or the pending question."""
    resume = resume_says(turn)
    return turn.stay(Say("not_understood"), *(resume or (Say("menu"),)), fallback=True)
