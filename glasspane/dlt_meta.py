"""Reading dlt's own metadata formats by dlt's conventions: schemas, states, load ids, hints."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from glasspane.records import ColumnRecord

# dlt's documented PII hint comes first; then the short form; then any hint that names pii.
PII_HINTS = ("x-annotation-pii", "x-pii")
# dlt's bookkeeping tables, and the tables of its documented `_trace` pattern.
DLT_TABLE_PREFIX = "_dlt_"
TRACE_TABLE = "_trace"
# Execution environments dlt detects, most telling first (dlt.common.runtime.exec_info).
ENVIRONMENT_ORDER = (
    "github_actions",
    "aws_lambda",
    "gcp_cloud_function",
    "airflow",
    "dagster",
    "prefect",
    "kubernetes",
    "codespaces",
    "colab",
    "marimo",
    "notebook",
    "streamlit",
    "docker",
)
MAX_ERROR_CHARS = 2000
STAGING_LAYOUT = "%s_staging"  # dlt's default `staging_dataset_name_layout` (merge loads stage rows there)


def is_dlt_table(table_name: str) -> bool:
    """True for dlt's own tables (`_dlt_loads`...) and the `_trace` tables of a loaded trace."""
    return (
        table_name.startswith(DLT_TABLE_PREFIX)
        or table_name == TRACE_TABLE
        or table_name.startswith(TRACE_TABLE + "__")
    )


def staging_dataset_name(dataset_name: str, layout: str = STAGING_LAYOUT) -> str:
    """dlt's staging dataset of a dataset: the layout with `%s` replaced by its name, else the layout itself."""
    return layout.replace("%s", dataset_name) if "%s" in layout else layout


def load_id_to_datetime(load_id: str | None) -> dt.datetime | None:
    """A load id is the Unix time its package was created, as a float string."""
    try:
        return dt.datetime.fromtimestamp(float(load_id), tz=dt.UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def job_file_table(name: str) -> str | None:
    """The table a dlt job file is for, from its name (`<table>.<file_id>.<retry>.<format>[.gz]`, as dlt's
    `ParsedLoadJobFileName` parses it); None for any other file."""
    parts = name.split(".")
    if len(parts) == 4 or (len(parts) == 5 and parts[4] == "gz"):
        return parts[0] if parts[2].isdigit() else None
    return None


def to_datetime(value: Any) -> dt.datetime | None:
    """A UTC datetime from whatever a dlt reader returned: datetime, ISO text, epoch float, None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return to_datetime(value.to_pydatetime())
    text = str(value).lstrip("\uf027")  # dlt's typed-JSON marker for datetimes
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def decode_stored(text: str) -> dict[str, Any]:
    """Decode a stored schema (`_dlt_version.schema`) or state: zlib+base64, or plain JSON.

    dlt's encoding (`dlt.common.versioned_state.compressed_b64encode`), read without importing dlt
    (0.3 s and 40 MiB, more than a collect with little news spends on everything else). Values
    dlt writes as typed JSON (a date in a state's incremental cursor) stay marked strings: only
    names and hints are read from these documents, never values. Raises ValueError with a short
    reason when the text is neither.
    """
    try:
        raw = text if text.lstrip().startswith("{") else zlib.decompress(base64.b64decode(text, validate=True))
        decoded = json.loads(raw)
    except (ValueError, TypeError, zlib.error) as ex:  # base64, zlib and JSON errors mean the same to a user
        raise ValueError(f"not valid JSON or zlib+base64 ({type(ex).__name__})") from None
    if not isinstance(decoded, dict):
        raise ValueError("not a JSON object")
    return decoded


def pii_from_hints(column: dict[str, Any]) -> tuple[bool, str | None]:
    """PII tag of a column schema: (is_pii, kind). A string hint value is the kind."""
    candidates = [h for h in PII_HINTS if h in column]
    candidates += sorted(k for k in column if "pii" in k.lower() and k not in PII_HINTS)
    for hint in candidates:
        value = column[hint]
        if isinstance(value, str) and value.strip():
            if value.strip().lower() in ("false", "no", "0", "none"):
                continue
            return True, value.strip()
        if value is True:
            return True, None
    return False, None


def schema_columns(schema: dict[str, Any]) -> list[ColumnRecord]:
    """Every column of a stored dlt schema, with its hints, PII tag and root table."""
    tables: dict[str, Any] = schema.get("tables") or {}
    records = []
    for table_name, table in tables.items():
        parent = table.get("parent")
        root = _root_table(tables, table_name)
        for column_name, column in (table.get("columns") or {}).items():
            pii, kind = pii_from_hints(column)
            hints = {k: v for k, v in column.items() if k not in ("name", "data_type", "nullable")}
            records.append(
                ColumnRecord(
                    table_name=table_name,
                    column_name=column.get("name", column_name),
                    data_type=column.get("data_type"),
                    nullable=column.get("nullable"),
                    pii=pii,
                    pii_kind=kind,
                    hints=json.dumps(hints, sort_keys=True, default=str),
                    parent_table=parent,
                    root_table=root,
                )
            )
    return records


def _root_table(tables: dict[str, Any], table_name: str) -> str:
    """The table a nested table descends from, following `parent` as dlt does (`get_root_table`); a
    dangling or circular parent ends the walk where it breaks."""
    seen = {table_name}
    while (parent := (tables.get(table_name) or {}).get("parent")) and parent in tables and parent not in seen:
        seen.add(parent)
        table_name = parent
    return table_name


def environment_label(context: dict[str, Any] | None) -> str | None:
    """Where a run happened, in a word: the most telling environment dlt detected, else CI or local."""
    if not context:
        return None
    names = context.get("exec_info") or []
    for name in ENVIRONMENT_ORDER:
        if name in names:
            return name
    return "ci" if context.get("ci_run") else "local"


def execution_details(context: dict[str, Any] | None) -> dict[str, Any] | None:
    """The parts of dlt's execution context worth keeping: no paths, no environment variables."""
    if not context:
        return None
    os_info = context.get("os") or {}
    library = context.get("library") or {}
    return {
        "ci_run": context.get("ci_run"),
        "exec_info": list(context.get("exec_info") or []),
        "python": context.get("python"),
        "os": " ".join(str(v) for v in (os_info.get("name"), os_info.get("version")) if v),
        "dlt_version": library.get("version"),
    }


_SECRET_PATTERNS = (
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key(?:[_-]?id)?|"
            r"private[_-]?key|client[_-]?secret|sig|signature)\b(\s*[=:]\s*)(['\"]?)[^\s'\",;&]+"
        ),
        r"\1\2\3***",
    ),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), "***"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"), "***"),
    (re.compile(r"https://hooks\.slack\.com/\S+"), "https://hooks.slack.com/***"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), "***"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
)


