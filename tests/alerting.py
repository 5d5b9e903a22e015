"""Helpers for the alert tests: configs as a user writes them, and evaluations as the CLI runs them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from slack_sdk.models.blocks import Block

from glasspane.alerts.rule_config import AlertConfig, alert_config
from glasspane.alerts.service import EvaluationReport, evaluate
from glasspane.alerts.slack import resolve_destination
from glasspane.config import parse_config
from glasspane.store import Store

# Short waits so retry tests stay fast; everything else is the shipped default.
FAST_DELIVERY = "[alerting]\nbackoff_s = 0.05\ntimeout_s = 5\ndelivery_budget_s = 20\n"


def alerts_config(tmp_path: Path, text: str = "", fast: bool = True) -> AlertConfig:
    """The alert config of a `glasspane.toml` with this text (plus fast retries)."""
    path = tmp_path / "glasspane.toml"
    path.write_text(text + ("\n" + FAST_DELIVERY if fast else ""))
    return alert_config(parse_config(tomllib.loads(path.read_text()), path))


def evaluate_now(store: Store, config: AlertConfig) -> EvaluationReport:
    """One evaluation with the destination dlt's config resolution finds, as `collect --alert` runs it."""
    return evaluate(store, config, resolve_destination(config.settings))


def block_kit(message: dict) -> list[Block]:
    """The message's blocks, checked by slack-sdk's Block Kit models (types, fields and Slack's limits)."""
    assert message["text"].strip()  # the plain-text fallback
    blocks = [Block.parse(b) for b in message["blocks"]]
    assert None not in blocks and 0 < len(blocks) <= 50
    for block in blocks:
        block.validate_json()
    assert [b.to_dict() for b in blocks] == message["blocks"]  # nothing Block Kit does not know
    return blocks
