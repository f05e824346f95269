"""Operators see which setting or policy file is wrong, without a traceback."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_production_without_keys_refuses_to_start_and_names_them(tmp_path):
    env = {"YIBAO_ENV": "production", "YIBAO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "YIBAO_JWT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_several_workers_need_redis(tmp_path):
    env = {"YIBAO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "YIBAO_REDIS_URL" in result.stderr
