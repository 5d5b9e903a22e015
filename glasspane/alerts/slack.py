"""Delivering messages to Slack with slack-sdk: an incoming webhook, or a bot token and a channel.

The webhook comes from dlt's own config key `runtime.slack_incoming_hook`
(`RUNTIME__SLACK_INCOMING_HOOK`) or `[alerts] slack_webhook` in `.dlt/secrets.toml`; a bot token
from `[alerts] slack_bot_token`. Neither is ever logged, stored or shown: errors are redacted and
slack-sdk's own request logging is silenced. A 429 (honouring Retry-After), a 5xx or a connection
error is retried with doubling waits, all within one time budget per evaluation, so a collect is
never blocked for long; what could not be sent is recorded with its reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from glasspane.alerts.messages import Message
from glasspane.alerts.model import DeliveryRecord
from glasspane.alerts.rule_config import AlertSettings
from glasspane.dlt_config import resolve_configuration, secret
from glasspane.dlt_meta import redact_line

SLACK_API_URL = "https://slack.com/api/"
# slack-sdk logs request URLs (the webhook is a secret) at debug level: give it a logger that never speaks.
_SDK_LOGGER = logging.getLogger("glasspane.alerts.slack_sdk")
_SDK_LOGGER.setLevel(logging.CRITICAL + 1)
_SDK_LOGGER.disabled = True


@dataclass(frozen=True)
class SlackDestination:
    """Where messages go. `describe()` is safe to print; the fields are secrets."""

    webhook: str | None = None
    token: str | None = None
    channel: str | None = None
    api_url: str = SLACK_API_URL

    def describe(self) -> str:
        """'webhook' or 'bot token → #channel': never the secret itself."""
        return f"bot token → {self.channel}" if self.token else "webhook"

    def secrets(self) -> list[str]:
        """The values that must never appear in an error, a log or the store (a webhook's path too)."""
        path = urlsplit(self.webhook).path if self.webhook else ""
        return [s for s in (self.webhook, self.token, path if len(path) > 1 else None) if s]


def resolve_destination(settings: AlertSettings) -> SlackDestination | None:
    """The Slack destination from dlt's config resolution; None when none is configured.

    A bot token (`[alerts] slack_bot_token`) is used when `[alerting] slack_channel` is set;
    otherwise the incoming webhook: dlt's `runtime.slack_incoming_hook`, else `[alerts] slack_webhook`.
    """
    from dlt.common.configuration.specs import RuntimeConfiguration

    token = secret("alerts.slack_bot_token")
    if token and settings.slack_channel:
        return SlackDestination(token=str(token), channel=settings.slack_channel)
    webhook = resolve_configuration(RuntimeConfiguration()).slack_incoming_hook or secret("alerts.slack_webhook")
    return SlackDestination(webhook=str(webhook)) if webhook else None


@dataclass(frozen=True)
class _Answer:
    ok: bool
    status: int | None  # None: no HTTP answer (connection refused, timeout)
    retry_after: float | None
    error: str | None


class SlackSender:
    """Sends messages to one destination within a time budget, retrying what is worth retrying."""

    def __init__(
        self,
        destination: SlackDestination,
        settings: AlertSettings,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.destination = destination
        self.settings = settings
        self.sleep = sleep
        self.clock = clock

    def send_all(self, messages: list[Message]) -> list[DeliveryRecord]:
        """Send each message; one record per message, in order."""
        deadline = self.clock() + self.settings.delivery_budget_s
        return [self._send(message, deadline) for message in messages]

    def _send(self, message: Message, deadline: float) -> DeliveryRecord:
        attempts, wait = 0, self.settings.backoff_s

        def record(ok: bool, error: str | None = None, redeliver: bool = False) -> DeliveryRecord:
            return DeliveryRecord(
                message.message_id,
                message.alert_ids,
                ok,
                self._clean(error),
                attempts,
                dt.datetime.now(dt.UTC),
                redeliver,
            )

        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                budget = self.settings.delivery_budget_s
                return record(False, f"not sent: the delivery time budget ({budget:g} s) was used up", True)
            attempts += 1
            answer = self._post(message, min(self.settings.timeout_s, remaining))
            if answer.ok:
                return record(True)
            if answer.status is not None and answer.status != 429 and answer.status < 500:
                return record(False, answer.error)  # refused for good (a revoked webhook, a bad channel)
            pause = answer.retry_after if answer.retry_after is not None else wait
            wait *= 2
            if attempts >= self.settings.max_attempts:
                tries = f"{attempts} attempt" + ("s" if attempts > 1 else "")
                return record(False, f"{answer.error} (gave up after {tries})", True)
            if self.clock() + pause > deadline:
                return record(
                    False, f"{answer.error} (a retry in {pause:g} s would pass the delivery time budget)", True
                )
            self.sleep(pause)

    def _post(self, message: Message, timeout: float) -> _Answer:
        try:
            if self.destination.token:
                client = WebClient(
                    token=self.destination.token,
                    base_url=self.destination.api_url,
                    timeout=timeout,
                    logger=_SDK_LOGGER,
                    retry_handlers=[],
                )
                client.chat_postMessage(channel=self.destination.channel, text=message.text, blocks=message.blocks)
                return _Answer(True, 200, None, None)
            hook = WebhookClient(self.destination.webhook, timeout=timeout, logger=_SDK_LOGGER, retry_handlers=[])
            response = hook.send_dict(message.payload)
        except SlackApiError as ex:
            response = ex.response
            error = response.get("error") if isinstance(response.data, dict) else None
            return _Answer(
                False,
                response.status_code,
                _retry_after(response.headers),
                f"HTTP {response.status_code}: {error or _first(response.data)}",
            )
        except Exception as ex:  # no answer: refused, timed out, DNS
            return _Answer(False, None, None, f"no answer from Slack: {type(ex).__name__}: {_first(ex)}")
        if 200 <= response.status_code < 300:
            return _Answer(True, response.status_code, None, None)
        return _Answer(
            False,
            response.status_code,
            _retry_after(response.headers),
            f"HTTP {response.status_code}: {_first(response.body)}",
        )

    def _clean(self, error: str | None) -> str | None:
        if error is None:
            return None
        for value in self.destination.secrets():
            error = error.replace(value, "***")
        return redact_line(error, limit=300)


def _retry_after(headers: dict | None) -> float | None:
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _first(value: object) -> str:
    text = str(value or "").strip()
    return (text.splitlines()[0] if text else "no details")[:200]
