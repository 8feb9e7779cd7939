"""Fault injection for the simulated exchange: a plan of rules, decided per request.

Owns the fault vocabulary shared by the HTTP server (`sim.server`, which answers the
wire with it) and `sim.faulty.FaultyExchange` (which raises the matching errors in
process, so the accelerated simulation meets the same faults). Invariant: a plan
with the same seed and the same sequence of requests makes the same decisions.

File format (YAML or JSON; `FaultPlan.load(path)`)::

    seed: 7                      # optional; the RNG for `probability` rules
    rules:
      - endpoint: place_order    # endpoint name (port method) or path glob, fnmatch style:
                                 #   "*", "/open/option/order/*", "accept_quote"
        kind: lost_response      # see FaultKind below
        count: 1                 # fire on the next N matching requests, then stop
        after: 2                 # let the first 2 matching requests through first
      - endpoint: "*"
        kind: latency
        seconds: 0.05            # latency added; hold time for timeout / lost_response;
                                 # how long prices stay frozen (0 = until unfrozen)
        probability: 0.1         # each matching request with this chance (seeded)
      - {endpoint: option_chain, kind: freeze_prices, underlying: BTC, seconds: 120, count: 1}
      - {endpoint: positions, kind: http_5xx, status: 502, count: 3}
      - {endpoint: place_order, kind: error, code: 10529, message: insufficient balance}
      - {endpoint: open_orders, kind: rate_limit, status: 429}

A rule with neither `count` nor `probability` fires on every matching request.
Kinds: `latency` (added delay, then a normal answer), `timeout` (hold the connection
`seconds`, default 30, then close without answering; nothing is performed),
`disconnect` (close at once without answering; nothing performed), `http_5xx` (HTTP
`status`, default 503, non-JSON body), `error` (Coincall envelope with `code`, HTTP
200), `rate_limit` (code 10605; HTTP `status` 200 or 429), `malformed` (the action is
performed, the answer's body is cut in half), `lost_response` (the action is
performed, then the connection drops without an answer), `freeze_prices` (the venue's
prices of `underlying`, default all, stop moving for `seconds` of the clock; the
request is answered normally).

Latency and freeze rules all apply; of the other ("outcome") rules the first one in
file order that fires wins, and later outcome rules are not consulted, so their
counters are not consumed by a request another rule already failed.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Final

from runner.domain.instruments import Underlying


class FaultKind(StrEnum):
    LATENCY = "latency"
    TIMEOUT = "timeout"
    DISCONNECT = "disconnect"
    HTTP_5XX = "http_5xx"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    MALFORMED = "malformed"
    LOST_RESPONSE = "lost_response"
    FREEZE_PRICES = "freeze_prices"

    @property
    def is_outcome(self) -> bool:
        """True for kinds that replace the normal answer (not latency or freeze)."""
        return self not in (FaultKind.LATENCY, FaultKind.FREEZE_PRICES)


# Endpoint names (the port's method names, plus HTTP-only calls) and the Coincall path
# each is served on (coincall-api.md section 6). `{...}` marks a path parameter.
ENDPOINTS: Final[Mapping[str, str]] = {
    "server_time": "/time",
    "public_config": "/open/public/config/v1",
    "instruments": "/open/option/getInstruments/{baseCurrency}",
    "option_chain": "/open/option/get/v1/{index}",
    "option_detail": "/open/option/detail/v1/{symbol}",
    "orderbook": "/open/option/order/orderbook/v1/{symbol}",
    "index_price": "/open/futures/market/symbol/v1",
    "delivery_price": "/open/option/get-delivery-prices/v1",
    "place_order": "/open/option/order/create/v1",
    "cancel_order": "/open/option/order/cancel/v1",
    "get_order": "/open/option/order/singleQuery/v1",
    "open_orders": "/open/option/order/pending/v1",
    "order_history": "/open/option/order/history/v1",
    "fills": "/open/option/trade/history/v1",
    "exercises": "/open/settle/exercise/history/v1",
    "positions": "/open/option/position/get/v1",
    "account": "/open/account/summary/v1",
    "user_info": "/open/user/info/v1",
    "api_key_info": "/open/auth/user/query-api",
    "create_rfq": "/open/option/blocktrade/request/create/v1",
    "rfq_quotes": "/open/option/blocktrade/request/getQuotesReceived/v1",
    "accept_quote": "/open/option/blocktrade/request/accept/v1",
    "cancel_rfq": "/open/option/blocktrade/request/cancel/v1",
    "get_rfq": "/open/option/blocktrade/rfqList/v1",
    "block_trades": "/open/option/blocktrade/trade-detail/private/v1",
}

WRITE_ENDPOINTS: Final = frozenset(
    {"place_order", "cancel_order", "create_rfq", "accept_quote", "cancel_rfq"}
)

RATE_LIMIT_CODE: Final = 10605
DEFAULT_5XX_STATUS: Final = 503
DEFAULT_TIMEOUT_HOLD_S: Final = 30.0
_RULE_KEYS: Final = frozenset({"endpoint", "kind", "probability", "count", "after", "seconds",
                               "code", "message", "status", "underlying"})


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One rule: which requests it matches, when it fires and what it does."""

    endpoint: str
    kind: FaultKind
    probability: float | None = None
    count: int | None = None
    after: int = 0
    seconds: float = 0.0
    code: int | None = None
    message: str | None = None
    status: int | None = None
    underlying: Underlying | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FaultKind(self.kind))
        if self.underlying is not None:
            object.__setattr__(self, "underlying", Underlying(str(self.underlying).upper()))
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"fault rule {self.endpoint!r}: probability must be in [0, 1]")
        if (self.count is not None and self.count < 0) or self.after < 0 or self.seconds < 0:
            raise ValueError(f"fault rule {self.endpoint!r}: count, after, seconds must be >= 0")
        if self.kind is FaultKind.ERROR and self.code is None:
            raise ValueError(f"fault rule {self.endpoint!r}: kind 'error' needs a code")

    def matches(self, name: str, path: str) -> bool:
        """True when the rule's pattern names this endpoint or matches its path."""
        return fnmatchcase(name, self.endpoint) or fnmatchcase(path, self.endpoint)

    @property
    def answer_code(self) -> int:
        """The Coincall code of an `error` or `rate_limit` answer."""
        return self.code if self.code is not None else RATE_LIMIT_CODE

    @property
    def answer_message(self) -> str:
        if self.message:
            return self.message
        return "too frequent" if self.kind is FaultKind.RATE_LIMIT else "injected fault"

    @property
    def underlyings(self) -> tuple[Underlying, ...]:
        """What a `freeze_prices` rule freezes: its underlying, or all of them."""
        return (self.underlying,) if self.underlying else tuple(Underlying)

    @property
    def hold_seconds(self) -> float:
        """How long a timeout holds the connection before closing it."""
        if self.kind is FaultKind.TIMEOUT and self.seconds == 0:
            return DEFAULT_TIMEOUT_HOLD_S
        return self.seconds

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultRule:
        unknown = set(data) - _RULE_KEYS
        if unknown:
            raise ValueError(f"unknown fault rule keys {sorted(unknown)}; known: "
                             f"{sorted(_RULE_KEYS)}")
        if "endpoint" not in data or "kind" not in data:
            raise ValueError("a fault rule needs 'endpoint' and 'kind'")
        try:
            kind = FaultKind(data["kind"])
        except ValueError:
            raise ValueError(f"unknown fault kind {data['kind']!r}; known: "
                             f"{[k.value for k in FaultKind]}") from None
        return cls(**{**data, "kind": kind})


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do with one request: delay it, freeze prices, and maybe fail it."""

    delay: float = 0.0
    outcome: FaultRule | None = None
    freezes: tuple[FaultRule, ...] = ()

    @property
    def is_clean(self) -> bool:
        return self.delay == 0 and self.outcome is None and not self.freezes


@dataclass(slots=True)
class _RuleState:
    matched: int = 0
    fired: int = 0


@dataclass(slots=True)
class FaultPlan:
    """Rules plus a seeded RNG; `decide` is thread-safe and deterministic for a seed."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _states: list[_RuleState] = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rules = list(self.rules)
        self._rng = random.Random(self.seed)
        self._states = [_RuleState() for _ in self.rules]

    @classmethod
    def of(cls, *rules: FaultRule, seed: int = 0) -> FaultPlan:
        return cls(list(rules), seed)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, default_seed: int = 0) -> FaultPlan:
        """Build a plan from the parsed file content (see the module docstring)."""
        unknown = set(data) - {"seed", "rules"}
        if unknown:
            raise ValueError(f"unknown fault plan keys {sorted(unknown)}; known: rules, seed")
        raw_rules = data.get("rules") or []
        if not isinstance(raw_rules, list):
            raise ValueError("'rules' must be a list of fault rules")
        rules = [FaultRule.from_mapping(rule) for rule in raw_rules]
        return cls(rules, int(data.get("seed", default_seed)))

    @classmethod
    def load(cls, path: str | Path, *, default_seed: int = 0) -> FaultPlan:
        """Read a plan from a YAML or JSON file."""
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: a fault plan is a mapping with 'rules'")
        return cls.from_mapping(data, default_seed=default_seed)

    def add(self, rule: FaultRule) -> None:
        """Append a rule while requests are being served (tests inject faults live)."""
        with self._lock:
            self.rules.append(rule)
            self._states.append(_RuleState())

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self.rules.clear()
            self._states.clear()

    def fired(self) -> list[int]:
        """How many times each rule has fired so far, in rule order."""
        with self._lock:
            return [state.fired for state in self._states]

    def decide(self, name: str, path: str) -> FaultDecision:
        """Decide the fate of one request to endpoint `name` served at `path`."""
        delay = 0.0
        outcome: FaultRule | None = None
        freezes: list[FaultRule] = []
        with self._lock:
            for rule, state in zip(self.rules, self._states, strict=True):
                if not rule.matches(name, path):
                    continue
                if rule.kind.is_outcome and outcome is not None:
                    continue
                if not self._fires(rule, state):
                    continue
                if rule.kind is FaultKind.LATENCY:
                    delay += rule.seconds
                elif rule.kind is FaultKind.FREEZE_PRICES:
                    freezes.append(rule)
                else:
                    outcome = rule
        return FaultDecision(delay, outcome, tuple(freezes))

    def _fires(self, rule: FaultRule, state: _RuleState) -> bool:
        state.matched += 1
        if state.matched <= rule.after:
            return False
        if rule.count is not None and state.fired >= rule.count:
            return False
        if rule.probability is not None and self._rng.random() >= rule.probability:
            return False
        state.fired += 1
        return True


def __getattr__(name: str) -> Any:
    """`FaultyExchange` and `PriceFreezer` live in `sim.faulty`; importable from here too."""
    if name in ("FaultyExchange", "PriceFreezer"):
        from runner.sim import faulty

        return getattr(faulty, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
