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

from channels.webform.settings import WebformSettings
from notify.settings import NotifySettings
from router.settings import RouterSettings
from ticketing.db import DEFAULT_DATABASE_URL, DatabaseSettings
from ticketing.settings import (
    ServiceSettings,
    StorageSettings,
    TeamSettings,
    TicketingSettings,
)


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="base of links sent to requesters"
    )
    max_body_bytes: int = Field(default=30 * 1024 * 1024, ge=1024)
    trust_forwarded_for: bool = Field(
        default=False, description="take the client IP from X-Forwarded-For (behind a proxy)"
    )


class LoggingSettings(BaseModel):
    level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    json_output: bool = Field(default=False, alias="json")


class QueueSettings(BaseModel):
    result_timeout_seconds: float = Field(
        default=10.0, gt=0, description="how long HTTP intake waits for the router's answer"
    )
    batch_size: int = Field(default=64, ge=1, le=1000)
    recovery_interval_seconds: float = Field(default=30.0, gt=0)


class Settings(BaseSettings):
    """Everything okno reads from its configuration."""

    model_config = SettingsConfigDict(
        env_prefix="OKNO_", env_nested_delimiter="__", extra="forbid", populate_by_name=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    database_pool_size: int = Field(default=10, ge=1)
    redis_url: str | None = None
    secret_key: SecretStr | None = Field(
        default=None, description="signs CSRF tokens; generated under var/ when unset"
    )
    secret_key_file: Path | None = None
    data_dir: Path = Path("var")
    http: HttpSettings = HttpSettings()
    logging: LoggingSettings = LoggingSettings()
    queue: QueueSettings = QueueSettings()
    ticketing: TicketingSettings = TicketingSettings()
    storage: StorageSettings = StorageSettings()
    services: list[ServiceSettings] = Field(default_factory=list)
    teams: list[TeamSettings] = Field(default_factory=list)
    router: RouterSettings = RouterSettings()
    notify: NotifySettings = NotifySettings()
    webform: WebformSettings = WebformSettings()

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
        yaml_file = os.environ.get("OKNO_CONFIG")
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
    if config_path is not None:
        if not config_path.is_file():
            raise FileNotFoundError(config_path)
        os.environ["OKNO_CONFIG"] = str(config_path)
    return Settings(**overrides)
