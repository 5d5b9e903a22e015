"""Building messages on their own: hostile names stay text, long lists stay inside Slack's limits."""

from __future__ import annotations

import datetime as dt

from glasspane.alerts.messages import alert_message, plan_messages
from glasspane.alerts.model import RESOLVED, Finding
from glasspane.alerts.rule_config import AlertRule
from glasspane.alerts.state import new_alert
from tests.alerting import block_kit

NOW = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
FAILED = AlertRule(name="failed", rule="failed", severity="critical")


def alert(subject: str, title: str, detail: str | None = None, state: str = "firing"):
    finding = Finding(
        "k-" + subject,
        subject,
        True,
        title,
        (("Pipeline", subject),),
        detail,
        f"http://localhost:8501/runs?pipeline={subject}",
    )
    return new_alert(FAILED, finding, state, NOW, "e1")


def mrkdwn_texts(message: dict) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        for part in [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]:
            if part.get("type") == "mrkdwn":
                texts.append(part["text"])
    return texts


def test_names_that_look_like_slack_commands_are_shown_not_acted_on():
    hostile = alert("<!channel>", "<!here> failed & <https://evil.example|click>", detail="<@U123> broke it")
    message = alert_message(hostile).payload
    block_kit(message)
    assert message["blocks"][0]["text"]["text"] == "🔴 Critical · failed: <!channel>"  # plain text: never a mention
    for text in mrkdwn_texts(message):
        assert "<!" not in text and "<@" not in text and "<https://evil" not in text
    assert "&lt;!here&gt; failed &amp; &lt;https://evil.example|click&gt;" in message["blocks"][1]["text"]["text"]


def test_a_long_error_and_a_big_storm_stay_inside_slacks_limits():
    long = alert("crm", "crm failed in the load step " + "x" * 4000, detail="E" * 5000)
    block_kit(alert_message(long).payload)  # header, section and field limits hold
    storm = [alert(f"pipeline_{i:03}", f"pipeline_{i:03} failed in the extract step: " + "y" * 200) for i in range(200)]
    storm.append(alert("crm", "crm ran without failing again", state=RESOLVED))
    [summary] = plan_messages(storm, 5, "http://localhost:8501", "e1")
    payload = summary.payload
    block_kit(payload)
    assert len(summary.alert_ids) == 201
    assert payload["blocks"][1]["text"]["text"] == "*200 failed · 1 resolved*"
    listed = payload["blocks"][2]["text"]["text"]
    assert len(listed) <= 3000 and listed.splitlines()[-1].startswith("… and ")
    assert "<http://localhost:8501/runs?pipeline=pipeline_000|pipeline_000>" in listed
