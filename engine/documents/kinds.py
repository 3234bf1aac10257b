"""The catalogue of document kinds (公文种类): `documents/kinds.json`, data like `forms/`."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from engine.bpmn.validation import declared_documents
from engine.errors import NotFound

DOCUMENTS_DIR = Path(__file__).resolve().parents[2] / "documents"
CATALOGUE = "kinds.json"


@dataclass(frozen=True)
class Kind:
    key: str                        # 受理告知书 — what a process step names in `qinglian:document`
    file: str                       # the shipped template, version 1
    number: str | None              # the 文号 sequence (告, 函…), None: the document has no number
    to_reporter: bool               # addressed to the reporter: may carry their identity
    data_forms: tuple[str, ...]     # forms whose fields the process data holds without a step showing them
    raw: dict = field(repr=False, compare=False, hash=False)

    @property
    def name_en(self) -> str:
        """The kind's name for English readers (`name_en` in the catalogue)."""
        return self.raw.get("name_en") or self.key


@lru_cache(maxsize=8)
def _load(folder: Path) -> dict[str, Kind]:
    data = json.loads((folder / CATALOGUE).read_text(encoding="utf-8"))
    return {k["key"]: Kind(k["key"], k["file"], k.get("number"), bool(k.get("to_reporter")),
                           tuple(k.get("data_forms", ())), k) for k in data["kinds"]}


def load_kinds(folder: Path | None = None) -> dict[str, Kind]:
    return _load(Path(folder or DOCUMENTS_DIR).resolve())


def kind(key: str, folder: Path | None = None) -> Kind:
    found = load_kinds(folder).get(key)
    if found is None:
        raise NotFound(f"公文种类“{key}”不存在", field="kind")
    return found


def declared(value: str | None) -> list[str]:
    """The kinds a step's `document` property names: one, or several separated by 、 or commas."""
    return declared_documents(value)
