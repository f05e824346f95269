"""Property-based fuzzing of the whole API from its OpenAPI document (schemathesis).

A live server with the demo data is driven once per role (citizen, station clerk, reviewer,
supervisor, admin, and nobody), every schemathesis check on plus ``tests/fuzz/hooks.py``:
no 5xx, answers and status codes as documented, error codes listed for their operation,
schema-valid requests not refused for reasons the document hides, invalid ones refused.
Bounded: a few examples per operation and a fixed seed, so a run is repeatable.

Every role logs in before any fuzzing: the fuzzer's failed staff logins soon block this
source (as they should). Logging out and deactivating accounts would end the sessions the
later runs use: they are fuzzed in the last run, after every role.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.demo.cast import DEMO_PASSWORD
from tests.conftest import require
from tests.live_server import ROOT, live_server

MAX_EXAMPLES = os.environ.get("YIBAO_FUZZ_EXAMPLES", "2")
SEED = "20261201"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
SESSION_ENDERS = ("/api/v1/auth/logout", "/api/v1/admin/accounts/{account_id}/deactivate")
ROLES = {
    "citizen": "zhangwei",
    "station_staff": "clerk_dongcheng",
    "reviewer": "reviewer_claims",
    "supervisor": "supervisor",
    "admin": "admin",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(url, data folder, an access token per role), the tokens valid for the whole run."""
    require(SCHEMATHESIS.is_file(), "schemathesis (pip install -e '.[dev]')")
    data_dir = tmp_path_factory.mktemp("live-fuzz")
    with live_server(data_dir, YIBAO_ACCESS_TOKEN_TTL_S="7200") as url:
        yield url, data_dir, {role: _token(url, role) for role in ROLES}


def _token(url: str, role: str) -> str:
    user = ROLES[role]
    if role == "citizen":
        code = httpx.post(f"{url}/api/v1/dev/login-code", json={"user": user}).json()["code"]
        answer = httpx.post(f"{url}/api/v1/auth/citizen/login", json={"code": code})
    else:
        answer = httpx.post(
            f"{url}/api/v1/auth/staff/login", json={"username": user, "password": DEMO_PASSWORD}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _fuzz(url: str, data_dir: Path, label: str, args: list[str]) -> None:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(ROOT / "tests" / "fuzz" / "schemathesis.toml"),
        "run",
        f"{url}/docs/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--request-timeout",
        "30",
        *args,
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if run.returncode != 0:
        log = (data_dir / "server.log").read_text()
        tracebacks = "\n".join(line for line in log.splitlines() if "Error" in line)[-3000:]
        pytest.fail(
            f"schemathesis found failures as {label}:\n{run.stdout[-12000:]}\n{run.stderr[-2000:]}"
            f"\nserver errors:\n{tracebacks}"
        )


Server = tuple[str, Path, dict[str, str]]


@pytest.mark.parametrize("role", list(ROLES))
def test_fuzz_as(role: str, server: Server) -> None:
    url, data_dir, tokens = server
    excluded = [arg for path in SESSION_ENDERS for arg in ("--exclude-path", path)]
    header = ["-H", f"Authorization: Bearer {tokens[role]}"]
    _fuzz(url, data_dir, role, [*header, *excluded])


def test_fuzz_without_a_token_and_the_session_enders(server: Server) -> None:
    url, data_dir, tokens = server
    _fuzz(url, data_dir, "nobody", [])
    included = [arg for path in SESSION_ENDERS for arg in ("--include-path", path)]
    header = ["-H", f"Authorization: Bearer {tokens['admin']}"]
    _fuzz(url, data_dir, "admin ending sessions", [*header, *included])
