"""Alert rules (`[[alerts]]` tables) and delivery settings (`[alerting]`) from `glasspane.toml`.

Every mistake is one line naming the file, the rule and the key. Secrets (the Slack webhook,
a bot token) are refused here: they come from dlt's config (`.dlt/secrets.toml` or environment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from glasspane.config import Config, ConfigError
from glasspane.health import LATE_FACTOR, AnomalyRule

RULE_KINDS = ("failed", "late", "volume", "schema", "pii")
STATEFUL_KINDS = ("failed", "late", "volume")  # a subject matches or not; it fires, then resolves
SEVERITIES = ("critical", "warning", "info")
# Sensible defaults per rule kind: also the rules in force when glasspane.toml has no [[alerts]].
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "failed": {"severity": "critical", "suppress_s": 3600.0, "notify_on_resolve": True},
    "late": {"severity": "warning", "suppress_s": 6 * 3600.0, "notify_on_resolve": True},
    "volume": {"severity": "warning", "suppress_s": 6 * 3600.0, "notify_on_resolve": True},
    "schema": {"severity": "info", "suppress_s": 0.0, "notify_on_resolve": False},
    "pii": {"severity": "warning", "suppress_s": 0.0, "notify_on_resolve": False},
}
_COMMON_KEYS = ("name", "rule", "severity", "sources", "pipelines", "tables", "suppress")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "failed": ("notify_on_resolve",),
    "late": ("notify_on_resolve", "factor", "max_age"),
    "volume": ("notify_on_resolve", "window_days", "z_threshold", "min_relative_change", "min_history"),
    "schema": (),
    "pii": (),
}
_SETTING_KEYS = (
    "dashboard_url",
    "slack_channel",
    "max_messages",
    "timeout_s",
    "max_attempts",
    "backoff_s",
    "delivery_budget_s",
    "redeliver_within",
)
_SECRET_WORDS = ("webhook", "hook", "token", "secret", "password")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNIT_S = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
DEFAULT_DASHBOARD_URL = "http://localhost:8501"


@dataclass(frozen=True)
class AlertRule:
    """One configured rule: what it checks, where, how loud, and how often it may speak."""

    name: str
    rule: str
    severity: str
    sources: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    suppress_s: float = 0.0
    notify_on_resolve: bool = False
    factor: float = LATE_FACTOR
    max_age_s: float | None = None
    anomaly: AnomalyRule = AnomalyRule()

    @property
    def stateful(self) -> bool:
        """True for rules whose subjects start and stop matching (and so can resolve)."""
        return self.rule in STATEFUL_KINDS

    def describe(self) -> str:
        """The rule's condition and scope in one line, for people."""
        if self.rule == "late":
            condition = (
                f"No successful load for {duration_text(self.max_age_s)}"
                if self.max_age_s is not None
                else f"No successful load for {self.factor:g} × the pipeline's learned cadence"
            )
        elif self.rule == "volume":
            a = self.anomaly
            condition = (
                f"Rows per load outside median ± max({a.z_threshold:g} robust z, "
                f"{a.min_relative_change:.0%}) over {a.window_days} days; zero rows always"
            )
        else:
            condition = {
                "failed": "The newest run of a pipeline failed",
                "schema": "Tables or columns added, removed or retyped",
                "pii": "A new column with a PII hint, or a new suspected-PII column without one",
            }[self.rule]
        scoped = (("sources", self.sources), ("pipelines", self.pipelines), ("tables", self.tables))
        scope = [f"{key} {', '.join(values)}" for key, values in scoped if values]
        return condition + (f" (only {'; '.join(scope)})" if scope else "")


@dataclass(frozen=True)
class AlertSettings:
    """How alerts are delivered: dashboard links, Slack channel, storm limit, retries."""

    dashboard_url: str = DEFAULT_DASHBOARD_URL
    slack_channel: str | None = None  # with a bot token (`[alerts] slack_bot_token` in secrets)
    max_messages: int = 5  # more alerts than this in one evaluation are sent as one summary
    timeout_s: float = 10.0  # one HTTP request
    max_attempts: int = 4  # per message, within the budget
    backoff_s: float = 1.0  # first wait before a retry; doubles each time
    delivery_budget_s: float = 60.0  # all sending of one evaluation, retries included
    redeliver_within_s: float = 24 * 3600.0  # failed deliveries are re-sent by later evaluations this long


@dataclass(frozen=True)
class AlertConfig:
    """The rules in force and the delivery settings."""

    rules: tuple[AlertRule, ...]
    settings: AlertSettings = field(default_factory=AlertSettings)
    defaulted: bool = False  # True when glasspane.toml has no [[alerts]]: the default rules apply


def default_rules() -> tuple[AlertRule, ...]:
    """One rule of each kind with its defaults, everywhere."""
    return tuple(AlertRule(name=kind, rule=kind, **KIND_DEFAULTS[kind]) for kind in RULE_KINDS)


def duration_text(seconds: float | None) -> str:
    """90 → '90 s', 3600 → '1 h', 5400 → '90 min', 93600 → '26 h', 259200 → '3 d'."""
    if seconds is None:
        return "—"
    units = (("d", 86400), ("h", 3600), ("min", 60))
    unit, size = next(((u, n) for u, n in units if seconds >= 2 * n or (seconds >= n and seconds % n == 0)), ("s", 1))
    return f"{seconds / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"


