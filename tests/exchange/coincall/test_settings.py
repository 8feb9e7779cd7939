"""Environment settings: environments, base URLs, credentials (F8), masked secrets, redaction."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from runner.service.settings import (
    CREDENTIAL_VARIABLES,
    PRODUCTION_URL,
    TESTNET_URL,
    ConfigError,
    Environment,
    Secret,
    load_settings,
    load_settings_from_env,
    redact,
)

TEST_KEYS = {"COINCALL_API_KEY_TEST": "test-key-AAAA", "COINCALL_API_SECRET_TEST": "test-sec-BBBB"}
PROD_KEYS = {"COINCALL_API_KEY_PROD": "prod-key-CCCC", "COINCALL_API_SECRET_PROD": "prod-sec-DDDD"}


def test_paper_is_the_default_and_needs_no_keys() -> None:
    settings = load_settings({})
    assert settings.environment is Environment.PAPER
    assert settings.is_paper
    assert not settings.is_production
    assert settings.base_url is None
    assert settings.api_key is None
    assert settings.secrets() == ()


def test_log_and_state_directories_default_apart_and_can_be_moved() -> None:
    assert load_settings({}).log_dir == Path("logs")
    assert load_settings({}).state_dir == Path("state") / "paper"
    assert load_settings({}).root == Path("state")
    moved = load_settings({"RUNNER_LOG_DIR": "/var/log/r", "RUNNER_STATE_DIR": "/srv/state"})
    assert (moved.log_dir, moved.state_dir) == (Path("/var/log/r"), Path("/srv/state/paper"))


def test_each_environment_has_its_own_state_directory_under_the_root() -> None:
    """Issue 7: paper, testnet and production never share a store."""
    root = {"RUNNER_STATE_DIR": "/srv/state"}
    testnet = load_settings({**root, "TRADING_ENVIRONMENT": "testnet", **TEST_KEYS})
    production = load_settings({**root, "TRADING_ENVIRONMENT": "production", **PROD_KEYS})
    assert testnet.state_dir == Path("/srv/state/testnet")
    assert production.state_dir == Path("/srv/state/production")
    assert testnet.root == production.root == Path("/srv/state")
    assert testnet.with_state_root(Path("/elsewhere")).state_dir == Path("/elsewhere/testnet")


def test_testnet_uses_the_testnet_url_and_the_test_keys() -> None:
    settings = load_settings({"TRADING_ENVIRONMENT": "testnet", **TEST_KEYS, **PROD_KEYS})
    assert settings.base_url == TESTNET_URL
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "test-key-AAAA"
    assert settings.api_secret is not None
    assert settings.api_secret.reveal() == "test-sec-BBBB"
    assert not settings.is_production


def test_production_uses_the_production_url_and_the_production_keys() -> None:
    settings = load_settings({"TRADING_ENVIRONMENT": "PRODUCTION", **TEST_KEYS, **PROD_KEYS})
    assert settings.is_production
    assert settings.base_url == PRODUCTION_URL
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "prod-key-CCCC"


def test_the_base_url_can_be_overridden_for_a_local_simulator() -> None:
    settings = load_settings({"TRADING_ENVIRONMENT": "testnet", **TEST_KEYS,
                              "COINCALL_BASE_URL": "http://127.0.0.1:8765/"})
    assert settings.base_url == "http://127.0.0.1:8765"


def test_a_testnet_setting_never_points_at_the_production_host() -> None:
    with pytest.raises(ConfigError, match="production host"):
        load_settings({"TRADING_ENVIRONMENT": "testnet", **TEST_KEYS,
                       "COINCALL_BASE_URL": "https://api.coincall.com"})


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ConfigError, match="COINCALL_BASE_URL"):
        load_settings({"TRADING_ENVIRONMENT": "testnet", **TEST_KEYS,
                       "COINCALL_BASE_URL": "ftp:/nowhere"})


def test_an_unknown_environment_names_the_variable_and_the_allowed_values() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"TRADING_ENVIRONMENT": "live"})
    message = str(raised.value)
    assert "TRADING_ENVIRONMENT" in message
    assert "'live'" in message
    assert all(name in message for name in ("paper", "testnet", "production"))


@pytest.mark.parametrize("environment", [Environment.TESTNET, Environment.PRODUCTION])
@pytest.mark.parametrize("missing", ["key", "secret"])
def test_a_missing_credential_is_named_so_start_up_fails_loudly(
        environment: Environment, missing: str) -> None:
    """F8: start-up fails loudly, naming the missing key, from one source of names."""
    names = CREDENTIAL_VARIABLES[environment]
    environ = {"TRADING_ENVIRONMENT": environment.value, names.key: "k", names.secret: "s"}
    absent = names.key if missing == "key" else names.secret
    environ[absent] = "  "
    with pytest.raises(ConfigError, match=absent):
        load_settings(environ)


def test_the_credential_names_are_the_documented_ones() -> None:
    """F8: the generated env files and the config must agree on these exact names."""
    assert {(n.key, n.secret) for n in CREDENTIAL_VARIABLES.values()} == {
        ("COINCALL_API_KEY_TEST", "COINCALL_API_SECRET_TEST"),
        ("COINCALL_API_KEY_PROD", "COINCALL_API_SECRET_PROD"),
    }


def test_secrets_are_masked_in_repr_str_and_format_and_only_reveal_shows_them() -> None:
    secret = Secret("hunter2-value")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>20}"):
        assert "hunter2" not in shown
    assert repr(secret) == "Secret('****')"
    assert secret.reveal() == "hunter2-value"
    assert secret == Secret("hunter2-value")
    assert secret != Secret("other")


def test_secrets_cannot_be_pickled_into_a_file() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("hunter2-value"))


def test_settings_repr_never_shows_a_key_or_secret() -> None:
    settings = load_settings({"TRADING_ENVIRONMENT": "production", **PROD_KEYS})
    shown = repr(settings) + str(settings)
    assert "prod-key-CCCC" not in shown
    assert "prod-sec-DDDD" not in shown
    assert "****" in shown


def test_settings_list_their_secrets_for_the_log_redaction_filter() -> None:
    settings = load_settings({"TRADING_ENVIRONMENT": "testnet", **TEST_KEYS})
    assert set(settings.secrets()) == {"test-key-AAAA", "test-sec-BBBB"}
    line = "signing with test-key-AAAA and test-sec-BBBB failed"
    assert settings.redact(line) == "signing with **** and **** failed"


def test_redact_masks_every_occurrence_and_prefers_the_longest_secret() -> None:
    assert redact("abc abcdef abc", ["abc", "abcdef"]) == "**** **** ****"
    assert redact("nothing here", ["", "zzz"]) == "nothing here"


def test_dotenv_completes_the_environment_without_overriding_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TRADING_ENVIRONMENT=production\nCOINCALL_API_KEY_TEST=from-file\n"
                      "COINCALL_API_SECRET_TEST=file-secret\nRUNNER_LOG_DIR=file-logs\n")
    monkeypatch.setenv("TRADING_ENVIRONMENT", "testnet")
    monkeypatch.setenv("COINCALL_API_KEY_TEST", "from-env")
    settings = load_settings_from_env(dotenv)
    assert settings.environment is Environment.TESTNET
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "from-env"
    assert settings.api_secret is not None
    assert settings.api_secret.reveal() == "file-secret"
    assert settings.log_dir == Path("file-logs")


def test_without_a_dotenv_file_the_environment_alone_is_used(tmp_path: Path) -> None:
    assert load_settings_from_env(tmp_path / "absent.env").environment is Environment.PAPER
