"""One verified message in, one reply out: de-duplication, ordering, state, deadline.

The HTTP layer (:mod:`bot.webhook`) only verifies, decrypts and parses; everything that
makes a bot correct under WeChat's retries lives here:

1. A retry of a message this process is still working on waits for the same result
   (``_inflight``); one handled by another worker is found through the SQLite claim.
2. Messages of one user run one at a time (:class:`~bot.locks.KeyedLocks`).
3. The session is loaded, expired if idle too long, and the handler runs.
4. The reply, session and message log are written in one transaction, then rendered.
5. If all this misses ``reply_deadline``, the work finishes in the background and:

   * with a customer-service sender (AppSecret set), the request is answered ``success``
     and the reply is pushed through the API, *claimed* first (the stored reply becomes
     ``success`` before the send), so no retry anywhere shows it a second time; a failed
     send puts the passive reply back for WeChat's next delivery;
   * without one, WeChat's own next delivery is the only way to the user, and WeChat
     delivers again only when it got no answer: every delivery but the last expected one
     is held until the turn finishes, and the last (counted in the store) gets ``success``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from wxloan.handlers import Answer, Dialogue, Flow, Kind, State

from wxloan.storage import (
    ClaimStatus,
    Commit,
    CommitStatus,
    Grant,
    OutboundRecord,
    Session,
    StoreBackend,
    TurnRecord,
    mask_personal_data,
)

from .inbound import Inbound
from .locks import KeyedLocks
from .logs import user_ref
from .metrics import NO_METRICS, Recorder
from .outbound import OutboundSender, QuotaTracking
from .paging import MAX_REPLY_BYTES, paginate
from .replies import SUCCESS, StoredReply

__all__ = ["Pipeline", "Result", "RetryWindow"]

log = logging.getLogger("wxloan.pipeline")



@dataclass(frozen=True, slots=True)
class Result:
    """A reply plus what the per-message log line needs.

    :param outcome: ``reply``, ``silent``, ``duplicate``, ``late`` or ``error``.
    :param templates: the templates the reply was rendered from (empty when it was not
        rendered by this request: a stored reply, ``success``).
    """

    reply: StoredReply
    outcome: str
    flow: str | None = None
    templates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RetryWindow:
    """How WeChat delivers a message it gets no answer to (its passive-reply protocol).

    WeChat waits ``timeout`` seconds for each delivery, then delivers the same message
    again, ``deliveries`` times in all (5 s, 3 deliveries: about 15 s).
    """

    timeout: float = 5.0
    deliveries: int = 3

    @property
    def span(self) -> float:
        """Seconds from the first delivery until WeChat has certainly given up."""
        return self.timeout * self.deliveries


@dataclass(slots=True)
class _InFlight:
    future: asyncio.Future[Result]
    waiters: int = 0
    #: deliveries of this message that joined the turn in this process (retries included)
    arrivals: int = 1
    #: a delivery was answered ``success`` before the turn finished
    late: bool = False
    #: the turn committed ``success`` as its stored reply: it goes out of band (API)
    claimed: bool = False
    #: ``time.monotonic()`` when the first delivery arrived (the turn's latency starts here)
    started: float = 0.0


@dataclass(slots=True)
class Pipeline:
    """Processes inbound messages: one :meth:`Dialogue.answer` call each, around it the store."""

    store: StoreBackend
    dialogue: Dialogue
    senders: Mapping[str, OutboundSender]
    reply_deadline: float
    session_ttl: float
    clock: Callable[[], float] = time.time
    max_reply_bytes: int = MAX_REPLY_BYTES
    passive_channels: frozenset[str] = frozenset({"official_account"})
    retry_window: RetryWindow = RetryWindow()
    #: where the operator's metrics go (``bot.metrics``); records nothing by default
    metrics: Recorder = NO_METRICS
    _inflight: dict[str, _InFlight] = field(default_factory=dict)
    _locks: KeyedLocks = field(default_factory=KeyedLocks)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    _chains: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    @property
    def in_flight(self) -> int:
        """Messages being processed right now (for health and tests)."""
        return len(self._inflight)

    def arrivals(self, msg_key: str) -> int:
        """Deliveries of ``msg_key`` waiting on its turn in this process (0: none running)."""
        entry = self._inflight.get(msg_key)
        return 0 if entry is None else entry.arrivals

    async def respond(self, inbound: Inbound, started: float) -> Result:
        """The reply for ``inbound``, within the deadline counted from ``started``.

        :param started: ``time.monotonic()`` when the request arrived.
        """
        key = inbound.msg_key
        entry = self._inflight.get(key)
        duplicate = entry is not None
        if entry is None:
            entry = _InFlight(asyncio.get_running_loop().create_future(), started=started)
            self._inflight[key] = entry
            self.metrics.started()
            task = asyncio.create_task(self._process(inbound, entry))
            self._background.add(task)
            task.add_done_callback(lambda done: self._settle(inbound, done))
        else:
            entry.arrivals += 1
        entry.waiters += 1
        try:
            result = await self._await(inbound, entry, started)
        finally:
            entry.waiters -= 1
        if duplicate and result.outcome != "late":
            result = replace(result, outcome="duplicate")
        if result.outcome == "duplicate":
            self._count_duplicate(inbound)
        self.metrics.message(inbound.channel, inbound.kind.value, result.outcome,
                             time.monotonic() - started)
        return result

    async def _await(self, inbound: Inbound, entry: _InFlight, started: float) -> Result:
        """Wait for the turn until the deadline; past it, ``success`` or hold (see below).

        With an out-of-band route (the customer-service API) a late reply is answered
        ``success`` and pushed when ready. Without one, WeChat's next delivery of the
        same message is the only way to the user, and WeChat delivers again only if it
        got *no* answer: so every delivery but the last expected one is held until the
        turn finishes (or WeChat has long stopped listening), and the retry, which joins
        the same turn, carries the reply. Deliveries are counted in the store, so the
        count holds across restarts and workers.
        """
        remaining = max(0.0, self.reply_deadline - (time.monotonic() - started))
        try:
            return await asyncio.wait_for(asyncio.shield(entry.future), remaining)
        except TimeoutError:
            pass
        if not self._waits_for_retry(inbound):
            entry.late = True
            return Result(SUCCESS, "late")
        try:
            delivery = await self.store.count_late_delivery(
                inbound.msg_key, inbound.openid, self.clock()
            )
        except Exception as exc:  # the count is lost, not the reply: count what we saw
            log.warning("delivery not counted", extra={"fields": {
                "msg_key": inbound.msg_key, "error": type(exc).__name__}})
            delivery = entry.arrivals
        if delivery >= self.retry_window.deliveries:
            entry.late = True  # WeChat will not deliver this message again
            return Result(SUCCESS, "late")
        hold = max(0.0, self.retry_window.span - (time.monotonic() - started))
        try:
            return await asyncio.wait_for(asyncio.shield(entry.future), hold)
        except TimeoutError:
            return Result(SUCCESS, "late")  # nobody listens on this connection any more

    def _count_duplicate(self, inbound: Inbound) -> None:
        """Count a repeated delivery in the store (``wxloan stats``), off the reply's path."""

        async def count() -> None:
            try:
                await self.store.count_duplicate(inbound.msg_key, inbound.openid, self.clock())
            except Exception as exc:  # a lost count must not cost anything else
                log.warning("duplicate not counted", extra={"fields": {
                    "msg_key": inbound.msg_key, "error": type(exc).__name__}})

        task = asyncio.create_task(count())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _waits_for_retry(self, inbound: Inbound) -> bool:
        """True when a late passive reply can only reach the user on WeChat's retry."""
        return inbound.channel in self.passive_channels and inbound.channel not in self.senders

    def _pushes_late(self, inbound: Inbound) -> bool:
        """True when a late passive reply goes out through the customer-service API."""
        return inbound.channel in self.passive_channels and inbound.channel in self.senders

    async def drain(self) -> None:
        """Wait for background work, deliveries included (shutdown, tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def _enqueue(self, openid: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run ``job`` after every earlier job of the same user: outbound stays in order."""
        previous = self._chains.get(openid)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await job()
            except Exception:  # one failed delivery must not stop the user's next ones
                log.exception("outbound job failed", extra={"fields": {"user": user_ref(openid)}})

        task = asyncio.create_task(run())
        self._chains[openid] = task
        self._background.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._background.discard(finished)
            if self._chains.get(openid) is finished:
                del self._chains[openid]

        task.add_done_callback(done)

    def _settle(self, inbound: Inbound, task: asyncio.Task[Result]) -> None:
        self._background.discard(task)
        entry = self._inflight.pop(inbound.msg_key)
        self.metrics.finished()
        if task.cancelled():
            entry.future.cancel()
            return
        error = task.exception()
        if error is not None:
            entry.future.set_exception(error)
            entry.future.exception()  # mark retrieved: nobody may be waiting any more
            return
        result = task.result()
        entry.future.set_result(result)
        if result.reply.kind != "text" or inbound.channel not in self.passive_channels:
            return
        text = result.reply.to_json()
        if entry.waiters:
            # A retry is waiting on this turn and takes the reply in its HTTP answer.
            if entry.claimed:  # so the stored reply is the text again, not a claim
                restore = self.store.claim_reply(
                    inbound.msg_key, SUCCESS.to_json(), text, self.clock()
                )
                self._enqueue(inbound.openid, lambda: restore)
            return
        if not entry.late:
            return
        if not self._pushes_late(inbound):
            log.warning(
                "reply not shown: WeChat stopped delivering the message before it was ready",
                extra={"fields": {"msg_key": inbound.msg_key, "user": user_ref(inbound.openid)}},
            )
            return
        # Claim the out-of-band delivery before sending: from here on every retry, in
        # this process (the cache changes now) or any other (the row), gets ``success``.
        claim = (
            None
            if entry.claimed
            else self.store.claim_reply(inbound.msg_key, text, SUCCESS.to_json(), self.clock())
        )
        self._enqueue(inbound.openid, lambda: self._deliver_late(inbound, result.reply, claim))

    async def _deliver_late(
        self, inbound: Inbound, reply: StoredReply, claim: asyncio.Future[bool] | None
    ) -> None:
        """Push a late passive reply; if it does not go out, give it back to the retries."""
        if claim is not None and not await claim:
            return  # the stored reply changed meanwhile: someone else answered
        if await self._deliver(inbound, reply):
            return
        restored = await self.store.claim_reply(
            inbound.msg_key, SUCCESS.to_json(), reply.to_json(), self.clock()
        )
        log.warning(
            "late reply not delivered" + ("; kept for WeChat's retry" if restored else ""),
            extra={"fields": {"msg_key": inbound.msg_key}},
        )

    async def _deliver(self, inbound: Inbound, reply: StoredReply) -> bool:
        """Push ``reply`` through the channel's sender; True when WeChat accepted it."""
        sender = self.senders[inbound.channel]
        try:
            sent = await sender.send_text(
                inbound.openid, reply.text, msg_key=inbound.msg_key, logged=True
            )
        except Exception as exc:  # a failed push is reported, never raised into the chain
            log.warning(
                "reply not delivered",
                extra={"fields": {"msg_key": inbound.msg_key, "error": type(exc).__name__}},
            )
            sent = False
        self.metrics.outbound(sent)
        return sent

    async def _process(self, inbound: Inbound, entry: _InFlight) -> Result:
        async with self._locks.hold(inbound.openid):
            claim = await self.store.read_turn(inbound.msg_key, inbound.openid)
            if claim.status is ClaimStatus.DONE:
                return Result(StoredReply.from_json(claim.reply), "duplicate")
            sender = self.senders.get(inbound.channel)
            passive = inbound.channel in self.passive_channels
            tracking = cast(QuotaTracking, sender) if sender and _tracks_quota(sender) else None
            if tracking is not None and not passive and inbound.kind is Kind.TEXT:
                self._enqueue(inbound.openid, lambda: tracking.typing(inbound.openid))
            grants = tracking.grants_for(inbound) if tracking is not None else ()
            stored = claim.session
            for attempt in range(_MAX_REDO):
                now = self.clock()
                result, commit = await self._run_turn(inbound, entry, stored, now, grants)
                if commit.status is CommitStatus.DUPLICATE:
                    # Another worker stored this message first: its reply is the one.
                    return Result(StoredReply.from_json(commit.reply), "duplicate")
                if commit.status is CommitStatus.COMMITTED:
                    break
                # STALE: another worker updated this user's session first; redo from it.
                await asyncio.sleep(0.001 * attempt)
                stored = await self.store.load_session(inbound.openid)
            else:
                log.error("session kept changing; message not processed",
                          extra={"fields": {"msg_key": inbound.msg_key}})
                return Result(SUCCESS, "error")
            reply = result.reply
            push = reply.kind == "text" and not passive
            push = push or (reply.kind == "transfer" and bool(reply.text))
            if push and (not passive or tracking is not None):
                # Queued while still holding the user's lock: replies leave in order.
                self._enqueue(inbound.openid, lambda: self._deliver(inbound, reply))
            return result

    async def _run_turn(
        self,
        inbound: Inbound,
        entry: _InFlight,
        stored: Session | None,
        now: float,
        grants: tuple[Grant, ...],
    ) -> tuple[Result, Commit]:
        """One call into the dialogue, then one commit of everything the turn changed."""
        expired = stored is not None and now - stored.updated_at > self.session_ttl
        state = _NO_STATE if stored is None or expired else _state_of(stored)
        masked = mask_personal_data(inbound.text)
        message = replace(inbound, text=masked.text) if masked.kinds else inbound
        try:
            answer = await self.dialogue.answer(
                message,
                state,
                now,
                expired=expired and bool(stored and (stored.flow or stored.slots)),
                pii_kinds=masked.kinds,
            )
            label = None
        except Exception:
            log.exception("handler failed", extra={"fields": {"msg_key": inbound.msg_key}})
            answer, label = self.dialogue.apology(state), "error"
        meta = self._meta(answer, state, entry, failed=label is not None)
        result, commit = await self._commit(message, now, entry, answer, stored, grants, meta)
        if commit.status is CommitStatus.COMMITTED:
            outcome, read = answer.outcome, answer.understanding
            intent = None if read is None else (read.intents[0] if read.intents else "none")
            self.metrics.turn(intent, outcome.fallback, outcome.scam, outcome.handoff)
        return (replace(result, outcome=label) if label else result), commit

    def _meta(self, answer: Answer, state: State, entry: _InFlight, failed: bool) -> dict[str, Any]:
        """What the turn was, for the log's ``meta`` (``stats``, ``nlu review``, the
        dashboard): ids, flags, a probability and a latency, never user text.

        ``flow`` is the flow the turn ran in (the one it gave a verdict in, else the one it
        left the user in, else the one it found); ``step`` the question it left the user at;
        ``ms`` the time from the first delivery's arrival to the reply being ready, and
        ``late`` whether that passed the reply deadline.
        """
        outcome, read = answer.outcome, answer.understanding
        verdict = outcome.verdict_flow
        flow = verdict or (outcome.flow and str(outcome.flow)) or (state.flow and str(state.flow))
        ms = (time.monotonic() - entry.started) * 1000
        meta: dict[str, Any] = {
            "flow": flow or None,
            "step": outcome.step,
            "verdict": verdict is not None,
            "scam": list(outcome.scam),
            "handoff": outcome.handoff,
            "error": failed,
            "ms": round(ms, 1),
            "late": entry.late or ms > self.reply_deadline * 1000,
        }
        if read is not None:
            meta.update({
                "intent": read.intents[0] if read.intents else None,
                "confidence": round(read.confidence, 3),
                "source": read.source,
                "fallback": "not_understood" in answer.templates,
                "clarify": "clarify" in answer.templates,
            })
        return meta

    async def _commit(
        self,
        inbound: Inbound,
        now: float,
        entry: _InFlight,
        answer: Answer,
        stored: Session | None,
        grants: tuple[Grant, ...],
        meta: dict[str, Any],
    ) -> tuple[Result, Commit]:
        outcome = answer.outcome
        pages: list[str] = []
        if answer.text:
            pages = paginate(answer.text, self.dialogue.page_footer, self.max_reply_bytes)
        # A long answer leaves its later pages; "更多" hands over what is still waiting.
        remaining = pages[1:] if len(pages) > 1 else list(outcome.pending_pages or ())
        if outcome.clear_session:
            session: Session | None = None
        else:
            session = Session(
                openid=inbound.openid,
                flow=outcome.flow,
                step=outcome.step,
                slots=dict(outcome.slots),
                pending_pages=list(remaining),
            )
        if outcome.transfer:
            reply = StoredReply("transfer", pages[0] if pages else "")
        else:
            reply = StoredReply("text", pages[0]) if pages else SUCCESS
        # Already answered ``success`` and there is an API to push through: store the
        # claim with the turn itself, so no retry on any worker ever sees the text.
        claim = entry.late and reply.kind == "text" and self._pushes_late(inbound)
        commit = await self.store.finish_turn(
            TurnRecord(
                msg_key=inbound.msg_key,
                openid=inbound.openid,
                now=now,
                inbound_type=inbound.msg_type,
                inbound_content=_log_content(inbound),
                reply=(SUCCESS if claim else reply).to_json(),
                outbound=(
                    (OutboundRecord("transfer_customer_service", reply.text),)
                    if outcome.transfer
                    else ((OutboundRecord("text", reply.text),) if pages else ())
                ),
                session=session,
                profile=dict(outcome.slots) if outcome.slots else None,
                assessment=(
                    (dict(outcome.assessment[0]), dict(outcome.assessment[1]))
                    if outcome.assessment
                    else None
                ),
                expected_version=None if stored is None else stored.version,
                grants=grants,
                inbound_meta=meta,
            )
        )
        if commit.status is CommitStatus.COMMITTED:
            entry.claimed = claim
        label = "transfer" if outcome.transfer else ("reply" if pages else "silent")
        flow = None if session is None else session.flow
        return Result(reply, label, flow, answer.templates), commit

#: Attempts at a turn whose session another worker changed meanwhile (each redo starts
#: from the newest session, so only a stream of commits by other workers for this very user
#: can use them up; a short growing pause lets those pass).
_MAX_REDO = 12

_QUOTA_TRACKING: dict[type, bool] = {}


def _tracks_quota(sender: OutboundSender) -> bool:
    """``isinstance(sender, QuotaTracking)``, cached per class (protocol checks are slow)."""
    kind = type(sender)
    known = _QUOTA_TRACKING.get(kind)
    if known is None:
        known = _QUOTA_TRACKING[kind] = isinstance(sender, QuotaTracking)
    return known


_NO_STATE = State()


def _state_of(session: Session) -> State:
    """The dialogue's view of a stored session."""
    return State(
        Flow.decode(session.flow), session.step, session.slots, tuple(session.pending_pages)
    )


def _log_content(inbound: Inbound) -> str:
    """What the message log keeps of an inbound message (text is masked at write)."""
    if inbound.kind is Kind.EVENT:
        return f"{inbound.event}:{inbound.event_key}" if inbound.event_key else inbound.event
    return inbound.text
