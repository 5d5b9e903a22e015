"""The Locations page's graph as Graphviz DOT: where each pipeline runs → the pipeline → the datasets it
loads, grouped by the location they live in; pipelines coloured by health."""

from __future__ import annotations

import pandas as pd

from glasspane.ui.dot import quote
from glasspane.ui.theme import HEALTH_COLOURS

HEALTH_ORDER = {"failing": 0, "late": 1, "anomalous": 2, "never_seen": 3}
MAX_PIPELINES = 60  # more would not be readable: the page narrows by location instead


def to_dot(flows: pd.DataFrame, max_pipelines: int = MAX_PIPELINES) -> tuple[str, int]:
    """The DOT text of `flows` (from `queries.locations.location_flows`), and how many pipelines were left out.

    Failing, late and anomalous pipelines are drawn first when not all fit.
    """
    order = flows["health"].map(HEALTH_ORDER).fillna(len(HEALTH_ORDER))
    shown = flows.assign(_order=order).sort_values(["_order", "location", "pipeline_name"]).head(max_pipelines)
    lines = [
        "digraph flows {",
        "  rankdir=LR; nodesep=0.2; ranksep=0.7;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="sans-serif", fontsize=11];',
        '  edge [color="#94a3b8"];',
    ]
    runners = {runner: f"r{i}" for i, runner in enumerate(dict.fromkeys(shown["runs_in"]))}
    machines = set(shown.loc[shown["runs_in_machine"], "runs_in"])
    for runner, node in runners.items():
        shape = "shape=component" if runner in machines else "shape=oval"
        lines.append(f'  {node} [{shape}, fillcolor="#f1f5f9", label={quote(runner)}];')
    pipelines: dict[tuple[str, str], str] = {}
    for row in shown.itertuples():
        key = (row.runs_in, row.pipeline_name)
        if key not in pipelines:
            pipelines[key] = f"p{len(pipelines)}"
            colour = HEALTH_COLOURS.get(row.health, "white")
            label = quote(f"{row.pipeline_name}\n{row.health}")
            lines.append(f'  {pipelines[key]} [fillcolor="{colour}", label={label}];')
    datasets: dict[tuple[str, str], str] = {}
    for index, (location, group) in enumerate(shown.groupby("location", sort=True)):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f'    label={quote(location)}; style="rounded,filled"; fillcolor="#eff6ff"; color="#93c5fd";')
        for dataset in dict.fromkeys(group["dataset_name"]):
            datasets[(location, dataset)] = f"d{len(datasets)}"
            lines.append(f"    {datasets[(location, dataset)]} [shape=cylinder, label={quote(dataset)}];")
        lines.append("  }")
    edges = dict.fromkeys(
        edge
        for row in shown.itertuples()
        for edge in (
            f"  {runners[row.runs_in]} -> {pipelines[(row.runs_in, row.pipeline_name)]};",
            f"  {pipelines[(row.runs_in, row.pipeline_name)]} -> {datasets[(row.location, row.dataset_name)]};",
        )
    )
    lines += list(edges)
    lines.append("}")
    return "\n".join(lines), len(flows) - len(shown)
