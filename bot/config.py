"""Settings: read once from the environment, overridden by command-line flags.

Why a frozen dataclass: one immutable object is passed to :func:`bot.create_app`, so tests
build their own and nothing reads ``os.environ`` behind the composition root's back.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from wxloan.storage import PostgresTarget, Target, parse_target

from .errors import ConfigError

__all__ = ["DEFAULT_API_BASE", "ENV_VARS", "Settings"]

DEFAULT_API_BASE = "https://api.weixin.qq.com"

#: Every environment variable wxloan reads, with a one-line meaning (README and --help).
ENV_VARS: dict[str, str] = {
    "WECHAT_TOKEN": "Token from the Official Account console (signature key)",
    "WECHAT_APP_ID": "AppID of the Official Account (needed for safe mode)",
    "WECHAT_APP_SECRET": "AppSecret (outbound customer-service API)",
    "WECHAT_ENCODING_AES_KEY": "EncodingAESKey, 43 characters (compatible/safe mode)",
    "WECHAT_ENCODING_AES_KEY_PREVIOUS": "the previous EncodingAESKey, tried during rotation",
    "WXA_TOKEN": "mini-program message-push Token; setting it turns the channel on",
    "WXA_APP_ID": "mini-program AppID",
    "WXA_APP_SECRET": "mini-program AppSecret (answers go out through the API)",
    "WXA_ENCODING_AES_KEY": "mini-program EncodingAESKey (compatible/safe mode)",
    "WECHAT_API_BASE": f"WeChat API host (default {DEFAULT_API_BASE})",
    "WXLOAN_DB": "SQLite database file (default ./wxloan.db), or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME",
    "WXLOAN_DB_POOL": "PostgreSQL only: connections each process keeps open (default 10)",
    "WXLOAN_REPLY_DEADLINE": "seconds before a slow reply is answered 'success' (default 4.5)",
    "WXLOAN_REPLAY_WINDOW": "max seconds between a request's timestamp and now (default 300)",
    "WXLOAN_SESSION_TTL": "idle seconds before a dialogue starts afresh (default 1800)",
    "WXLOAN_MAX_BODY": "largest accepted request body in bytes (default 65536)",
    "WXLOAN_LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR (default INFO)",
    "WXLOAN_METRICS_PORT": "serve Prometheus metrics at http://HOST:PORT/metrics (default off)",
    "WXLOAN_METRICS_HOST": "address of the metrics endpoint (default 127.0.0.1)",
    "WXLOAN_KNOWLEDGE_DIR": "a folder of knowledge data to use instead of the shipped one",
    "WXLOAN_DASHBOARD_TOKEN": "wxloan dashboard: the token a browser or API client must send (required off loopback)",
}


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: str, kind: type[N]) -> N:
    raw = env.get(name, default).strip()
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    return value


def _aes_key_ok(key: str) -> bool:
    if len(key) != 43:
        return False
    try:
        return len(base64.b64decode(key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to run; see :data:`ENV_VARS` for the meanings."""

    token: str
    app_id: str = ""
    app_secret: str = field(default="", repr=False)
    aes_key: str = field(default="", repr=False)
    aes_key_previous: str = field(default="", repr=False)
    wxa_token: str = field(default="", repr=False)
    wxa_app_id: str = ""
    wxa_app_secret: str = field(default="", repr=False)
    wxa_aes_key: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    db_path: Path = Path("wxloan.db")
    #: set when the database is a PostgreSQL server (then ``db_path`` is not used)
    database: PostgresTarget | None = field(default=None, repr=False)
    db_pool_size: int = 10
    host: str = "127.0.0.1"
    port: int = 8080
    reply_deadline: float = 4.5
    replay_window: float = 300.0
    session_ttl: float = 1800.0
    max_body_bytes: int = 65536
    log_level: str = "INFO"
    #: Prometheus endpoint (None: off); loopback unless WXLOAN_METRICS_HOST says otherwise
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    #: the operator's knowledge folder (None: the data shipped in the package)
    knowledge_dir: Path | None = None
    #: ``wxloan dashboard``'s access token (None: none; then it listens on loopback only)
    dashboard_token: str | None = field(default=None, repr=False)
    #: WeChat's protocol, not a choice: it waits this long for each delivery of a message
    wechat_timeout: float = 5.0
    #: ... and delivers a message this many times in all when it gets no answer
    wechat_deliveries: int = 3
    #: tests only: name the rendered templates in a response header (never in production)
    expose_templates: bool = False
    #: True when the token was generated because none was configured (local use only)
    token_generated: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default).

        With no ``WECHAT_TOKEN`` a random token is generated and the service is meant to
        listen on 127.0.0.1 only; never a guessable default.
        """
        env = os.environ if env is None else env
        token = env.get("WECHAT_TOKEN", "").strip()
        generated = not token
        if generated:
            token = secrets.token_urlsafe(24)
        settings = cls(
            token=token,
            app_id=env.get("WECHAT_APP_ID", "").strip(),
            app_secret=env.get("WECHAT_APP_SECRET", "").strip(),
            aes_key=env.get("WECHAT_ENCODING_AES_KEY", "").strip(),
            aes_key_previous=env.get("WECHAT_ENCODING_AES_KEY_PREVIOUS", "").strip(),
            wxa_token=env.get("WXA_TOKEN", "").strip(),
            wxa_app_id=env.get("WXA_APP_ID", "").strip(),
            wxa_app_secret=env.get("WXA_APP_SECRET", "").strip(),
            wxa_aes_key=env.get("WXA_ENCODING_AES_KEY", "").strip(),
            api_base=env.get("WECHAT_API_BASE", DEFAULT_API_BASE).strip().rstrip("/"),
            db_pool_size=_number(env, "WXLOAN_DB_POOL", "10", int),
            reply_deadline=_number(env, "WXLOAN_REPLY_DEADLINE", "4.5", float),
            replay_window=_number(env, "WXLOAN_REPLAY_WINDOW", "300", float),
            session_ttl=_number(env, "WXLOAN_SESSION_TTL", "1800", float),
            max_body_bytes=_number(env, "WXLOAN_MAX_BODY", "65536", int),
            log_level=env.get("WXLOAN_LOG_LEVEL", "INFO").upper(),
            metrics_port=(_number(env, "WXLOAN_METRICS_PORT", "0", int)
                          if env.get("WXLOAN_METRICS_PORT", "").strip() else None),
            metrics_host=env.get("WXLOAN_METRICS_HOST", "127.0.0.1").strip() or "127.0.0.1",
            knowledge_dir=(Path(env["WXLOAN_KNOWLEDGE_DIR"].strip())
                           if env.get("WXLOAN_KNOWLEDGE_DIR", "").strip() else None),
            dashboard_token=env.get("WXLOAN_DASHBOARD_TOKEN", "").strip() or None,
            token_generated=generated,
        ).with_database(env.get("WXLOAN_DB", "wxloan.db"))
        settings.validate()
        return settings

    def with_database(self, value: str | Path | None) -> Settings:
        """A copy using the database ``value`` names (None: unchanged); see storage.target."""
        if value is None:
            return self
        target = parse_target(value)
        if isinstance(target, PostgresTarget):
            return replace(self, database=target)
        return replace(self, db_path=target, database=None)

    @property
    def db_target(self) -> Target:
        """The database to open: the PostgreSQL server if one is set, else the SQLite file."""
        return self.database if self.database is not None else self.db_path

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced (flags override the environment)."""
        updated = replace(self, **{k: v for k, v in changes.items() if v is not None})
        updated.validate()
        return updated

    @property
    def miniprogram_enabled(self) -> bool:
        """True when the mini-program customer-service channel is on (``WXA_TOKEN``)."""
        return bool(self.wxa_token)

    @property
    def outbound_enabled(self) -> bool:
        """True when Official Account replies can be pushed through the API."""
        return bool(self.app_id and self.app_secret)

    @property
    def safe_mode_enabled(self) -> bool:
        """True when encrypted (compatible/safe mode) messages can be handled."""
        return bool(self.aes_key)

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the setting that is wrong."""
        for name, key in (
            ("WECHAT_ENCODING_AES_KEY", self.aes_key),
            ("WECHAT_ENCODING_AES_KEY_PREVIOUS", self.aes_key_previous),
            ("WXA_ENCODING_AES_KEY", self.wxa_aes_key),
        ):
            if key and not _aes_key_ok(key):
                raise ConfigError(f"{name} must be the 43-character key from the WeChat console")
        if self.aes_key and not self.app_id:
            raise ConfigError("WECHAT_APP_ID is required when WECHAT_ENCODING_AES_KEY is set")
        if self.wxa_token and not (self.wxa_app_id and self.wxa_app_secret):
            raise ConfigError(
                "WXA_APP_ID and WXA_APP_SECRET are required when WXA_TOKEN is set: "
                "mini-program answers go out through the customer-service API"
            )
        if self.wxa_aes_key and not self.wxa_token:
            raise ConfigError("WXA_ENCODING_AES_KEY needs WXA_TOKEN")
        if self.api_base and not self.api_base.startswith(("https://", "http://")):
            raise ConfigError("WECHAT_API_BASE must start with https:// or http://")
        if self.aes_key_previous and not self.aes_key:
            raise ConfigError("WECHAT_ENCODING_AES_KEY_PREVIOUS needs WECHAT_ENCODING_AES_KEY")
        if not 0.05 <= self.reply_deadline <= 4.9:
            raise ConfigError("WXLOAN_REPLY_DEADLINE must be between 0.05 and 4.9 seconds")
        if not (self.reply_deadline < self.wechat_timeout and self.wechat_deliveries >= 1):
            raise ConfigError("WXLOAN_REPLY_DEADLINE must be shorter than WeChat's timeout")
        if self.replay_window <= 0:
            raise ConfigError("WXLOAN_REPLAY_WINDOW must be positive")
        if self.session_ttl <= 0:
            raise ConfigError("WXLOAN_SESSION_TTL must be positive")
        if not 1024 <= self.max_body_bytes <= 16 * 1024 * 1024:
            raise ConfigError("WXLOAN_MAX_BODY must be between 1024 and 16777216 bytes")
        if not 1 <= self.db_pool_size <= 1000:
            raise ConfigError("WXLOAN_DB_POOL must be between 1 and 1000 connections")
        if self.log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError("WXLOAN_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        if not 0 < self.port < 65536:
            raise ConfigError("--port must be between 1 and 65535")
        if self.metrics_port is not None and not 0 < self.metrics_port < 65536:
            raise ConfigError("WXLOAN_METRICS_PORT / --metrics-port must be between 1 and 65535")
