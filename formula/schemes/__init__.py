"""The schemes shipped with codesign-bot as package data (one TOML rules file each)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from formula.errors import SchemeNotFoundError
from formula.rules import AllocationMethod, Scheme, parse_scheme_text


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    id: str
    name: str
    name_cy: str | None
    version: str
    method: AllocationMethod
    question_count: int
    file_name: str


@cache
def _shipped() -> dict[str, Scheme]:
    schemes: dict[str, Scheme] = {}
    folder = resources.files(__name__)
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".toml"):
            continue
        scheme = parse_scheme_text(
            entry.read_text(encoding="utf-8"), source=f"formula/schemes/{entry.name}"
        )
        if scheme.id in schemes:
            raise SchemeNotFoundError(f"two shipped schemes have the id {scheme.id!r}")
        schemes[scheme.id] = scheme
    return schemes


def list_schemes() -> list[SchemeInfo]:
    """Every shipped scheme, sorted by id."""
    return [
        SchemeInfo(
            id=scheme.id,
            name=scheme.name,
            name_cy=scheme.name_cy,
            version=scheme.version,
            method=scheme.method,
            question_count=len(scheme.questions),
            file_name=scheme.source.rsplit("/", 1)[-1],
        )
        for scheme in sorted(_shipped().values(), key=lambda s: s.id)
    ]


def load_shipped_scheme(scheme_id: str) -> Scheme:
    """The shipped scheme with this id. Raises SchemeNotFoundError naming the known ids."""
    schemes = _shipped()
    try:
        return schemes[scheme_id]
    except KeyError:
        known = ", ".join(sorted(schemes))
        raise SchemeNotFoundError(
            f"no shipped scheme has the id {scheme_id!r} (known: {known})"
        ) from None