def alert_config(config: Config) -> AlertConfig:
    """Validate the alert sections of a config; the defaults when it has no `[[alerts]]`."""
    origin = str(config.path or "default config")
    sections = config.sections
    settings = _settings(sections.get("alerting", {}), origin)
    if "alerts" not in sections:
        return AlertConfig(default_rules(), settings, defaulted=True)
    raw_rules = sections["alerts"]
    if not isinstance(raw_rules, list):
        raise ConfigError(
            f"{origin}: 'alerts' must be a list of [[alerts]] tables (delivery settings go in [alerting], "
            "the Slack webhook in .dlt/secrets.toml)"
        )
    rules = [_rule(raw, f"{origin}: [[alerts]] #{i}", origin) for i, raw in enumerate(raw_rules, start=1)]
    names = [r.name for r in rules]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"{origin}: [[alerts]]: rule names must be unique, repeated: {', '.join(repeated)} "
            "(give each rule a 'name')"
        )
    return AlertConfig(tuple(rules), settings)


def _refuse_secrets(table: dict[str, Any], where: str) -> None:
    for key in table:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ConfigError(
                f"{where}: key '{key}': secrets never go in glasspane.toml; set RUNTIME__SLACK_INCOMING_HOOK "
                "or [alerts] slack_webhook / slack_bot_token in .dlt/secrets.toml"
            )


def _rule(raw: Any, where: str, origin: str) -> AlertRule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    _refuse_secrets(raw, where)
    kind = raw.get("rule")
    if kind not in RULE_KINDS:
        got = f"got {kind!r}" if kind is not None else "missing"
        raise ConfigError(f"{where}: key 'rule': must be one of {', '.join(RULE_KINDS)} ({got})")
    name = raw.get("name", kind)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: key 'name': must be a non-empty string")
    where = f"{origin}: [[alerts]] rule '{name}'"
    known = _COMMON_KEYS + _KIND_KEYS[kind]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {', '.join(map(repr, unknown))} for rule '{kind}' "
            f"(known: {', '.join(sorted(known))})"
        )
    values: dict[str, Any] = dict(KIND_DEFAULTS[kind])
    if "severity" in raw:
        if raw["severity"] not in SEVERITIES:
            raise ConfigError(
                f"{where}: key 'severity': must be one of {', '.join(SEVERITIES)} (got {raw['severity']!r})"
            )
        values["severity"] = raw["severity"]
    for key in ("sources", "pipelines", "tables"):
        if key in raw:
            values[key] = _names(raw[key], where, key)
    if "suppress" in raw:
        values["suppress_s"] = _duration(raw["suppress"], where, "suppress")
    if "notify_on_resolve" in raw:
        if not isinstance(raw["notify_on_resolve"], bool):
            raise ConfigError(f"{where}: key 'notify_on_resolve': must be true or false")
        values["notify_on_resolve"] = raw["notify_on_resolve"]
    if "factor" in raw:
        values["factor"] = _number(raw["factor"], where, "factor", minimum=1.0)
    if "max_age" in raw:
        values["max_age_s"] = _duration(raw["max_age"], where, "max_age", positive=True)
    if kind == "volume":
        defaults = AnomalyRule()
        values["anomaly"] = AnomalyRule(
            window_days=int(_number(raw.get("window_days", defaults.window_days), where, "window_days", 1, True)),
            z_threshold=_number(raw.get("z_threshold", defaults.z_threshold), where, "z_threshold", 0.1),
            min_relative_change=_number(
                raw.get("min_relative_change", defaults.min_relative_change), where, "min_relative_change", 0.0
            ),
            min_history=int(_number(raw.get("min_history", defaults.min_history), where, "min_history", 1, True)),
        )
    return AlertRule(name=name, rule=kind, **values)


def _names(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f'{where}: key \'{key}\': must be a list of names, e.g. {key} = ["a", "b"]')
    return tuple(value)


def _number(value: Any, where: str, key: str, minimum: float, integer: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum
    if ok and integer:
        ok = float(value).is_integer()
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{where}: key '{key}': must be {kind} ≥ {minimum:g} (got {value!r})")
    return float(value)


def _duration(value: Any, where: str, key: str, positive: bool = False) -> float:
    """Seconds from a number or text like '90s', '15m', '2h', '1d'."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value.lower())):
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds is None or seconds < 0 or (positive and seconds == 0):
        raise ConfigError(
            f'{where}: key \'{key}\': must be a duration like "90s", "15m", "2h", "1d" or seconds (got {value!r})'
        )
    return seconds


def _settings(raw: Any, origin: str) -> AlertSettings:
    where = f"{origin}: [alerting]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    _refuse_secrets(raw, where)
    unknown = sorted(set(raw) - set(_SETTING_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(map(repr, unknown))} (known: {', '.join(_SETTING_KEYS)})")
    values: dict[str, Any] = {}
    if "dashboard_url" in raw:
        url = raw["dashboard_url"]
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(f"{where}: key 'dashboard_url': must be an http(s) URL (got {url!r})")
        values["dashboard_url"] = url.rstrip("/")
    if "slack_channel" in raw:
        if not isinstance(raw["slack_channel"], str) or not raw["slack_channel"].strip():
            raise ConfigError(f"{where}: key 'slack_channel': must be a channel name or id, e.g. \"#data-alerts\"")
        values["slack_channel"] = raw["slack_channel"]
    if "max_messages" in raw:
        values["max_messages"] = int(_number(raw["max_messages"], where, "max_messages", 1, True))
    if "max_attempts" in raw:
        values["max_attempts"] = int(_number(raw["max_attempts"], where, "max_attempts", 1, True))
    for key in ("timeout_s", "backoff_s", "delivery_budget_s"):
        if key in raw:
            values[key] = _number(raw[key], where, key, 0.0)
    if "redeliver_within" in raw:
        values["redeliver_within_s"] = _duration(raw["redeliver_within"], where, "redeliver_within")
    return AlertSettings(**values)
