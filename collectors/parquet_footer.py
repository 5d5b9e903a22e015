"""Row counts of parquet files from their footers: the last bytes of a file, never its data pages.

A parquet file ends with its metadata (`FileMetaData`, which holds `num_rows`), the metadata's
length (4 bytes, little-endian) and the magic `PAR1`. Two ranged reads get the footer exactly:
its last 8 bytes, then the metadata they announce; no byte of a data page is ever fetched.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

from glasspane.lazy_import import lazy

MAGIC = b"PAR1"
TRAILER = 8  # metadata length + magic


class FooterError(ValueError):
    """The bytes are not the end of a parquet file."""


def read_num_rows(size: int, read_range: Callable[[int, int], bytes]) -> int:
    """Rows in a parquet file of `size` bytes, read through `read_range(start, end)` (end exclusive)."""
    if size < len(MAGIC) + TRAILER:
        raise FooterError("too small to be a parquet file")
    trailer = read_range(size - TRAILER, size)
    if len(trailer) != TRAILER or trailer[-4:] != MAGIC:
        raise FooterError("not a parquet file (no PAR1 at its end)")
    length = struct.unpack("<I", trailer[:4])[0]
    if length + TRAILER + len(MAGIC) > size:
        raise FooterError("footer length exceeds the file size")
    metadata = read_range(size - TRAILER - length, size - TRAILER)
    try:
        return lazy("pyarrow.parquet").read_metadata(io.BytesIO(MAGIC + metadata + trailer)).num_rows
    except Exception as ex:  # pyarrow raises OSError / ArrowInvalid for corrupt footers
        raise FooterError(f"corrupt footer ({type(ex).__name__})") from None
