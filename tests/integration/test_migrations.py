"""The committed migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]

_PENDING = """
import asyncio
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector
from backend.db import tortoise_config

async def main():
    config = tortoise_config("sqlite://:memory:")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    print(len(writers))

asyncio.run(main())
"""


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,  # minutes on a loaded machine (2 cores shared by several test runs)
    )


def test_models_have_no_unmigrated_changes(tmp_path):
    result = _run(["-c", _PENDING], {"YIBAO_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0", "run `tortoise makemigrations`"


def test_model_descriptions_have_no_semicolons():
    """Tortoise's SQLite migration runner splits statements at ";", even inside the table and
    column comments it makes from docstrings and descriptions: one there breaks migrations."""
    import importlib

    from tortoise.models import Model

    from backend.db import MODEL_MODULES

    offenders = []
    for module_name in MODEL_MODULES:
        for obj in vars(importlib.import_module(module_name)).values():
            if isinstance(obj, type) and issubclass(obj, Model) and obj.__module__ == module_name:
                first_line = (obj.__doc__ or "").strip().splitlines()[:1]
                if first_line and ";" in first_line[0]:
                    offenders.append(f"{module_name}.{obj.__name__}")
                for name, field in obj._meta.fields_map.items():
                    if field.description and ";" in field.description:
                        offenders.append(f"{module_name}.{obj.__name__}.{name}")
    assert not offenders, f"no ';' in model docstrings/descriptions: {offenders}"


def _migrate_twice(url: str, data_dir: Path) -> None:
    env = {"YIBAO_DATABASE_URL": url, "YIBAO_DATA_DIR": str(data_dir)}
    for _ in range(2):  # the second run finds nothing to do and succeeds
        result = _run(["-m", "backend.cli", "migrate"], env)
        assert result.returncode == 0, result.stderr


def test_migrate_on_sqlite(tmp_path):
    db_file = tmp_path / "m.sqlite3"
    _migrate_twice(f"sqlite://{db_file}", tmp_path)
    import sqlite3

    tables = {r[0] for r in sqlite3.connect(db_file).execute("select name from sqlite_master")}
    assert {"account", "person", "audit_entry", "station"} <= tables


@pytest.mark.servers
async def test_migrate_on_postgres(tmp_path, stack):
    if stack.name != "postgres":
        pytest.skip("runs once, with the PostgreSQL stack")
    name = f"yibao_migrate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlparse(PG_URL)._replace(path=f"/{name}").geturl()
        _migrate_twice(url, tmp_path)
        conn = await asyncpg.connect(url)
        rows = await conn.fetch("select tablename from pg_tables where schemaname = 'public'")
        await conn.close()
        assert {"account", "person", "audit_entry", "station"} <= {r[0] for r in rows}
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
