"""The population registry (人口信息库, 公安户籍): who a minor's guardians are.

Guardianship of a minor is proven either by the registry naming the account holder as one of
the minor's guardians, or by a station clerk's check of the 出生医学证明 or 户口簿
(``backend/family/guardianship.py``).

There is no public protocol for the registry, so the interface is the question the bureau asks
of it: the ID numbers of the guardians on record for a minor's ID number. The local twin
(:class:`LocalPopulationRegistry`) answers from a JSON file in the data folder
(``population-registry.json``: ``{"<minor ID number>": ["<guardian ID number>", ...]}``), which
``yibao seed-demo`` and the tests fill. In production no registry is connected unless one is
configured, and every minor goes through the station check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol


class PopulationRegistry(Protocol):
    async def guardians_of(self, minor_id_number: str) -> frozenset[str]:
        """The ID numbers of the minor's guardians on record; empty when unknown."""
        ...


class NoRegistry:
    """No registry connected: nobody is proven a guardian by it."""

    async def guardians_of(self, minor_id_number: str) -> frozenset[str]:
        return frozenset()


class LocalPopulationRegistry:
    FILE = "population-registry.json"

    def __init__(self, data_dir: Path) -> None:
        self._path = Path(data_dir) / self.FILE

    def _load(self) -> dict[str, list[str]]:
        try:
            return json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def record(self, minor_id_number: str, guardian_id_numbers: list[str]) -> None:
        """Put a household on record (the demo data and the tests)."""
        entries = self._load()
        known = set(entries.get(minor_id_number.upper(), []))
        entries[minor_id_number.upper()] = sorted(known | {g.upper() for g in guardian_id_numbers})
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")

    async def guardians_of(self, minor_id_number: str) -> frozenset[str]:
        return frozenset(self._load().get(minor_id_number.upper(), []))


def population_registry_for(data_dir: Path, production: bool) -> PopulationRegistry:
    return NoRegistry() if production else LocalPopulationRegistry(data_dir)
