"""The dashboard's colours, shared by charts, graphs and tables (the page theme is in .streamlit/config.toml)."""

STATUS_COLOURS = {"completed": "#16a34a", "failed": "#dc2626", "pending": "#f59e0b"}
HEALTH_COLOURS = {
    "failing": "#fecaca", "late": "#fde68a", "anomalous": "#fed7aa", "never_seen": "#e5e7eb", "healthy": "#dcfce7",
}  # fmt: skip
LINE = "#2563eb"  # the theme's primaryColor
BAND = "#bfdbfe"
ANOMALY = "#dc2626"
MUTED = "#64748b"
NEW_NORMAL = "#7c3aed"  # a load where the baseline moved to a new level
