"""Slack messages from alerts, built apart from sending them: Block Kit with a plain-text fallback.

One alert: a header with severity and rule, the title, the facts as fields, a button linking to
the exact dashboard view. More alerts in one evaluation than `max_messages`: one summary message.
Blocks are built with slack-sdk's models, which check Slack's limits.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from glasspane.alerts.model import RESOLVED, Alert
from glasspane.alerts.rule_config import SEVERITIES
from glasspane.links import link

ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵", RESOLVED: "✅"}
HEADER_MAX = 150  # Slack's limits
TEXT_MAX = 3000
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
SUMMARY_LINES = 20


@dataclass(frozen=True)
class Message:
    """One Slack message and the alerts it carries."""

    message_id: str
    alert_ids: tuple[str, ...]
    text: str  # the plain-text fallback: notifications, screen readers, `--dry-run`
    blocks: tuple[dict[str, Any], ...]

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON body for a webhook or `chat.postMessage`."""
        return {"text": self.text, "blocks": list(self.blocks)}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: names like `<!channel>` are shown, never acted on."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(alert: Alert) -> str:
    if alert.state == RESOLVED:
        return f"{ICONS[RESOLVED]} Resolved"
    return f"{ICONS.get(alert.severity, '')} {alert.severity.capitalize()}"


def _blocks(blocks: list[Block]) -> tuple[dict[str, Any], ...]:
    for block in blocks:
        block.validate_json()
    return tuple(block.to_dict() for block in blocks)


def _button(url: str, text: str) -> ActionsBlock:
    return ActionsBlock(elements=[ButtonElement(text=text, url=url, action_id="open_glasspane", style="primary")])


def _volume_buttons(alert: Alert) -> ActionsBlock:
    """Open, plus "Expected" and "New normal": links to the Trends view that ask to mark the load."""
    separator = "&" if "?" in alert.link else "?"
    return ActionsBlock(
        elements=[
            ButtonElement(text="Open in Glasspane", url=alert.link, action_id="open_glasspane", style="primary"),
            ButtonElement(text="Expected", url=f"{alert.link}{separator}mark=expected", action_id="mark_expected"),
            ButtonElement(
                text="New normal", url=f"{alert.link}{separator}mark=new+normal", action_id="mark_new_normal"
            ),
        ]
    )


def alert_message(alert: Alert) -> Message:
    """The message for one alert."""
    header = _cut(f"{_label(alert)} · {alert.rule_name}: {alert.subject}", HEADER_MAX)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=header, emoji=True)),
        SectionBlock(text=MarkdownTextObject(text=_cut(f"*{escape(alert.title)}*", TEXT_MAX))),
    ]
    if alert.detail:
        detail = f"```{escape(alert.detail)}```" if alert.rule == "failed" else escape(alert.detail)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_cut(detail, TEXT_MAX))))
    fields = [
        MarkdownTextObject(text=_cut(f"*{escape(label)}*\n{escape(value)}", FIELD_MAX)) for label, value in alert.facts
    ]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        blocks.append(SectionBlock(fields=fields[start : start + FIELDS_PER_SECTION]))
    if alert.link and alert.rule == "volume" and alert.state != RESOLVED and "load=" in alert.link:
        blocks.append(_volume_buttons(alert))
    elif alert.link:
        blocks.append(_button(alert.link, "Open in Glasspane"))
    kind = f" ({alert.rule})" if alert.rule != alert.rule_name else ""
    context = f"Glasspane · rule `{escape(alert.rule_name)}`{kind} · {alert.alerted_at:%Y-%m-%d %H:%M} UTC"
    if alert.attempts:
        context += " · sent again: an earlier delivery failed"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    state = "RESOLVED" if alert.state == RESOLVED else alert.severity.upper()
    text = f"[{state}] {alert.rule_name}: {alert.title}" + (f" — {alert.link}" if alert.link else "")
    return Message(uuid.uuid4().hex, (alert.alert_id,), escape(text), _blocks(blocks))


def summary_message(alerts: list[Alert], base_url: str, evaluation_id: str) -> Message:
    """One message for many alerts: counts per rule, the first alerts with links, one button for all."""
    firing = [a for a in alerts if a.state != RESOLVED]
    worst = next((s for s in SEVERITIES if any(a.severity == s for a in firing)), RESOLVED)
    counts = Counter(a.rule_name for a in firing)
    resolved = len(alerts) - len(firing)
    parts = [f"{n} {rule}" for rule, n in counts.most_common()] + ([f"{resolved} resolved"] if resolved else [])
    header = f"{ICONS[worst]} {len(alerts)} alerts from Glasspane"
    lines, used = [], 0
    ordered = sorted(alerts, key=lambda a: (a.state == RESOLVED, SEVERITIES.index(a.severity), a.rule_name))
    for alert in ordered[:SUMMARY_LINES]:
        icon = ICONS[RESOLVED] if alert.state == RESOLVED else ICONS.get(alert.severity, "")
        subject = f"<{alert.link}|{escape(alert.subject)}>" if alert.link else escape(alert.subject)
        line = _cut(f"{icon} *{escape(alert.rule_name)}* {subject}: {escape(alert.title)}", 300)
        if used + len(line) + 60 > TEXT_MAX:
            break
        lines.append(line)
        used += len(line) + 1
    if len(lines) < len(alerts):
        lines.append(f"… and {len(alerts) - len(lines)} more")
    everything = link("alerts", base_url, evaluation=evaluation_id)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=header, emoji=True)),
        SectionBlock(text=MarkdownTextObject(text=f"*{' · '.join(parts)}*")),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        _button(everything, "Open these alerts in Glasspane"),
        ContextBlock(elements=[MarkdownTextObject(text="Glasspane · more alerts than one message each: one summary")]),
    ]
    text = f"{len(alerts)} alerts from Glasspane: {', '.join(parts)} — {everything}"
    return Message(uuid.uuid4().hex, tuple(a.alert_id for a in alerts), escape(text), _blocks(blocks))


def plan_messages(alerts: list[Alert], max_messages: int, base_url: str, evaluation_id: str) -> list[Message]:
    """One message per alert, or one summary when there are more than `max_messages`."""
    if len(alerts) > max_messages:
        return [summary_message(alerts, base_url, evaluation_id)]
    return [alert_message(a) for a in alerts]
