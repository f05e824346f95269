"""A client generated from the document by an independent tool (openapi-python-client) drives a
live server through a short citizen journey, with typed, parsed responses.

The generator runs as a subprocess on the document the server serves; it must neither warn
nor drop an operation.
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, get_type_hints

import httpx
import pytest
from PIL import Image

from backend.clock import CHINA_TZ
from tests.factories import id_number_for
from tests.live_server import live_server

GENERATOR_CONFIG = """\
project_name_override: yibao-client
package_name_override: yibao_client
content_type_overrides:
  image/svg+xml: application/octet-stream
  image/png: application/octet-stream
  image/jpeg: application/octet-stream
  application/pdf: application/octet-stream
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with live_server(tmp_path_factory.mktemp("live-client")) as url:
        yield url


@pytest.fixture(scope="module")
def generated(server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, int]:
    work = tmp_path_factory.mktemp("generated-client")
    document = httpx.get(f"{server}/docs/openapi.json").json()
    (work / "openapi.json").write_text(json.dumps(document, ensure_ascii=False))
    (work / "config.yaml").write_text(GENERATOR_CONFIG)
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(work / "openapi.json"),
            "--config",
            str(work / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(work / "yibao_client"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output, output
    sys.path.insert(0, str(work))
    try:
        package = importlib.import_module("yibao_client")
    finally:
        sys.path.remove(str(work))
    operations = sum(
        1
        for item in document["paths"].values()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    )
    return package, operations


def test_no_operation_is_dropped(generated):
    package, operations = generated
    api_dir = Path(package.__file__).parent / "api"
    modules = [p for p in api_dir.rglob("*.py") if p.name != "__init__.py"]
    assert len(modules) == operations


def _blank_scan_png() -> bytes:
    image = Image.new("RGB", (800, 500), "white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_citizen_journey_with_the_generated_client(generated, server):
    _package, _ = generated  # generated and importable
    client_mod = importlib.import_module("yibao_client.client")
    models = importlib.import_module("yibao_client.models")
    types = importlib.import_module("yibao_client.types")

    def api(module: str) -> Any:
        return importlib.import_module(f"yibao_client.api.{module}")

    def call(module: str, *, client: Any, body: dict[str, Any]) -> Any:
        """The operation with its generated body type built from ``body``: a typed answer."""
        sync = api(module).sync
        answer = sync(client=client, body=get_type_hints(sync)["body"].from_dict(body))
        assert answer is not None and not isinstance(answer, models.Error), answer
        return answer

    anonymous = client_mod.Client(base_url=server, raise_on_unexpected_status=True)
    # login: the local simulator plays wx.login(), then the code is exchanged for tokens
    code = call("dev.dev_login_code", client=anonymous, body={"user": "generated-client-user"})
    assert isinstance(code, models.DevLoginCodeOut)
    tokens = api("auth.citizen_login").sync(
        client=anonymous, body=models.CitizenLogin(code=code.code)
    )
    assert isinstance(tokens, models.LoginOut) and tokens.bound is False
    me = client_mod.AuthenticatedClient(
        base_url=server, token=tokens.access_token, raise_on_unexpected_status=True
    )

    # real-name binding: start a face verification, the simulator passes it, bind on it
    id_number = id_number_for(birth="19900307", seq="515")
    started = call(
        "me.start_verification", client=me, body={"name": "赵建华", "id_number": id_number}
    )
    assert isinstance(started, models.FaceVerificationOut) and started.expires_in > 0
    verify_id = started.verify_id
    checked = call(
        "dev.dev_face_verify", client=anonymous, body={"verify_id": verify_id, "outcome": "pass"}
    )
    assert isinstance(checked, models.DevFaceVerifyOut) and checked.finished is True
    profile = call("me.bind", client=me, body={"verify_id": verify_id})
    assert isinstance(profile, models.ProfileOut) and profile.bound is True

    # a remote-care filing (long-term residence with a written commitment): the signed letter
    # is uploaded first (multipart) and the filing names that upload
    letter = api("case_materials.upload_material").sync(
        client=me,
        body=models.UploadMaterialBody(
            file=types.File(payload=io.BytesIO(_blank_scan_png()), file_name="letter.png")
        ),
    )
    assert isinstance(letter, models.UploadOut), letter
    filing = api("filings.file").sync(
        client=me,
        body=models.FilingIn.from_dict(
            {
                "filing_type": "long_term_resident",
                "province_code": "440000",
                "city_code": "440300",
                "start_date": datetime.now(CHINA_TZ).date().isoformat(),
                "use_commitment": True,
                "materials": [{"key": "commitment_letter", "file_ref": letter.file_ref}],
            }
        ),
    )
    assert isinstance(filing, models.FileOut), filing
    assert filing.case.service_code

    # a reimbursement claim with an invoice upload (multipart)
    claim = api("claims.create_claim").sync(client=me, body=models.NewClaimIn())
    assert isinstance(claim, models.ClaimOut) and claim.status == "draft"
    uploaded = api("claims.upload_invoice").sync(
        claim.id,
        client=me,
        body=models.UploadInvoiceBody(
            file=types.File(payload=io.BytesIO(_blank_scan_png()), file_name="invoice.png")
        ),
    )
    assert isinstance(uploaded, models.UploadInvoiceOut)
    assert uploaded.claim.id == claim.id and len(uploaded.claim.invoices) == 1
    again = api("claims.get_claim").sync(claim.id, client=me)
    assert isinstance(again, models.ClaimOut) and again.invoices[0].id == uploaded.invoice_id
