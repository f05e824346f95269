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
  lockout_max_minutes: 240
  login_attempts_per_minute: 10
  bindings_per_hour: 5
- effective_from: 2026-07-01
  login_max_failures: 3
  lockout_minutes: 30
  lockout_max_minutes: 240
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


# --- remote-care filing and chronic-disease policy (issue 6) -------------------------------------


def _copy_policy_dir(tmp_path):
    import shutil

    from config.policy import POLICY_DIR

    target = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, target)
    return target


def test_remote_care_and_chronic_tables_load_with_national_defaults():
    from config.policy import load_policies

    policies = load_policies()
    types = policies.remote_care.versions[-1].types
    assert {t.category for t in types.values()} == {"long_term", "temporary"}
    assert types["referral"].review and types["referral"].proofs == ["referral_document"]
    diseases = policies.chronic.versions[-1].diseases
    assert {"M03900", "M01600", "M00503", "M07803", "M08300", "M00105", "M01200"} <= set(diseases)
    assert {code for code, d in diseases.items() if d.fast_track} == {
        "M00503",
        "M00504",
        "M07803",
        "M07804",
        "M08300",
    }


@pytest.mark.parametrize(
    ("file", "old", "new", "field"),
    [
        ("remote_care.yaml", 'home_city_code: "330100"', 'home_city_code: "3301"', "(version)"),
        (
            "remote_care.yaml",
            "validity_days: 180\n      retroactive_days: 90",
            "retroactive_days: 90",
            "types.referral",
        ),
        (
            "remote_care.yaml",
            'no_filing_ratio_adjustment: "-0.20"',
            'no_filing_ratio_adjustment: "0.20"',
            "no_filing_ratio_adjustment",
        ),
        (
            "chronic.yaml",
            "institutions: 1\n    M01600",
            "institutions: 0\n    M01600",
            "diseases.M03900.institutions",
        ),
        (
            "chronic.yaml",
            "evidence: [diagnosis_certificate, medical_record, exam_report]\n"
            "      criteria:\n        C1: 二级及以上医院确诊高血压病",
            "evidence: [x_ray]\n      criteria:\n        C1: 二级及以上医院确诊高血压病",
            "diseases.M03900.evidence",
        ),
    ],
)
def test_a_bad_filing_or_disease_table_names_file_and_field(tmp_path, file, old, new, field):
    from config.policy import PolicyError, load_policies

    directory = _copy_policy_dir(tmp_path)
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        load_policies(directory)
    assert file in str(exc.value) and field in str(exc.value)


def test_administrative_code_shapes():
    from config.policy import is_city_code, is_province_code

    assert is_province_code("440000") and is_province_code("110000")
    assert not is_province_code("440300") and not is_province_code("990000")
    assert is_city_code("440300") and is_city_code("110100")
    assert not is_city_code("440000") and not is_city_code("440305") and not is_city_code("44030")
