"""`glasspane.toml`: which sources to collect. Parsed here; each collector kind checks its own keys."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glasspane import settings
from glasspane.records import WORKING_FOLDERS_KIND

DEFAULT_SOURCE_NAME = "local_pipelines"
# `scheme://user:password@host`: a credential written into a URL (s3://KEY:SECRET@bucket, postgresql://u:p@h)
_URL_CREDENTIAL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s@]*:[^/\s@]*@", re.IGNORECASE)
KNOWN_SECTIONS = ("sources", "alerts", "alerting", "access")  # the top-level keys and tables of glasspane.toml


class ConfigError(ValueError):
    """A config that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class SourceConfig:
    """One `[[sources]]` table: a name, a kind, and the kind's own options."""

    name: str
    kind: str
    options: dict[str, Any]
    origin: str  # where it was defined, for error messages

    def require(self, key: str) -> Any:
        """An option the kind cannot work without."""
        if key not in self.options or self.options[key] in ("", None):
            raise ConfigError(f"{self.origin}: source '{self.name}' (kind {self.kind}): missing required key '{key}'")
        return self.options[key]


@dataclass(frozen=True)
class Config:
    """The sources to collect and the raw tables of other sections (e.g. `[[alerts]]`)."""

    sources: list[SourceConfig]
    path: Path | None
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        """True when no config file was found and the embedded default is in use."""
        return self.path is None

    def select(self, names: list[str] | None) -> list[SourceConfig]:
        """The named sources (all when none are named); an unknown name is an error."""
        if not names:
            return list(self.sources)
        known = {s.name: s for s in self.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"{self.path or 'default config'}: no source named {', '.join(map(repr, unknown))} "
                f"(configured: {', '.join(known) or 'none'})"
            )
        return [known[n] for n in names]


def default_config() -> Config:
    """The embedded default: dlt's pipelines folder, as dlt resolves it; no source at all while that folder
    does not exist (nothing to collect yet, rather than a stored error)."""
    if not settings.default_pipelines_dir().is_dir():
        return Config(sources=[], path=None)
    source = SourceConfig(
        name=DEFAULT_SOURCE_NAME,
        kind=WORKING_FOLDERS_KIND,
        options={"path": str(settings.default_pipelines_dir())},
        origin="default config",
    )
    return Config(sources=[source], path=None)


def load_config(path: str | Path | None = None) -> Config:
    """Read the config file (explicit, `GLASSPANE_CONFIG`, or ./glasspane.toml), else the default."""
    resolved = settings.config_path(path)
    if resolved is None:
        return default_config()
    try:
        data = tomllib.loads(resolved.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{resolved}: config file not found") from None
    except tomllib.TOMLDecodeError as ex:
        raise ConfigError(f"{resolved}: not valid TOML ({ex})") from None
    return parse_config(data, resolved)


def _refuse_url_credentials(value: Any, where: str) -> None:
    """A ConfigError naming where a URL carries a password in its userinfo; the value is never echoed."""
    if isinstance(value, str) and _URL_CREDENTIAL.search(value):
        raise ConfigError(
            f"{where}: a URL with a credential in it (user:password@) is refused: "
            "put credentials in dlt's secrets (.dlt/secrets.toml or environment variables)"
        )
    items = value.items() if isinstance(value, dict) else enumerate(value, 1) if isinstance(value, list) else ()
    for key, item in items:
        _refuse_url_credentials(item, f"{where} #{key}" if isinstance(key, int) else f"{where} '{key}'")


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate the generic shape of a config: only known top-level keys, `[[sources]]` tables with unique
    `name` and a `kind`, and no credential written into a URL."""
    for key in data:
        if key not in KNOWN_SECTIONS:
            nearest = difflib.get_close_matches(key, KNOWN_SECTIONS, n=1, cutoff=0.0)
            raise ConfigError(
                f"{path}: unknown top-level key or table '{key}' (did you mean '{nearest[0]}'? known: "
                f"{', '.join(KNOWN_SECTIONS)})"
            )
    for section, value in data.items():
        _refuse_url_credentials(value, f"{path}: {section}")
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{path}: 'sources' must be a list of [[sources]] tables")
    sources: list[SourceConfig] = []
    for index, raw in enumerate(raw_sources, start=1):
        origin = f"{path}: [[sources]] #{index}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{origin}: must be a table")
        for key in ("name", "kind"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise ConfigError(f"{origin}: missing required key '{key}'")
        options = {k: _resolve_relative(k, v, path) for k, v in raw.items() if k not in ("name", "kind")}
        sources.append(SourceConfig(raw["name"], raw["kind"], options, str(path)))
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: source names must be unique, repeated: {', '.join(duplicates)}")
    sections = {k: v for k, v in data.items() if k != "sources"}
    return Config(sources=sources, path=path, sections=sections)


def _resolve_relative(key: str, value: Any, config_file: Path) -> Any:
    """Relative paths (`path`, a `bucket_url` without scheme) are relative to the config file."""
    if key not in ("path", "bucket_url") or not isinstance(value, str) or not value or "://" in value:
        return value
    if Path(value).expanduser().is_absolute():
        return value
    return str((config_file.parent / value).resolve())
