"""Environment settings: which venue, which keys, where logs and state live.

`load_settings(environ)` is pure: it reads a mapping (tests pass a dict) and returns a
frozen `Settings` or raises `ConfigError` naming the variable at fault. The names of the
credential variables are defined once, here (lessons F8); nothing else spells them.

Invariants:
- `paper` is the default and needs no keys; `testnet` and `production` refuse to build
  without that environment's key and secret.
- A non-production environment never points at the production host by accident.
- State lives per environment: `state_dir` is `<state root>/<environment>` (state root =
  RUNNER_STATE_DIR, default `state`), so paper, testnet and production never share trades,
  daily counts, positions or the heartbeat (issue 7). `--state-dir` on the commands names
  the root, like RUNNER_STATE_DIR.
- API keys and secrets are held in `Secret`, whose repr and str are a mask; the value
  is reachable only through `.reveal()`. `Settings.secrets()` lists the revealed values
  for the logging layer's redaction filter; `redact()` applies it to a text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlparse

from runner.common.secrets import Secret, redact

ENVIRONMENT_VARIABLE: Final = "TRADING_ENVIRONMENT"
BASE_URL_VARIABLE: Final = "COINCALL_BASE_URL"
LOG_DIR_VARIABLE: Final = "RUNNER_LOG_DIR"
STATE_DIR_VARIABLE: Final = "RUNNER_STATE_DIR"

TESTNET_URL: Final = "https://betaapi.coincall.com"
PRODUCTION_URL: Final = "https://api.coincall.com"
_PRODUCTION_HOSTS: Final = frozenset({"api.coincall.com"})


class ConfigError(ValueError):
    """The environment does not describe a usable configuration; the message says how to fix it."""


class Environment(StrEnum):
    PAPER = "paper"
    TESTNET = "testnet"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class CredentialNames:
    """The variable names that hold one environment's API key and secret."""

    key: str
    secret: str


# The one source of truth for credential variable names (lessons F8).
CREDENTIAL_VARIABLES: Final[Mapping[Environment, CredentialNames]] = {
    Environment.TESTNET: CredentialNames("COINCALL_API_KEY_TEST", "COINCALL_API_SECRET_TEST"),
    Environment.PRODUCTION: CredentialNames("COINCALL_API_KEY_PROD", "COINCALL_API_SECRET_PROD"),
}

_DEFAULT_URLS: Final[Mapping[Environment, str]] = {
    Environment.TESTNET: TESTNET_URL,
    Environment.PRODUCTION: PRODUCTION_URL,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs from its environment."""

    environment: Environment
    base_url: str | None
    api_key: Secret | None
    api_secret: Secret | None
    log_dir: Path
    state_dir: Path  # this environment's directory: <state root>/<environment> (issue 7)
    state_root: Path | None = None  # RUNNER_STATE_DIR (default state); None: not derived

    @property
    def root(self) -> Path:
        """The state root: the directory holding one directory per environment."""
        return self.state_root if self.state_root is not None else self.state_dir.parent

    def with_state_root(self, root: Path) -> Settings:
        """These settings with their state under another root (`--state-dir`)."""
        return replace(self, state_root=root, state_dir=environment_state_dir(root,
                                                                              self.environment))

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_paper(self) -> bool:
        return self.environment is Environment.PAPER

    def secrets(self) -> tuple[str, ...]:
        """The plain values that must never be written anywhere (for log redaction)."""
        held = (self.api_key, self.api_secret)
        return tuple(secret.reveal() for secret in held if secret is not None and secret.reveal())

    def redact(self, text: str) -> str:
        """`text` with every secret of these settings masked."""
        return redact(text, self.secrets())


def environment_state_dir(root: Path, environment: Environment) -> Path:
    """Where one environment's state lives: paper, testnet and production never share a
    store, counts, positions or heartbeat (issue 7)."""
    return root / environment.value


def state_root(environ: Mapping[str, str]) -> Path:
    """RUNNER_STATE_DIR, else `state`: the root holding one directory per environment."""
    return Path(_value(environ, STATE_DIR_VARIABLE) or "state")


def state_location(environ: Mapping[str, str],
                   root: Path | None = None) -> tuple[Environment, Path]:
    """(environment, its state directory) without needing keys (status, health); `root`
    overrides RUNNER_STATE_DIR (`--state-dir`). Raises ConfigError on a bad environment."""
    environment = _environment(environ)
    return environment, environment_state_dir(root or state_root(environ), environment)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from a mapping of environment variables; raise ConfigError when unusable."""
    environment = _environment(environ)
    log_dir = Path(_value(environ, LOG_DIR_VARIABLE) or "logs")
    root = state_root(environ)
    state_dir = environment_state_dir(root, environment)
    if environment is Environment.PAPER:
        return Settings(environment, None, None, None, log_dir, state_dir, root)
    base_url = _base_url(environ, environment)
    names = CREDENTIAL_VARIABLES[environment]
    api_key = _required_secret(environ, names.key, environment)
    api_secret = _required_secret(environ, names.secret, environment)
    return Settings(environment, base_url, api_key, api_secret, log_dir, state_dir, root)


def environ_with_dotenv(dotenv_path: str | Path | None = ".env") -> dict[str, str]:
    """The process environment, completed (never overridden) by a .env file."""
    from dotenv import dotenv_values

    merged: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings_from_env(dotenv_path: str | Path | None = ".env") -> Settings:
    """Settings from the process environment, completed (never overridden) by a .env file."""
    return load_settings(environ_with_dotenv(dotenv_path))


def _value(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


def _environment(environ: Mapping[str, str]) -> Environment:
    raw = _value(environ, ENVIRONMENT_VARIABLE).lower()
    if not raw:
        return Environment.PAPER
    try:
        return Environment(raw)
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise ConfigError(
            f"{ENVIRONMENT_VARIABLE}={raw!r} is not valid; allowed values: {allowed}"
        ) from None


def _base_url(environ: Mapping[str, str], environment: Environment) -> str:
    override = _value(environ, BASE_URL_VARIABLE)
    if not override:
        return _DEFAULT_URLS[environment]
    parsed = urlparse(override)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ConfigError(f"{BASE_URL_VARIABLE}={override!r} is not an http(s) URL")
    if parsed.hostname in _PRODUCTION_HOSTS and environment is not Environment.PRODUCTION:
        raise ConfigError(
            f"{BASE_URL_VARIABLE} points at the production host while "
            f"{ENVIRONMENT_VARIABLE}={environment.value}; set {ENVIRONMENT_VARIABLE}=production "
            "to trade production"
        )
    return override.rstrip("/")


def _required_secret(environ: Mapping[str, str], name: str, environment: Environment) -> Secret:
    value = _value(environ, name)
    if not value:
        raise ConfigError(
            f"{name} is not set: {ENVIRONMENT_VARIABLE}={environment.value} needs it "
            "(in the environment or in .env)"
        )
    return Secret(value)
