"""The example deployments run the commands this code accepts, against store locations it can parse."""

from __future__ import annotations

import ast
import re
import shlex

import yaml

from glasspane.cli.main import build_parser
from glasspane.settings import PROJECT_DIR
from glasspane.store.lake import parse_location

EXAMPLES = PROJECT_DIR / "examples"


def collector_commands(text: str) -> list[list[str]]:
    """Every `python -m collectors …` command in a text, as arguments after the module name."""
    found = []
    for match in re.finditer(r"python -m collectors ([^\n;&\"]+)", text):
        found.append(shlex.split(match.group(1).replace("${{ matrix.sources }}", "a b")))
    return found


def test_the_github_actions_workflows_run_commands_the_cli_accepts():
    workflows = sorted((EXAMPLES / "github-actions").glob("*.yml"))
    assert len(workflows) == 2
    for path in workflows:
        workflow = yaml.safe_load(path.read_text())
        steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
        commands = [c for step in steps for c in collector_commands(step)]
        assert commands, path
        for args in commands:
            build_parser().parse_args(args)  # exits (fails the test) on an argument the CLI does not take
    sharded = yaml.safe_load((EXAMPLES / "github-actions" / "glasspane-collect-sharded.yml").read_text())
    groups = sharded["jobs"]["collect"]["strategy"]["matrix"]["sources"]
    assert len(groups) > 1 and sharded["jobs"]["alert"]["needs"] == "collect"


def test_the_airflow_dag_collects_each_group_with_a_valid_command():
    tree = ast.parse((EXAMPLES / "airflow" / "glasspane_dag.py").read_text())
    groups = next(
        ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "SOURCE_GROUPS"
    )
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "collect_command")
    namespace: dict = {"GLASSPANE": "/opt/glasspane"}
    exec(compile(ast.Module([function], []), "dag", "exec"), namespace)  # the DAG's own function, not Airflow
    for sources in groups.values():
        [args] = collector_commands(namespace["collect_command"](sources))
        assert build_parser().parse_args(args).source == sources


def test_the_compose_file_names_a_store_the_code_can_open():
    compose = yaml.safe_load((EXAMPLES / "docker-compose" / "docker-compose.yml").read_text())
    environment = compose["x-glasspane"]["environment"]
    location = parse_location(environment["GLASSPANE_STORE"])
    assert location.kind == "postgres" and location.data_path.startswith("/var/lib/glasspane/")
    assert "PGPASSWORD" in environment and "password" not in environment["GLASSPANE_STORE"]
    for service in ("dashboard", "collector"):
        for args in collector_commands(compose["services"][service]["command"]):
            build_parser().parse_args(args)
