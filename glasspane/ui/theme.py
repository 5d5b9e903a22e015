"""The dashboard's colours, shared by charts, graphs and tables (the page theme is in .streamlit/config.toml)."""

STATUS_COLOURS = {"completed": "#16a34a", "failed": "#dc2626", "pending": "#f59e0b"}
HEALTH_COLOURS = {
    "failing": "#fecaca",
    "late": "#fde68a",
    "anomalous": "#fed7aa",
    "never_seen": "#e5e7eb",
    "healthy": "#dcfce7",
}
# A status label's colour in tables, in the health palette: red when it went wrong, amber when waiting.
STATUS_PILLS = {
    "completed": HEALTH_COLOURS["healthy"],
    "ok": HEALTH_COLOURS["healthy"],
    "delivered": HEALTH_COLOURS["healthy"],
    "deleted": HEALTH_COLOURS["healthy"],
    "resolved": HEALTH_COLOURS["healthy"],
    "failed": HEALTH_COLOURS["failing"],
    "error": HEALTH_COLOURS["failing"],
    "rolled_back": HEALTH_COLOURS["failing"],
    "critical": HEALTH_COLOURS["failing"],
    "firing": HEALTH_COLOURS["anomalous"],
    "warning": HEALTH_COLOURS["anomalous"],
    "pending": HEALTH_COLOURS["late"],
    "suppressed": HEALTH_COLOURS["late"],
    "not_sent": HEALTH_COLOURS["never_seen"],
    "not_run": HEALTH_COLOURS["never_seen"],
    "skipped": HEALTH_COLOURS["never_seen"],
    "info": HEALTH_COLOURS["never_seen"],
}
LINE = "#2563eb"  # the theme's primaryColor
BAND = "#bfdbfe"
ANOMALY = "#dc2626"
MUTED = "#64748b"
NEW_NORMAL = "#7c3aed"  # a load where the baseline moved to a new level
