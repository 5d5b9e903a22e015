"""`[[alerts]]` and `[alerting]` in glasspane.toml: defaults, and one clear line for every mistake."""

from __future__ import annotations

import pytest

from glasspane.alerts.rule_config import RULE_KINDS, alert_config
from glasspane.config import Config, ConfigError
from glasspane.health import AnomalyRule
from tests.alerting import alerts_config


def test_without_alert_tables_every_rule_kind_is_on_with_its_default_severity():
    config = alert_config(Config(sources=[], path=None))
    assert config.defaulted
    assert [(r.name, r.rule, r.severity) for r in config.rules] == [
        ("failed", "failed", "critical"),
        ("late", "late", "warning"),
        ("volume", "volume", "warning"),
        ("schema", "schema", "info"),
        ("pii", "pii", "warning"),
    ]
    late = config.rules[1]
    assert (late.factor, late.max_age_s, late.notify_on_resolve, late.suppress_s) == (2.0, None, True, 6 * 3600)
    assert config.settings.dashboard_url == "http://localhost:8501" and config.settings.max_messages == 5


def test_a_configured_rule_keeps_its_scope_parameters_and_durations(tmp_path):
    config = alerts_config(
        tmp_path,
        """
[alerting]
dashboard_url = "https://glasspane.example.com/"
max_messages = 3

[[alerts]]
name = "crm_late"
rule = "late"
pipelines = ["crm_sync"]
max_age = "26h"
severity = "critical"
suppress = "30m"

[[alerts]]
rule = "volume"
tables = ["orders"]
z_threshold = 4
min_relative_change = 0.5
notify_on_resolve = false
""",
        fast=False,
    )
    late, volume = config.rules
    assert (late.name, late.pipelines, late.max_age_s, late.severity, late.suppress_s) == (
        "crm_late",
        ("crm_sync",),
        26 * 3600,
        "critical",
        1800,
    )
    assert volume.name == "volume" and volume.tables == ("orders",) and not volume.notify_on_resolve
    assert volume.anomaly == AnomalyRule(z_threshold=4.0, min_relative_change=0.5)
    assert config.settings.dashboard_url == "https://glasspane.example.com" and config.settings.max_messages == 3
    assert "No successful load for 26 h" in late.describe() and "pipelines crm_sync" in late.describe()


@pytest.mark.parametrize("kind", RULE_KINDS)
def test_every_rule_kind_can_be_scoped_to_tables(tmp_path, kind):
    [rule] = alerts_config(tmp_path, f'[[alerts]]\nrule = "{kind}"\ntables = ["orders", "users"]\n').rules
    assert rule.tables == ("orders", "users") and "(only tables orders, users)" in rule.describe()


def test_an_empty_alerts_list_turns_alerting_off(tmp_path):
    assert alerts_config(tmp_path, "alerts = []\n").rules == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[alerts]]\nrule = "slow"\n', "[[alerts]] #1: key 'rule': must be one of failed, late, volume, schema, pii"),
        (
            '[[alerts]]\nname = "x"\n',
            "[[alerts]] #1: key 'rule': must be one of failed, late, volume, schema, pii (missing)",
        ),
        ('[[alerts]]\nrule = "late"\nseverity = "loud"\n', "rule 'late': key 'severity': must be one of critical"),
        ('[[alerts]]\nrule = "late"\nmax_age = "soon"\n', "rule 'late': key 'max_age': must be a duration like"),
        ('[[alerts]]\nrule = "late"\nfactor = 0.5\n', "rule 'late': key 'factor': must be a number ≥ 1 (got 0.5)"),
        ('[[alerts]]\nrule = "failed"\nfactor = 3\n', "rule 'failed': unknown key 'factor' for rule 'failed'"),
        ('[[alerts]]\nrule = "failed"\ntables = "orders"\nmax_age = "1h"\n', "unknown key 'max_age' for rule 'failed'"),
        ('[[alerts]]\nrule = "late"\ntables = []\n', "rule 'late': key 'tables': must be a list of names"),
        ('[[alerts]]\nrule = "volume"\nmin_history = 2.5\n', "rule 'volume': key 'min_history': must be a whole"),
        ('[[alerts]]\nrule = "pii"\npipelines = []\n', "rule 'pii': key 'pipelines': must be a list of names"),
        ('[[alerts]]\nrule = "late"\n[[alerts]]\nrule = "late"\n', "rule names must be unique, repeated: late"),
        ("[alerts]\nmax = 1\n", "'alerts' must be a list of [[alerts]] tables"),
        ('[alerting]\ndashboard_url = "localhost"\n', "[alerting]: key 'dashboard_url': must be an http(s) URL"),
        ("[alerting]\nmax_mesages = 3\n", "[alerting]: unknown key 'max_mesages'"),
    ],
)
def test_each_mistake_is_one_line_naming_the_file_the_rule_and_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as raised:
        alerts_config(tmp_path, text, fast=False)
    error = str(raised.value)
    assert error.startswith(f"{tmp_path / 'glasspane.toml'}: ")
    assert message in error and "\n" not in error


@pytest.mark.parametrize("section", ["[alerting]", '[[alerts]]\nrule = "failed"'])
def test_a_webhook_in_glasspane_toml_is_refused_without_repeating_it(tmp_path, section):
    hook = "https://hooks.slack.com/services/T000/B000/committed-secret"
    with pytest.raises(ConfigError) as raised:
        alerts_config(tmp_path, f'{section}\nslack_webhook = "{hook}"\n', fast=False)
    assert "secrets never go in glasspane.toml" in str(raised.value)
    assert "RUNTIME__SLACK_INCOMING_HOOK" in str(raised.value)
    assert "committed-secret" not in str(raised.value)


def test_every_rule_kind_can_be_configured_with_only_its_name(tmp_path):
    text = "".join(f'[[alerts]]\nrule = "{kind}"\n' for kind in RULE_KINDS)
    assert [r.rule for r in alerts_config(tmp_path, text).rules] == list(RULE_KINDS)
