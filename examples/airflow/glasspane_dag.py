"""An Airflow DAG: one task per source group collects into the shared (scaled) pane store, then one
task evaluates the alert rules. Copy it into your DAGs folder beside a Glasspane checkout.

The store and its credentials come from the environment of the workers (GLASSPANE_STORE,
PGPASSWORD, AWS_*), never from this file. Groups collect at the same time: their writes to the
store are retried when they collide.
"""

from __future__ import annotations

import datetime as dt

from airflow import DAG
from airflow.operators.bash import BashOperator

GLASSPANE = "/opt/glasspane"  # the checkout, with its .venv
SOURCE_GROUPS = {  # task name -> [[sources]] names in glasspane.toml
    "gcp": ["gcp_projects_a", "gcp_projects_b"],
    "aws": ["aws_buckets"],
    "on_prem": ["gateway_machine", "warehouse"],
}


def collect_command(sources: list[str]) -> str:
    """The shell command that collects these sources."""
    return f"cd {GLASSPANE} && .venv/bin/python -m collectors collect --quiet --source {' '.join(sources)}"


with DAG(
    "glasspane",
    schedule="17 * * * *",
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
) as dag:
    alerts = BashOperator(
        task_id="alerts",
        bash_command=f"cd {GLASSPANE} && .venv/bin/python -m collectors alerts",
        trigger_rule="all_done",  # one group's broken source never silences the others' alerts
    )
    for name, sources in SOURCE_GROUPS.items():
        BashOperator(task_id=f"collect_{name}", bash_command=collect_command(sources)) >> alerts
