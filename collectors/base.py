"""The one small interface every collector shares: discover datasets, collect what is new since a cursor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from glasspane.config import ConfigError, SourceConfig
from glasspane.records import DatasetBatch


class SourceError(Exception):
    """One thing in a source could not be read. `str()` is '<what>: <reason>', one line."""

    def __init__(self, what: str, reason: str):
        self.what = what
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{what}: {self.reason}")


@dataclass(frozen=True)
class Dataset:
    """A unit a source holds: a dlt dataset, or a pipeline's working folder."""

    key: str
    dataset_name: str | None
    location: str


class Collector(ABC):
    """Reads dlt metadata from one configured source. Subclasses differ only in how they read."""

    kind: ClassVar[str]
    required_keys: ClassVar[tuple[str, ...]] = ()
    optional_keys: ClassVar[tuple[str, ...]] = ()
    # how many datasets of one source may be collected at once (a collector may set its own when it is built)
    max_parallel: int = 4

    def __init__(self, config: SourceConfig):
        self.config = config
        self.name = config.name
        known = set(self.required_keys) | set(self.optional_keys)
        unknown = sorted(set(config.options) - known)
        if unknown:
            raise ConfigError(
                f"{config.origin}: source '{config.name}' (kind {self.kind}): unknown key "
                f"{', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})"
            )
        for key in self.required_keys:
            config.require(key)
        self.problems: list[SourceError] = []  # parts of the source that failed (a project, a missing dataset)
        self.stats: dict[str, int] = {}  # requests, bytes... spent outside any one dataset (discovery)

    def add_problem(self, problem: SourceError) -> None:
        """Report a part of the source that could not be read while the rest still is."""
        self.problems.append(problem)

    def add_stats(self, counts: dict[str, int]) -> None:
        """Add to the source-level counters reported with the collect."""
        for key, value in counts.items():
            self.stats[key] = self.stats.get(key, 0) + value

    def option(self, key: str, default: Any = None) -> Any:
        """A configured option, or its default."""
        return self.config.options.get(key, default)

    @property
    @abstractmethod
    def location(self) -> str:
        """A URL-like id of where this source's data lives (never with credentials)."""

    @abstractmethod
    def discover(self) -> list[Dataset]:
        """Every dataset this source holds."""

    @abstractmethod
    def collect(self, dataset: Dataset, cursor: dict[str, Any]) -> DatasetBatch:
        """What is new in a dataset since `cursor` (empty on the first collect).

        Problems with single files go into `batch.problems` and the cursor stays before them,
        so they are read again next time; anything that stops the whole dataset raises.
        """

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire what the collect needs (a connection, a client)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what `open` acquired."""
