"""The RFQ (block trade, taker) executor: request, judge quotes, accept or fall back.

Flow: CreateRfq -> RfqCreated -> quotes judged on every QuotesReceived until the
deadline -> AcceptQuote for the best acceptable one -> QuoteAccepted credits every leg
at the block-trade prices with fees (lessons E6). With no acceptable quote by the
deadline the request is cancelled and the configured limit execution takes over (a
close always has one, lessons B13); an open without a fallback fails.

Invariants:
- A quote is acceptable only when OPEN, not about to expire, trading every leg in our
  direction and size, and its improvement over the orderbook cost of the same legs is
  at least the minimum (lessons B14: `(book - quote) / |book|`, positive = better, one
  formula for both directions). The book cost takes the ask for each leg we buy and
  the bid for each leg we sell (lessons B15). Without a book cost nothing is accepted.
- An accept is never sent twice and never abandoned: while its outcome is unknown the
  executor waits for the dispatcher's resolution; only a refusal frees it to try
  another quote (coincall-api.md pitfall 8).
- A single-leg request is sent as BUY; to sell, the maker-BUY side of the two-way quote
  is accepted (lessons B13; coincall-api.md 6.4 and pitfall 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.commands import (
    AcceptQuote,
    CancelRfq,
    Command,
    CreateRfq,
    Event,
    OrderPurpose,
    QuoteAccepted,
    QuotesReceived,
    RfqCreated,
    RfqFailed,
)
from runner.domain.orders import Side
from runner.domain.rfq import (
    BlockTrade,
    BlockTradeLeg,
    QuoteState,
    RfqLeg,
    RfqQuote,
    improvement_pct,
)
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution.launch import start_limit_close, start_limit_open
from runner.execution.phases import unwind_spec
from runner.execution.pricing import leg_market
from runner.execution.state import ExecutionState, RfqProgress, RfqStage, Step
from runner.strategy.model import LimitExecution, RfqExecution

QUOTE_EXPIRY_MARGIN: Final = timedelta(seconds=1)
ACCEPT_ALERT_AFTER: Final = timedelta(seconds=60)


# -- pure pieces ------------------------------------------------------------------------------
def wanted_legs(trade: Trade, purpose: OrderPurpose) -> tuple[RfqLeg, ...]:
    """Our real direction per leg: the legs to open, or what is held traded back."""
    if purpose is OrderPurpose.OPEN:
        return tuple(RfqLeg(leg.symbol, leg.side, leg.qty) for leg in trade.legs)
    return tuple(RfqLeg(leg.symbol, leg.close_side, leg.open_qty) for leg in trade.legs
                 if leg.open_qty > 0)


def legs_to_send(wanted: tuple[RfqLeg, ...]) -> tuple[RfqLeg, ...]:
    """A single-leg request always goes out as BUY (lessons B13)."""
    if len(wanted) == 1:
        return (replace(wanted[0], side=Side.BUY),)
    return wanted


def book_cost(wanted: Sequence[RfqLeg], snapshot: MarketSnapshot) -> Decimal | None:
    """What the same legs cost on the orderbook: + ask x qty bought, - bid x qty sold (B15)."""
    total = Decimal(0)
    for leg in wanted:
        market = leg_market(snapshot, leg.symbol)
        price = market.ask if leg.side is Side.BUY else market.bid
        if price is None:
            return None
        total += leg.side.sign * price * leg.qty
    return total


@dataclass(frozen=True, slots=True)
class Judged:
    quote: RfqQuote
    cost: Decimal
    improvement: Decimal | None

    def passes(self, minimum: Decimal) -> bool:
        return self.improvement is not None and self.improvement >= minimum


def judge_quotes(quotes: Sequence[RfqQuote], wanted: tuple[RfqLeg, ...], book: Decimal | None,
                 now: datetime, refused: Sequence[str] = ()) -> list[Judged]:
    """Every usable quote with its cost and improvement, cheapest first."""
    usable = [q for q in quotes if q.state is QuoteState.OPEN
              and q.expires_at > now + QUOTE_EXPIRY_MARGIN and q.quote_id not in refused
              and q.matches_direction(wanted) and _same_sizes(q, wanted)]
    judged = [Judged(q, q.taker_cost(), None if book is None
                     else improvement_pct(book, q.taker_cost())) for q in usable]
    return sorted(judged, key=lambda j: j.cost)


def best_acceptable(judged: Sequence[Judged], minimum: Decimal) -> Judged | None:
    """The cheapest quote meeting the minimum improvement (B14)."""
    return next((j for j in judged if j.passes(minimum)), None)


def _same_sizes(quote: RfqQuote, wanted: tuple[RfqLeg, ...]) -> bool:
    sizes = {leg.symbol: leg.qty for leg in wanted}
    return all(sizes.get(leg.symbol) == leg.qty for leg in quote.legs)


# -- the state machine -------------------------------------------------------------------------
def begin_rfq(trade: Trade, spec: RfqExecution, purpose: OrderPurpose, reason: str,
              now: datetime, attempt: int) -> tuple[ExecutionState, CreateRfq]:
    """The first command of an RFQ execution and the state waiting for its answer."""
    wanted = wanted_legs(trade, purpose)
    sent = legs_to_send(wanted)
    fallback = spec.fallback if purpose is OrderPurpose.OPEN else \
        (spec.fallback or LimitExecution())
    progress = RfqProgress(spec=spec, fallback=fallback, attempt=attempt, wanted=wanted,
                           sent=sent, started_at=now, deadline=now + spec.timeout)
    state = ExecutionState(trade_id=trade.trade_id, purpose=purpose, reason=reason,
                           started_at=now, attempt_base=attempt, rfq=progress)
    return state, CreateRfq(trade.trade_id, purpose, attempt, sent)


@dataclass(slots=True)
class _Tick:
    state: ExecutionState
    rfq: RfqProgress
    trade: Trade
    now: datetime
    commands: list[Command] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quotes: tuple[RfqQuote, ...] | None = None
    block: BlockTrade | None = None
    fallback_why: str | None = None

    def step(self) -> Step:
        state = replace(self.state, rfq=self.rfq)
        return Step(state, self.trade, tuple(self.commands), tuple(self.alerts),
                    tuple(self.notes))


def run_rfq(state: ExecutionState, trade: Trade, snapshot: MarketSnapshot,
            events: Sequence[Event], now: datetime) -> Step:
    """Advance an RFQ execution by one tick."""
    if state.rfq is None:
        raise ValueError(f"execution of {state.trade_id} has no RFQ progress")
    tick = _Tick(state, state.rfq, trade, now)
    for event in events:
        _apply(tick, event)
    if tick.block is not None:
        return _filled(tick, snapshot)
    if tick.fallback_why is not None:
        return fall_back(tick, snapshot, tick.fallback_why)
    if tick.rfq.stage is RfqStage.COLLECTING:
        _judge(tick, snapshot)
    if tick.rfq.stage is RfqStage.ACCEPTING:
        _watch_accept(tick)
    elif now >= tick.rfq.deadline:
        return _time_out(tick, snapshot)
    return tick.step()


def _apply(tick: _Tick, event: Event) -> None:
    rfq = tick.rfq
    if isinstance(event, RfqCreated) and event.trade_id == tick.trade.trade_id \
            and rfq.stage is RfqStage.CREATING and event.attempt in (None, rfq.attempt):
        tick.rfq = replace(rfq, stage=RfqStage.COLLECTING, request_id=event.rfq.request_id)
    elif isinstance(event, QuotesReceived) and event.request_id == rfq.request_id:
        tick.quotes = event.quotes
    elif isinstance(event, QuoteAccepted) and event.request_id == rfq.request_id:
        tick.block = event.trade
    elif isinstance(event, RfqFailed) and event.trade_id == tick.trade.trade_id \
            and event.request_id in (None, rfq.request_id) \
            and event.attempt in (None, rfq.attempt):  # not an earlier request's failure
        _failed(tick, event)


def _failed(tick: _Tick, event: RfqFailed) -> None:
    rfq = tick.rfq
    if rfq.stage is RfqStage.ACCEPTING and rfq.quote_id is not None:
        tick.notes.append(f"trade {tick.trade.trade_id}: accept of quote {rfq.quote_id}"
                          f" refused: {event.message}")
        tick.rfq = replace(rfq, stage=RfqStage.COLLECTING, quote_id=None, expected_cost=None,
                           refused_quotes=(*rfq.refused_quotes, rfq.quote_id))
    else:
        tick.fallback_why = f"rfq failed: {event.message}"


def _judge(tick: _Tick, snapshot: MarketSnapshot) -> None:
    if tick.quotes is None:
        return
    rfq = tick.rfq
    book = book_cost(rfq.wanted, snapshot)
    if book is None:
        book = rfq.book_cost
    judged = judge_quotes(tick.quotes, rfq.wanted, book, tick.now, rfq.refused_quotes)
    best = best_acceptable(judged, rfq.spec.min_improvement_pct)
    tick.rfq = replace(rfq, book_cost=book)
    if best is None:
        if judged:
            top = judged[0]
            tick.notes.append(f"trade {tick.trade.trade_id}: best of {len(judged)} quotes costs"
                              f" {top.cost} vs book {book} (improvement {top.improvement} %"
                              f" < {rfq.spec.min_improvement_pct} %)")
        return
    tick.commands.append(AcceptQuote(tick.trade.trade_id, rfq.request_id or "",
                                     best.quote.quote_id, best.cost))
    tick.notes.append(f"trade {tick.trade.trade_id}: accepting quote {best.quote.quote_id}"
                      f" cost {best.cost} vs book {book} ({best.improvement} %)")
    tick.rfq = replace(tick.rfq, stage=RfqStage.ACCEPTING, quote_id=best.quote.quote_id,
                       expected_cost=best.cost, accept_sent_at=tick.now)


def _watch_accept(tick: _Tick) -> None:
    sent = tick.rfq.accept_sent_at
    if sent is not None and not tick.rfq.alerted and tick.now - sent >= ACCEPT_ALERT_AFTER:
        tick.alerts.append(f"trade {tick.trade.trade_id}: the accept of quote"
                           f" {tick.rfq.quote_id} is unresolved after {ACCEPT_ALERT_AFTER};"
                           " waiting for the exchange (never accepted twice)")
        tick.rfq = replace(tick.rfq, alerted=True)


def _time_out(tick: _Tick, snapshot: MarketSnapshot) -> Step:
    rfq = tick.rfq
    if rfq.request_id is not None:
        tick.commands.append(CancelRfq(tick.trade.trade_id, rfq.request_id,
                                       "no acceptable quote before the timeout"))
    return fall_back(tick, snapshot, f"no acceptable quote within {rfq.spec.timeout}")


def _filled(tick: _Tick, snapshot: MarketSnapshot) -> Step:
    """Credit the block trade (E6); finish, or hand any remainder to limit orders."""
    block = tick.block
    assert block is not None  # noqa: S101 - only called with a block trade
    opening = tick.state.purpose is OrderPurpose.OPEN
    trade = tick.trade
    for done in block.legs:
        leg = next((leg for leg in trade.legs if leg.symbol == done.symbol), None)
        if leg is None:
            tick.alerts.append(f"trade {trade.trade_id}: block trade {block.block_trade_id}"
                               f" has a leg {done.symbol} the trade does not know")
        else:
            trade = trade.with_leg(_credit_block_leg(leg, done, opening))
    tick.trade = trade
    text = f"block trade {block.block_trade_id} (quote {block.quote_id})"
    if opening and trade.is_fully_open:
        tick.trade = trade.moved_to(TradeStage.OPEN, f"rfq filled: {text}", tick.now)
    elif not opening and trade.is_flat:
        tick.trade = trade.moved_to(TradeStage.CLOSED, f"rfq filled ({tick.state.reason}):"
                                                       f" {text}", tick.now)
    else:
        return fall_back(tick, snapshot, f"{text} left part of the trade undone")
    return Step(None, tick.trade, tuple(tick.commands), tuple(tick.alerts), tuple(tick.notes))


def _credit_block_leg(leg: TradeLeg, done: BlockTradeLeg, opening: bool) -> TradeLeg:
    """Credit what the leg still lacks of a block-trade leg, with that share of its fee.

    Recovery may have credited the block trade from the ledger already (the answer was
    lost with the process, or the kill fell after the accept): then nothing is left to
    count, and its fee, already booked by recovery, is not booked again (E6).
    """
    lacking = leg.unfilled_qty if opening else leg.open_qty
    qty = min(done.qty, lacking)
    if qty <= 0:
        return leg
    fee = done.fee if qty == done.qty else done.fee * qty / done.qty
    if opening:
        return leg.with_open_fill(qty, done.price, fee)
    return leg.with_close_fill(qty, done.price, fee)


def fall_back(tick: _Tick, snapshot: MarketSnapshot, why: str) -> Step:
    """Hand the trade to the configured limit execution (or fail an open without one)."""
    rfq, trade, now = tick.rfq, tick.trade, tick.now
    first_attempt = rfq.attempt + 1
    notes = (*tick.notes, f"trade {trade.trade_id}: {why}; falling back")
    commands = tuple(tick.commands)
    if tick.state.purpose is OrderPurpose.OPEN:
        step = _open_fallback(trade, rfq, snapshot, now, why, first_attempt, notes)
    else:
        step = start_limit_close(trade, rfq.fallback or LimitExecution(), tick.state.purpose,
                                 tick.state.reason, snapshot, now, first_attempt, notes=notes)
    return replace(step, commands=(*commands, *step.commands),
                   alerts=(*tick.alerts, *step.alerts))


def _open_fallback(trade: Trade, rfq: RfqProgress, snapshot: MarketSnapshot, now: datetime,
                   why: str, first_attempt: int, notes: tuple[str, ...]) -> Step:
    if not trade.is_flat:  # a partial block trade: never leg in further, trade it back
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, f"open by rfq incomplete ({why});"
                               " unwinding", now)
        return start_limit_close(trade, unwind_spec(rfq.fallback), OrderPurpose.UNWIND,
                                 "unwind", snapshot, now, first_attempt, notes=notes)
    if rfq.fallback is None:
        trade = trade.moved_to(TradeStage.FAILED, f"not opened: {why}; no fallback", now)
        return Step(None, trade, (), notes=notes)
    return start_limit_open(trade, rfq.fallback, snapshot, now, f"rfq fallback: {why}",
                            first_attempt, notes)
