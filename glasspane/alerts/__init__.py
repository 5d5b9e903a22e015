"""Alerts: rules evaluated over the pane store after a collect, delivered to Slack.

Building a message is kept apart from sending it: `rules` finds what matches, `state` decides
what is new (dedupe, suppression, resolves), `messages` builds Block Kit, `slack` delivers, and
`service` runs one evaluation end to end.
"""
