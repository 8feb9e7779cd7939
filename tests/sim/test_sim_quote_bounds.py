"""Bounds over a box of index and time hold every figure inside it (the exit screen's
stretch, issue 12).

Given an option and a box [low, high] index x [first, last] second, the figures
`quote_figures` gives at any index and second inside the box (mark, bid, ask, delta)
lie within `figure_bounds` of the box: for calls and puts far in and out of the money,
expiries from hours to months away, boxes from a minute and a tenth of a percent to
half a day and ten percent, both underlyings.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from runner.domain.instruments import Underlying
from runner.sim.config import SimConfig
from runner.sim.market import Market, epoch_second
from runner.sim.quote_bounds import figure_bounds
from runner.sim.quotes import Priced, quote_figures

START = datetime(2026, 3, 2, tzinfo=UTC)


def _inside(value: float | None, span: tuple[float, float]) -> bool:
    return value is None or span[0] <= value <= span[1]


@pytest.mark.parametrize("underlying", [Underlying.BTC, Underlying.ETH])
@pytest.mark.parametrize(("width", "seconds"), [(0.001, 60), (0.02, 3_600), (0.1, 43_200)])
def test_every_figure_inside_a_box_lies_within_its_bounds(
        underlying: Underlying, width: float, seconds: int) -> None:
    config = SimConfig()
    market = Market(config, 3, START)
    settings = config.underlyings[underlying]
    tick, tick_cents = float(settings.tick), int(settings.tick * 100)
    spot = float(settings.start_price)
    draw = random.Random(f"{underlying}:{width}:{seconds}")
    bounded = 0
    for instrument in market.instruments(underlying)[::3]:
        priced = Priced.of(instrument)
        first = epoch_second(START) + draw.randrange(0, 86_400)
        box = ((spot * (1 - width), spot * (1 + width)), (first, first + seconds))
        bounds = figure_bounds(priced, settings.smile, config.spread_fraction, tick,
                               tick_cents, *box)
        if bounds is None:
            assert priced.expiry_second - box[1][1] <= 3_600  # only near expiry
            continue
        bounded += 1
        points = [(box[0][0], box[1][0]), (box[0][1], box[1][1]), (box[0][0], box[1][1]),
                  (box[0][1], box[1][0])]
        points += [(draw.uniform(*box[0]), draw.randint(*box[1])) for _ in range(12)]
        for index, second in points:
            found = quote_figures(priced, settings.smile, config.spread_fraction, tick,
                                  tick_cents, index, second, frozenset())
            where = (instrument.symbol, index, second)
            assert _inside(found.mark, bounds.mark), where
            assert _inside(found.bid, bounds.bid), where
            assert _inside(found.ask, bounds.ask), where
            assert _inside(found.delta, bounds.delta), where
    assert bounded > 20


def test_no_bounds_within_a_minute_of_expiry() -> None:
    config = SimConfig()
    market = Market(config, 3, START)
    instrument = market.instruments(Underlying.BTC)[0]
    expiry = epoch_second(instrument.expiry)
    settings = config.underlyings[Underlying.BTC]
    assert figure_bounds(Priced.of(instrument), settings.smile, config.spread_fraction, 1.0,
                         100, (86_000.0, 88_000.0), (expiry - 600, expiry - 30)) is None
