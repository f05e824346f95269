"""``yibao ocr IMAGE --json``: the printed JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.cli import main
from bench import ocr_synth as synth
from ocr.pipeline import FIELD_KEYS
from tests.conftest import require


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_ocr_json_schema(engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require(bool(synth.find_cjk_fonts()), "a CJK font (fonts-noto-cjk)")
    sample = synth.make_sample(1, 5, layout="paper_grid", difficulty="clean")
    image = tmp_path / f"invoice.{sample.ext}"
    image.write_bytes(sample.data)

    assert main(["ocr", str(image), "--engine", engine, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)

    assert set(doc["fields"]) == set(FIELD_KEYS)
    for key, f in doc["fields"].items():
        assert set(f) >= {"value", "confidence", "box"}, key
        assert isinstance(f["confidence"], float | int)
        if f["box"] is not None:
            assert len(f["box"]) == 4 and all(len(p) == 2 for p in f["box"])
    assert isinstance(doc["fields"]["items"]["value"], list)
    for name in ("upper_matches_total", "items_sum_matches_total", "payments_add_up", "qr"):
        assert set(doc["checks"][name]) >= {"ok", "detail"}
    assert doc["engine"] == engine
    assert doc["fields"]["invoice_code"]["value"] == sample.truth["fields"]["invoice_code"]


def test_ocr_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"not an image")
    assert main(["ocr", str(bad), "--json"]) == 2
    assert "无法读取图片" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ocr", str(bad), "--engine", "nope"])


def test_ocr_jsonl_reads_many_files_in_order_and_reports_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require(bool(synth.find_cjk_fonts()), "a CJK font (fonts-noto-cjk)")
    from bench.einvoice_synth import make_einvoice

    scan = synth.make_sample(4, 5, layout="paper_list", difficulty="clean")
    ofd = make_einvoice(3, 5, fmt="ofd")
    files = {
        "scan": (f"scan.{scan.ext}", scan.data),
        "cut": ("cut.jpg", scan.data[: len(scan.data) // 3] if scan.ext == "jpg" else b"\xff\xd8"),
        "text": ("notes.txt", "不是图片".encode()),
        "ofd": ("e.ofd", ofd.data),
    }
    paths = []
    for name, data in files.values():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    paths.insert(3, str(tmp_path / "missing.png"))

    assert main(["ocr", *paths, "--jsonl"]) == 1  # some files could not be read
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["file"] for d in lines] == paths
    good, cut, text, missing, e_invoice = lines
    assert good["fields"]["invoice_number"]["value"] == scan.truth["fields"]["invoice_number"]
    for bad in (cut, text, missing):
        assert bad["error"]["code"] == "UNREADABLE" and "fields" not in bad
    assert e_invoice["engine"] == "ofd-text"
    assert e_invoice["fields"]["total_amount"]["value"] == ofd.truth["fields"]["total_amount"]
    assert e_invoice["checks"]["qr"]["ok"] is True
