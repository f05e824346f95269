"""The registry of process definitions, by (code, version).

A process holds one (``Container.definitions``, built by the bootstrap from the shipped
definitions, ``workflows.definitions.BUILTIN``); a test builds its own. A new version of a
definition is added next to the old one: cases keep the version they were created with, new
cases get the latest.
"""

from __future__ import annotations

from collections.abc import Iterable

from workflows.definition import Definition, DefinitionError
from workflows.engine import validate


class UnknownDefinition(KeyError):
    pass


class Registry:
    def __init__(self, definitions: Iterable[Definition] = ()) -> None:
        self._defs: dict[tuple[str, int], Definition] = {}
        for defn in definitions:
            self.register(defn)

    def register(self, defn: Definition) -> Definition:
        validate(defn)
        existing = self._defs.get(defn.key)
        if existing is not None and existing != defn:
            raise DefinitionError(
                f"definition {defn.code} v{defn.version}: already registered with other content;"
                " publish a new version instead of changing a published one"
            )
        self._defs[defn.key] = defn
        return defn

    def get(self, code: str, version: int) -> Definition:
        try:
            return self._defs[(code, version)]
        except KeyError:
            raise UnknownDefinition(f"{code} v{version}") from None

    def latest(self, code: str) -> Definition:
        versions = [d for (c, _), d in self._defs.items() if c == code]
        if not versions:
            raise UnknownDefinition(code)
        return max(versions, key=lambda d: d.version)

    def services(self) -> list[Definition]:
        codes = sorted({c for c, _ in self._defs})
        return [self.latest(c) for c in codes]

    def all(self) -> list[Definition]:
        return list(self._defs.values())
