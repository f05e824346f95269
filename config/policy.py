"""Policy tables: YAML files in ``config/policy/``, each a list of versions with an
``effective_from`` date, validated at start-up.

A bad file stops start-up with a :class:`PolicyError` that names the file and the field, so an
operator who mistyped a premium finds it before a citizen pays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

POLICY_DIR = Path(__file__).parent / "policy"


class PolicyError(Exception):
    """A policy file is missing, unreadable or invalid."""


class Versioned(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    effective_from: date


class FamilyPolicy(Versioned):
    max_members: int = Field(ge=1, le=20)
    adult_age: int = Field(ge=14, le=25)


class AccessPolicy(Versioned):
    login_max_failures: int = Field(ge=1)
    lockout_minutes: int = Field(ge=1)
    login_attempts_per_minute: int = Field(ge=1)
    bindings_per_hour: int = Field(ge=1)


T = TypeVar("T", bound=Versioned)


@dataclass(frozen=True)
class PolicyTable(Generic[T]):
    name: str
    versions: tuple[T, ...]  # sorted by effective_from

    def at(self, on: date) -> T:
        """The version in force on ``on``."""
        current = None
        for version in self.versions:
            if version.effective_from <= on:
                current = version
        if current is None:
            raise PolicyError(f"{self.name}: no version in force on {on.isoformat()}")
        return current


def load_table(path: Path, model: type[T]) -> PolicyTable[T]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"{path.name}: file is missing") from exc
    except (yaml.YAMLError, ValueError) as exc:  # YAML dates like 2024-13-01 raise ValueError
        raise PolicyError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{path.name}: expected a non-empty list of versions")
    versions = []
    for i, item in enumerate(raw):
        try:
            versions.append(model.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "(version)"
            raise PolicyError(f"{path.name}: version {i + 1}: field {field}: {err['msg']}") from exc
    versions.sort(key=lambda v: v.effective_from)
    dates = [v.effective_from for v in versions]
    if len(set(dates)) != len(dates):
        raise PolicyError(f"{path.name}: two versions share an effective_from date")
    return PolicyTable(path.stem, tuple(versions))


@dataclass(frozen=True)
class Policies:
    family: PolicyTable[FamilyPolicy]
    access: PolicyTable[AccessPolicy]


def load_policies(directory: Path = POLICY_DIR) -> Policies:
    return Policies(
        family=load_table(directory / "family.yaml", FamilyPolicy),
        access=load_table(directory / "access.yaml", AccessPolicy),
    )
