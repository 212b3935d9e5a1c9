"""The root settings: one YAML file plus ``OKNO_SECTION__KEY`` environment overrides.

Each package owns its own settings model; this module only nests them. Secrets are
``SecretStr`` and come from the environment (or a ``*_file`` path), never from the YAML.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from channels.email.settings import EmailSettings
from channels.phone.settings import PhoneSettings
from channels.telegram.settings import TelegramSettings
from channels.webform.settings import WebformSettings
from notify.settings import NotifySettings
from router.settings import RouterSettings
from sla.settings import SlaSettings
from ticketing.db import DEFAULT_DATABASE_URL, DatabaseSettings
from ticketing.settings import (
    ServiceSettings,
    StorageSettings,
    TeamSettings,
    TicketingSettings,
)


class HttpSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="address to listen on (0.0.0.0: all)")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port to listen on")
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="base of links sent to requesters"
    )
    max_body_bytes: int = Field(
        default=30 * 1024 * 1024, ge=1024, description="largest request body accepted (413 above)"
    )
    trust_forwarded_for: bool = Field(
        default=False, description="take the client IP from X-Forwarded-For (behind a proxy)"
    )


class LoggingSettings(BaseModel):
    level: str = Field(
        default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", description="log level"
    )
    json_output: bool = Field(
        default=False, alias="json", description="one JSON object per line, for log collectors"
    )


class QueueSettings(BaseModel):
    result_timeout_seconds: float = Field(
        default=10.0, gt=0, description="how long HTTP intake waits for the router's answer"
    )
    batch_size: int = Field(
        default=64, ge=1, le=1000, description="inbox ids a router worker takes at once"
    )
    recovery_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description="how often stored-but-unrouted messages (after a crash) are queued again",
    )


class Settings(BaseSettings):
    """Everything okno reads from its configuration."""

    model_config = SettingsConfigDict(
        env_prefix="OKNO_", env_nested_delimiter="__", extra="forbid", populate_by_name=True
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite+aiosqlite:///PATH (embedded) or postgresql+asyncpg://USER@HOST/DB",
    )
    database_pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections")
    redis_url: str | None = Field(
        default=None,
        description="redis://HOST:6379/0 to share queues between processes; unset: in-process",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="signs CSRF tokens; generated under var/ when unset"
    )
    secret_key_file: Path | None = Field(
        default=None, description="file holding the secret key (e.g. a Docker/Kubernetes secret)"
    )
    data_dir: Path = Field(default=Path("var"), description="where okno keeps its own files")
    http: HttpSettings = Field(default_factory=HttpSettings, description="the HTTP server")
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="log output")
    queue: QueueSettings = Field(
        default_factory=QueueSettings, description="the intake queue between inbox and router"
    )
    ticketing: TicketingSettings = Field(
        default_factory=TicketingSettings, description="defaults for new contacts"
    )
    storage: StorageSettings = Field(default_factory=StorageSettings, description="attachments")
    services: list[ServiceSettings] = Field(
        default_factory=list, description="the service catalog offered on the form and API"
    )
    teams: list[TeamSettings] = Field(default_factory=list, description="teams of agents")
    router: RouterSettings = Field(
        default_factory=RouterSettings,
        description="dedup, classification, priority and routing rules (SPEC §4)",
    )
    notify: NotifySettings = Field(
        default_factory=NotifySettings, description="which events notify; retries and backoff"
    )
    webform: WebformSettings = Field(
        default_factory=WebformSettings, description="the public web form (/form)"
    )
    telegram: TelegramSettings = Field(
        default_factory=TelegramSettings, description="the Telegram bot and agents' group"
    )
    email: EmailSettings = Field(
        default_factory=EmailSettings, description="the IMAP mailbox and the SMTP server"
    )
    sla: SlaSettings = Field(
        default_factory=SlaSettings, description="calendars, agreements and the escalator"
    )
    phone: PhoneSettings = Field(
        default_factory=PhoneSettings,
        description="call events from the PBX (Mango Office, generic)",
    )

    @model_validator(mode="after")
    def _references_exist(self) -> Settings:
        team_ids = {team.id for team in self.teams}
        for index, service in enumerate(self.services):
            if service.team is not None and service.team not in team_ids:
                msg = f"services.{index}.team: unknown team {service.team!r}"
                raise ValueError(msg)
        return self

    @property
    def database(self) -> DatabaseSettings:
        return DatabaseSettings(url=self.database_url, pool_size=self.database_pool_size)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, the file over the defaults.
        yaml_file = settings_cls.model_config.get("yaml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (``--config`` or ``OKNO_CONFIG``) and the environment.

    Raises:
        pydantic.ValidationError: naming the key path and the reason.
        FileNotFoundError: the config file does not exist.
    """
    if config_path is None and os.environ.get("OKNO_CONFIG"):
        config_path = Path(os.environ["OKNO_CONFIG"])
    if config_path is None:
        return Settings(**overrides)
    if not config_path.is_file():
        raise FileNotFoundError(config_path)

    class SettingsFromFile(Settings):
        model_config = SettingsConfigDict(yaml_file=config_path)

    return SettingsFromFile(**overrides)
