import base64
import secrets

import pytest

from backend.infra.keys import DEV_KEY_FILE, KEY_NAMES, KeyConfigError, load_keys
from config.settings import Settings


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_development_generates_keys_once(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    first = load_keys(settings)
    second = load_keys(settings)
    assert first == second
    assert (tmp_path / DEV_KEY_FILE).stat().st_mode & 0o077 == 0  # readable by the owner only


def test_production_refuses_missing_keys(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, env="production")
    with pytest.raises(KeyConfigError, match="YIBAO_JWT_SECRET"):
        load_keys(settings)


def test_production_refuses_development_keys(tmp_path):
    dev = Settings(_env_file=None, data_dir=tmp_path)
    load_keys(dev)
    import json

    dev_values = json.loads((tmp_path / DEV_KEY_FILE).read_text())
    prod = Settings(
        _env_file=None,
        data_dir=tmp_path,
        env="production",
        **{name: dev_values[name] for name in KEY_NAMES},
    )
    with pytest.raises(KeyConfigError, match="开发密钥"):
        load_keys(prod)


def test_production_accepts_its_own_keys(tmp_path):
    prod = Settings(
        _env_file=None, data_dir=tmp_path, env="production", **{n: _key() for n in KEY_NAMES}
    )
    assert len(load_keys(prod).pii_key) == 32


def test_short_key_is_refused(tmp_path):
    settings = Settings(
        _env_file=None, data_dir=tmp_path, jwt_secret=base64.b64encode(b"short").decode()
    )
    with pytest.raises(KeyConfigError, match="32"):
        load_keys(settings)
