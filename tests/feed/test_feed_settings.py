"""Switching the feed on (RUNNER_MARKET_FEED=ws) and where it connects: the URL follows
the venue, a sim-server base URL gives its loopback WebSocket, bad values are refused
naming the variable and the fix, and the login signature is the documented one."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.service.feed_choice import feed_choice
from runner.service.feed_wiring import (
    PRODUCTION_WS,
    TESTNET_WS,
    futures_url,
    login_signer,
    options_url,
    public_part,
)
from runner.service.settings import ConfigError, Environment, Secret, Settings
from runner.sim.ws_faults import WsFaultPlan


def settings(environment: Environment, base_url: str | None) -> Settings:
    return Settings(environment, base_url, Secret("k"), Secret("s"), Path("logs"),
                    Path("state"))


def test_the_feed_is_off_unless_configured() -> None:
    choice = feed_choice({})
    assert not choice.enabled
    assert choice.stale_after == 5.0


def test_ws_switches_it_on_with_its_stale_limit() -> None:
    choice = feed_choice({"RUNNER_MARKET_FEED": "WS", "RUNNER_FEED_STALE_SECONDS": "3"})
    assert choice.enabled
    assert choice.stale_after == 3.0


@pytest.mark.parametrize(("environ", "named"), [
    ({"RUNNER_MARKET_FEED": "websocket"}, "RUNNER_MARKET_FEED"),
    ({"RUNNER_FEED_STALE_SECONDS": "0"}, "RUNNER_FEED_STALE_SECONDS"),
    ({"RUNNER_FEED_STALE_SECONDS": "soon"}, "RUNNER_FEED_STALE_SECONDS"),
    ({"RUNNER_WS_URL": "https://ws.coincall.com/options"}, "RUNNER_WS_URL"),
])
def test_a_bad_value_is_refused_naming_the_variable(environ: dict[str, str],
                                                   named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        feed_choice(environ)


@pytest.mark.parametrize(("environment", "base_url", "expected"), [
    (Environment.PRODUCTION, "https://api.coincall.com", PRODUCTION_WS),
    (Environment.TESTNET, "https://betaapi.coincall.com", TESTNET_WS),
    (Environment.TESTNET, "http://127.0.0.1:8123", "ws://127.0.0.1:8123/options"),
])
def test_the_stream_follows_the_venue(environment: Environment, base_url: str,
                                      expected: str) -> None:
    assert options_url(settings(environment, base_url), None) == expected


def test_the_index_comes_from_the_futures_stream_beside_the_options_one() -> None:
    assert futures_url("wss://ws.coincall.com/options") == "wss://ws.coincall.com/futures"
    assert futures_url("ws://127.0.0.1:9/options") == "ws://127.0.0.1:9/futures"


def test_the_login_signature_is_uppercase_hex_hmac_of_the_verify_path() -> None:
    import hashlib
    import hmac

    url = login_signer("KEY", "SECRET", clock=lambda: 1767225600.0)("wss://x/options")
    expected = hmac.new(b"SECRET", b"GET/users/self/verify?uuid=KEY&ts=1767225600000",
                        hashlib.sha256).hexdigest().upper()
    assert url == (f"wss://x/options?code=10&uuid=KEY&ts=1767225600000&sign={expected}"
                   "&apiKey=KEY")


def test_only_scheme_host_and_path_of_a_signed_url_may_be_logged() -> None:
    signed = login_signer("KEY", "SECRET")("wss://ws.coincall.com/options")
    assert public_part(signed) == "wss://ws.coincall.com/options"


def test_sim_server_websocket_faults_are_read_from_their_spec() -> None:
    plan = WsFaultPlan.parse("drop_every=20, stall_every=30,stall_for=8,out_of_order_every=5")
    assert plan == WsFaultPlan(20.0, 30.0, 8.0, 5)
    with pytest.raises(ValueError, match="unknown WebSocket fault 'jitter'"):
        WsFaultPlan.parse("jitter=1")
