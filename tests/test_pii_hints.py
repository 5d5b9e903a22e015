"""Confirmed PII exported as dlt hints: the snippets are what dlt accepts, nested tables at any depth."""

from __future__ import annotations

import dlt
import yaml

from glasspane.governance.pii_hints import HintedColumn, apply_hints_python, import_schema_yaml

STREET = HintedColumn("crm", "people__addresses__lines", "street", "address", "text", "people")
NAME = HintedColumn("crm", "people", "full_name", "name", "text", "people")


def test_apply_hints_reach_a_table_nested_two_levels_down(tmp_path):
    @dlt.resource(name="people")
    def people():
        yield [{"id": 1, "full_name": "Ana", "addresses": [{"city": "x", "lines": [{"street": "s"}]}]}]

    resource = people()
    exec(apply_hints_python([STREET, NAME]), {"people": resource})
    pipeline = dlt.pipeline(
        "hints",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="crm",
        pipelines_dir=str(tmp_path / "p"),
    )
    pipeline.run(resource)
    tables = pipeline.default_schema.tables
    assert tables["people__addresses__lines"]["columns"]["street"]["x-annotation-pii"] == "address"
    assert tables["people"]["columns"]["full_name"]["x-annotation-pii"] == "name"
    assert "x-annotation-pii" not in str(tables["people__addresses"]["columns"])  # the table between: no hint


def test_import_schema_yaml_has_one_document_per_schema_in_dlts_shape():
    other = HintedColumn("hr", "employees", "iban", "financial")
    documents = import_schema_yaml([STREET, other]).split("\n# ")
    assert len(documents) == 2
    crm = yaml.safe_load(documents[0])
    assert crm["tables"]["people__addresses__lines"]["columns"]["street"] == {
        "name": "street",
        "data_type": "text",
        "x-annotation-pii": "address",
    }
    assert (
        yaml.safe_load("# " + documents[1])["tables"]["employees"]["columns"]["iban"]["x-annotation-pii"] == "financial"
    )
