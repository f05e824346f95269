from datetime import date
from pathlib import Path

import pytest

from config.policy import POLICY_DIR, AccessPolicy, PolicyError, load_policies, load_table


def test_shipped_policy_files_load():
    policies = load_policies()
    assert policies.family.at(date(2026, 11, 26)).max_members == 5


def test_version_in_force_follows_effective_dates(tmp_path: Path):
    path = tmp_path / "access.yaml"
    path.write_text(
        """
- effective_from: 2024-01-01
  login_max_failures: 5
  lockout_minutes: 15
  login_attempts_per_minute: 10
  bindings_per_hour: 5
- effective_from: 2026-07-01
  login_max_failures: 3
  lockout_minutes: 30
  login_attempts_per_minute: 10
  bindings_per_hour: 5
""",
        encoding="utf-8",
    )
    table = load_table(path, AccessPolicy)
    assert table.at(date(2026, 6, 30)).login_max_failures == 5
    assert table.at(date(2026, 7, 1)).login_max_failures == 3
    with pytest.raises(PolicyError, match="no version in force"):
        table.at(date(2023, 12, 31))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("- effective_from: 2024-01-01\n  max_members: -1\n  adult_age: 18\n", "field max_members"),
        ("- effective_from: 2024-01-01\n  adult_age: 18\n", "field max_members"),
        ("- effective_from: 2024-13-01\n  max_members: 5\n  adult_age: 18\n", "not valid YAML"),
        ("- effective_from: 2024-01-01\n  max_members: 5\n  adult_age: 18\n  extra: 1\n", "extra"),
        ("{not: [valid", "not valid YAML"),
        ("[]", "non-empty list"),
    ],
)
def test_bad_policy_file_names_file_and_field(tmp_path: Path, content: str, expected: str):
    for name in ("family.yaml", "access.yaml"):
        (tmp_path / name).write_text((POLICY_DIR / name).read_text(encoding="utf-8"), "utf-8")
    (tmp_path / "family.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    assert str(info.value).startswith("family.yaml")
    assert expected in str(info.value)