_QUOTED = r"""(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""  # a value as Python's repr() quotes it
# Data values in error messages, each between the words around it (to the last of them: a value that
# holds those words is masked whole); the value becomes ***.
_DATA_VALUE_PATTERNS = (
    # dlt's CannotCoerceColumnException: "... for value `…` in table `orders` column `amount`"
    re.compile(r"(for value `).*(` in table `)", re.S),
    # dlt's DataValidationError: "Offending data item: code: …, _dlt_id: …" (to the end of the line)
    re.compile(r"(Offending data item: )[^\n]*?(\.?(?:\n|$))"),
    # dlt's IncrementalCursorInvalidCoercion: "with value `…` and type `…` to actual data item `…` at path `…`"
    re.compile(r"(with value `).*(` and type `)", re.S),
    re.compile(r"(to actual data item `).*(` at path `)", re.S),
    # dlt's date and time parsing, and its resource hints
    re.compile(r"(Cannot coerce `).*(` to `pendulum\.)", re.S),
    re.compile(
        r"(Invalid ISO time string: `|Invalid timezone format in datetime string: `|"
        r"could not parse `\w+` value `)[^\n]*(`)"
    ),
    # Python's conversions, beneath dlt's or in a resource: "invalid literal for int() with base 10: '…'"
    re.compile(
        rf"(invalid literal for \w+\(\) with base \d+: |could not convert string to float: |"
        rf"Invalid isoformat string: ){_QUOTED}()"
    ),
    # pydantic: "[type=int_parsing, input_value='…', input_type=str]"
    re.compile(r"(input_value=).*(, input_type=)", re.S),
    # destinations: DuckDB "Could not convert string '…' to INT64", BigQuery "Could not parse '…' as INT64",
    # Postgres 'invalid input syntax for type integer: "…"' and "Key (id)=(…) already exists"
    re.compile(r"(Could not convert string ').*(' to )", re.S),
    re.compile(r"(Could not parse ').*(' as )", re.S),
    re.compile(r'(invalid input syntax for type [\w ]+: ")[^\n]*(")'),
    re.compile(r"(Key \([^)\n]*\)=\()[^\n]*(\))"),
)


# A quoted literal or bracketed repr right after one of these words names something (a source, a table, a
# column, a file...): it is kept. Anything else quoted, and any repr of a row or value, is data: masked.
_NAMING_WORD = re.compile(
    r"(?i)\b(?:sources?|rules?|tables?|columns?|relations?|schemas?|datasets?|pipelines?|resources?|fields?|"
    r"files?|directory|destinations?|databases?|catalogs?|views?|models?|index|constraints?|functions?|"
    r"extensions?|buckets?|options?|sections?|kinds?|roles?|steps?|types?)\s*[:=]?\s*$"
)
_OPENERS = {"{": "}", "[": "]", "(": ")"}
_CLOSERS = set(_OPENERS.values())


def _names(text: str, start: int) -> bool:
    """True when the quoted or bracketed text at `start` follows a word that says it is a name."""
    return bool(_NAMING_WORD.search(text[max(0, start - 40) : start]))


def _quote_end(text: str, start: int) -> int | None:
    """Where the quote opened at `start` closes, on the same line (backslash escapes honoured)."""
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return None


def _is_quote(text: str, i: int) -> bool:
    """A quote that opens a literal: not an apostrophe inside a word (`couldn't`, `pipeline's`)."""
    return text[i] in "'\"" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))


@dataclass
class _Group:
    """A bracketed part of a line: where it starts and ends, and whether a quote, colon or comma is inside."""

    start: int
    end: int = -1
    quoted: bool = False
    colon: bool = False
    comma: bool = False

    def holds_values(self, opener: str) -> bool:
        """A dict or JSON object (a colon or a quote inside braces), a list with a quoted item, a tuple of them."""
        if opener == "{":
            return self.quoted or self.colon
        if opener == "[":
            return self.quoted
        return self.quoted and self.comma


def _groups(text: str) -> dict[int, _Group]:
    """Every bracketed group that closes on its own line, by where it starts, skipping quoted text.
    One pass, so any text (an attacker's too) takes linear time."""
    groups: dict[int, _Group] = {}
    stack: list[_Group] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\n":
            stack.clear()
        elif _is_quote(text, i) and (end := _quote_end(text, i)) is not None:
            if stack:
                stack[-1].quoted = True
            i = end + 1
            continue
        elif char in _OPENERS:
            stack.append(_Group(i))
        elif char in _CLOSERS and stack:
            group = stack.pop()
            if _OPENERS[text[group.start]] == char:
                group.end = i
                groups[group.start] = group
            if stack:  # what a group holds, its parent holds
                parent = stack[-1]
                parent.quoted = parent.quoted or group.quoted
                parent.colon = parent.colon or group.colon
                parent.comma = parent.comma or group.comma
        elif stack and char == ":":
            stack[-1].colon = True
        elif stack and char == ",":
            stack[-1].comma = True
        i += 1
    return groups


def _mask_values(text: str) -> str:
    """Replace quoted literals and reprs of rows or values with ***, keeping the names around them."""
    out: list[str] = []
    groups = _groups(text)
    i = 0
    while i < len(text):
        char = text[i]
        end = None
        if char in _OPENERS and (group := groups.get(i)) is not None:
            if _names(text, i):
                out.append(text[i : group.end + 1])
                i = group.end + 1
                continue
            if group.holds_values(char):
                out.append("***")
                i = group.end + 1
                continue
        elif _is_quote(text, i) and (end := _quote_end(text, i)) is not None:
            literal = text[i : end + 1]
            if not (end + 1 < len(text) and text[end + 1].isalnum()):  # not `'s` of a possessive
                out.append(literal if _names(text, i) or literal[1:-1] == "***" else char + "***" + char)
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def redact(text: str | None, limit: int = MAX_ERROR_CHARS, literals: bool = True) -> str | None:
    """Strip credentials, e-mail addresses and data values from an error message before it is stored or shown.

    The exception type, dlt's wrapper message, and table, column and source names stay; quoted literals
    and reprs of rows or values become ***. `literals=False` keeps quoted text (for SQL definitions, whose
    quotes delimit identifiers).
    """
    if text is None:
        return None
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    for pattern in _DATA_VALUE_PATTERNS:
        text = pattern.sub(r"\1***\2", text)
    if literals:
        text = _mask_values(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact_line(text: str, limit: int = 500) -> str:
    """A message for one line of a summary, a log or an alert: whitespace folded to single spaces, credentials
    and data values redacted (`redact`), at most `limit` characters."""
    return redact(" ".join(text.split()), limit=limit) or ""


def first_line(text: str | None) -> str | None:
    """The first non-empty line of a message."""
    if not text:
        return None
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


def strip_userinfo(url: str) -> str:
    """A URL without user, password, query or fragment: safe to store as a location."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def duckdb_location(path: str) -> str:
    """The location id of a DuckDB file."""
    from pathlib import Path

    return "duckdb://" + str(Path(path).expanduser().resolve())


def filesystem_location(bucket_url: str) -> str:
    """The location id of a filesystem destination: its bucket URL without credentials."""
    from pathlib import Path

    if "://" not in bucket_url:
        return Path(bucket_url).expanduser().resolve().as_uri()
    if bucket_url.startswith("file://"):
        return Path(urlsplit(bucket_url).path).resolve().as_uri()
    return strip_userinfo(bucket_url).rstrip("/")


def destination_location(destination_type: str | None, displayable: str | None) -> str | None:
    """Map a trace's destination (type and dlt's displayable credentials) to a location id.

    Displayable credentials never carry passwords, but may carry a user name: only hosts,
    paths and project ids survive.
    """
    if not destination_type or not displayable:
        return None
    kind = destination_type.rsplit(".", 1)[-1]
    if kind in ("duckdb", "motherduck") and displayable.startswith("duckdb:///"):
        return duckdb_location(displayable[len("duckdb:///") :])
    if kind == "filesystem":
        return filesystem_location(displayable)
    if kind == "bigquery":
        return "bigquery://" + displayable.rsplit("@", 1)[-1]
    if "://" in displayable:
        return strip_userinfo(displayable).rstrip("/")
    return f"{kind}://{displayable.rsplit('@', 1)[-1]}"
