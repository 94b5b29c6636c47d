"""The dialogue's assessment history (``handlers.services.AssessmentHistory``) over the store.

Why bound late, like :class:`bot.wechat_api.OnlineAgents`: the dialogue is built with the
app, the store only opens when the app starts (``bot.app``); until then it has nothing.
"""

from __future__ import annotations

import logging

from wxloan.handlers.services import PastAssessment
from wxloan.storage import StorageError, StoreBackend

__all__ = ["StoredHistory"]

log = logging.getLogger(__name__)

_FLOWS = frozenset({"eligibility", "rejection", "limits"})


class StoredHistory:
    """The user's last verdict from ``assessments``; None when there is none (or no store)."""

    def __init__(self) -> None:
        self._store: StoreBackend | None = None

    def bind(self, store: StoreBackend | None) -> None:
        """Read from ``store`` from now on (None: nothing, e.g. at shutdown)."""
        self._store = store

    async def last(self, openid: str) -> PastAssessment | None:
        """The newest stored assessment of ``openid`` that names its flow."""
        if self._store is None:
            return None
        try:
            row = await self._store.last_assessment(openid)
        except StorageError as exc:
            log.warning("last assessment unreadable", extra={"fields": {"error": str(exc)}})
            return None
        if row is None or row.result.get("flow") not in _FLOWS:
            return None
        return PastAssessment(str(row.result["flow"]), dict(row.inputs), row.created_at)
