"""What an evaluation did, for a terminal: one line per message, held alert, failed delivery and error."""

from __future__ import annotations

import html
import json

from glasspane.alerts.model import PENDING
from glasspane.alerts.service import EvaluationReport


def format_report(report: EvaluationReport, as_json: bool = False) -> str:
    """Lines for `python -m collectors alerts` and `collect --alert`; with `as_json`, the payloads too."""
    sent = sum(d.delivered for d in report.deliveries)
    head = f"alerts: {report.rules} rules evaluated, {len(report.alerts)} new alerts, {len(report.messages)} messages"
    if report.dry_run:
        head += " (dry run: nothing sent, nothing stored)"
    elif report.messages:
        head += f", {sent} delivered via {report.destination}"
    elif report.destination is None and report.alerts:
        head += " (no Slack destination configured: stored only)"
    lines = [head]
    outcomes = {d.message_id: d for d in report.deliveries}
    for message in report.messages:
        delivery = outcomes.get(message.message_id)
        text = html.unescape(message.text)
        if report.dry_run:
            lines.append(f"would send: {text}")
        elif delivery is not None and delivery.delivered:
            lines.append(f"sent: {text}")
        elif delivery is not None:
            again = "; it will be sent again at the next evaluation" if delivery.redeliver else ""
            lines.append(f"not delivered: {text} ({delivery.error}{again})")
        if as_json:
            lines.append(json.dumps(message.payload, ensure_ascii=False))
    for alert in report.alerts:
        if alert.delivery != PENDING:
            lines.append(f"held: {alert.rule_name}: {alert.title} ({alert.delivery}: {alert.delivery_error})")
    lines += [f"error: {error}" for error in report.errors]
    return "\n".join(lines)
