"""Where a strategy came from: the source documents its spec was built from.

A trade keeps the rules it opened with (issue 7 item 2): when it opens, the service
stores these documents with it, and later rebuilds its spec from them (`copies.py`)
if the file has been edited, renamed, disabled or deleted since.

The documents are the strategy file's text and the text of every file that defines an
execution profile the strategy resolved (directly or through another profile), each
under the path it was loaded from. The content hash keys the stored copy, so a hundred
trades opened from one version of a file share one row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpecOrigin:
    """The strategy file first, then the profile files it resolved, as (path, text)."""

    documents: tuple[tuple[str, str], ...]

    @property
    def content_hash(self) -> str:
        """sha256 over the paths and texts: equal documents, equal hash."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def to_json(self) -> str:
        return json.dumps([list(item) for item in self.documents], ensure_ascii=False,
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SpecOrigin:
        items = json.loads(text)
        return cls(tuple((str(path), str(body)) for path, body in items))
