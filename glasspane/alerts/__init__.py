"""Alerts: rules evaluated over the pane store after a collect, delivered to Slack.

Building a message is kept apart from sending it: `rule_config` reads the rules from the config,
`reads` and `rules` find what matches, `state` decides what is new (dedupe, suppression, resolves),
`messages` builds Block Kit, `slack` delivers, and `service` runs one evaluation end to end;
`model` holds what passes between them, `alert_log` what the store keeps of them. `backtest` replays
the rules over the stored history.
"""
