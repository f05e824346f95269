"""Score the invoice OCR pipeline on the synthetic evaluation set.

For each engine (RapidOCR; Tesseract on request) through the full pipeline, and for a baseline
(plain Tesseract ``chi_sim`` with default settings on the raw decoded image, no preprocessing,
same field extraction), it reports exact-match field accuracy per field, per level (flatbed
scan vs phone photo) and per font style (Hei, Song, Kai, Fangsong), and seconds per image
(wall clock and CPU) with the models already loaded: wall time depends on what else runs on
the machine, CPU time (this process and its tesseract children) much less so; the onnxruntime
thread count and the load average are printed beside them. Generated PDF and OFD e-invoices are
scored too (read exactly from their text). Ends with one line:

    RESULT field_accuracy=… scan=… photo=… median_s=… median_cpu_s=… onnx_threads=… load=…
           einvoice_accuracy=… engine=rapidocr
           baseline_accuracy=… baseline_median_s=…   (on one line)

    python -m bench.ocr_eval [--count 48] [--seed 7] [--engines rapidocr,tesseract]
                                [--einvoices 24] [--json out.json]

Exact match: strings equal; amounts equal to the cent; ``items`` equal as a multiset of
(name, amount, code), the code where the receipt prints one. Only fields present in the ground
truth are scored.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.einvoice_synth import make_einvoice
from bench.ocr_synth import Sample, generate
from ocr.einvoice import read_einvoice
from ocr.engines import ONNX_THREADS, TesseractEngine
from ocr.fields import extract_fields
from ocr.pipeline import FIELD_KEYS, read_invoice


def _items_key(items: list[dict[str, Any]] | None) -> list[tuple[str, str, str]]:
    return sorted(
        (str(i.get("name")), str(i.get("amount")), str(i.get("code", ""))) for i in (items or [])
    )


def score(truth: dict[str, Any], predicted: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for key, expected in truth.items():
        got = predicted.get(key)
        if key == "items":
            out[key] = _items_key(expected) == _items_key(got)
        else:
            out[key] = got is not None and str(got) == str(expected)
    return out


def baseline_read(sample: Sample) -> dict[str, Any]:
    """Plain Tesseract on the raw image (no EXIF, no geometry, default page segmentation)."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(sample.data)) as im:
        rgb = np.asarray(im.convert("RGB"))
    lines = TesseractEngine(psm=None).recognize(rgb[:, :, ::-1])
    return extract_fields(lines).values()


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the tesseract processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(samples: list[Sample], name: str, engine: str | None) -> dict[str, Any]:
    per_image = []
    for s in samples:
        c0, t0 = _cpu(), time.perf_counter()
        if engine is None:
            values = baseline_read(s)
        else:
            values = read_invoice(s.data, engine=engine).values()
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        per_image.append(
            {
                "name": s.name,
                "difficulty": "scan" if s.truth["meta"]["difficulty"] == "clean" else "photo",
                "font_style": s.truth["meta"]["font_style"],
                "layout": s.truth["meta"]["layout"],
                "wall_s": wall,
                "cpu_s": cpu,
                "scores": score(s.truth["fields"], values),
            }
        )
        bad = [k for k, ok in per_image[-1]["scores"].items() if not ok]
        print(
            f"  [{name}] {s.name} {per_image[-1]['difficulty']:5s} {s.truth['meta']['layout']:10s}"
            f" {wall:5.2f}s  wrong: {', '.join(bad) or '-'}",
            flush=True,
        )
    return summarise(name, per_image)


def _acc(
    results: list[dict[str, Any]],
    difficulty: str | None = None,
    key: str | None = None,
    style: str | None = None,
) -> float | None:
    hits = total = 0
    for r in results:
        if difficulty and r["difficulty"] != difficulty:
            continue
        if style and r["font_style"] != style:
            continue
        for k, ok in r["scores"].items():
            if key and k != key:
                continue
            hits += ok
            total += 1
    return None if total == 0 else hits / total


def summarise(name: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in results]
    cpus = [r["cpu_s"] for r in results]
    per_field = {
        k: {
            "scan": _acc(results, "scan", k),
            "photo": _acc(results, "photo", k),
            "all": _acc(results, None, k),
        }
        for k in FIELD_KEYS
    }
    return {
        "name": name,
        "images": len(results),
        "field_accuracy": _acc(results),
        "scan_accuracy": _acc(results, "scan"),
        "per_style": {st: _acc(results, style=st) for st in ("hei", "song", "kai", "fangsong")},
        "photo_accuracy": _acc(results, "photo"),
        "images_all_correct": sum(all(r["scores"].values()) for r in results),
        "median_s": statistics.median(walls),
        "p90_s": sorted(walls)[int(0.9 * (len(walls) - 1))],
        "median_cpu_s": statistics.median(cpus),
        "per_field": per_field,
        "per_image": results,
    }


def _pct(v: float | None) -> str:
    return "  n/a" if v is None else f"{100 * v:5.1f}"


def print_table(runs: list[dict[str, Any]]) -> None:
    names = [r["name"] for r in runs]
    print("\nfield accuracy (%), scan / photo:")
    print(f"{'field':24s}" + "".join(f"{n:>22s}" for n in names))
    for k in FIELD_KEYS:
        row = f"{k:24s}"
        for r in runs:
            pf = r["per_field"][k]
            row += f"{_pct(pf['scan']):>14s} /{_pct(pf['photo'])}"
        print(row)
    print(
        f"{'ALL':24s}"
        + "".join(f"{_pct(r['scan_accuracy']):>14s} /{_pct(r['photo_accuracy'])}" for r in runs)
    )
    print("\nper engine:")
    for r in runs:
        acc = f"fields {_pct(r['field_accuracy'])}%  scan {_pct(r['scan_accuracy'])}%"
        acc += f"  photo {_pct(r['photo_accuracy'])}%"
        imgs = f"all-correct images {r['images_all_correct']}/{r['images']}"
        secs = f"median {r['median_s']:.2f}s  p90 {r['p90_s']:.2f}s"
        secs += f"  median CPU {r['median_cpu_s']:.2f}s"
        print(f"  {r['name']:10s} {acc}  {imgs}  {secs}")
        styles = "  ".join(f"{st} {_pct(v)}%" for st, v in r["per_style"].items())
        print(f"  {'':10s} by font style: {styles}")


def run_einvoices(count: int, seed: int) -> dict[str, Any]:
    """PDF and OFD e-invoices (half each), read from their text: exact-match accuracy."""
    hits = total = 0
    walls = []
    for i in range(count):
        e = make_einvoice(i, seed)
        t0 = time.perf_counter()
        values = read_einvoice(e.data).values()
        walls.append(time.perf_counter() - t0)
        scores = score(e.truth["fields"], values)
        hits += sum(scores.values())
        total += len(scores)
        bad = [k for k, ok in scores.items() if not ok]
        if bad:
            print(f"  [einvoice] {e.name} {e.fmt} wrong: {', '.join(bad)}")
    acc = hits / total if total else None
    med = statistics.median(walls) if walls else 0.0
    print(f"e-invoices: {count} (PDF and OFD), fields {_pct(acc)}% exact, median {med:.3f}s")
    return {"name": "einvoice", "images": count, "field_accuracy": acc, "median_s": med}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--engines", default="rapidocr")
    ap.add_argument("--einvoices", type=int, default=24)
    ap.add_argument("--photo-share", type=float, default=0.5)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", type=Path, help="write the full results here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    samples = generate(args.count, args.seed, args.photo_share)
    photos = sum(s.truth["meta"]["difficulty"] == "photo" for s in samples)
    print(
        f"generated {len(samples)} receipts ({photos} phone photos, {len(samples) - photos} scans) "
        f"in {time.perf_counter() - t0:.1f}s; cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}"
    )
    engines = [e for e in args.engines.split(",") if e]
    read_invoice(samples[0].data, engine=engines[0])  # load models once, outside the timings
    runs = [run(samples, e, e) for e in engines]
    baseline = None if args.no_baseline else run(samples, "baseline", None)
    all_runs = runs + ([baseline] if baseline else [])
    print_table(all_runs)
    einvoices = run_einvoices(args.einvoices, args.seed)
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.2f} (wall times include other processes' load)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = [*all_runs, einvoices]
        args.json.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    main_run = runs[0]

    def f3(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    b_acc = f3(baseline["field_accuracy"]) if baseline else "n/a"
    b_med = f"{baseline['median_s']:.2f}" if baseline else "n/a"
    print(
        f"RESULT field_accuracy={f3(main_run['field_accuracy'])}"
        f" scan={f3(main_run['scan_accuracy'])} photo={f3(main_run['photo_accuracy'])}"
        f" median_s={main_run['median_s']:.2f} median_cpu_s={main_run['median_cpu_s']:.2f}"
        f" onnx_threads={ONNX_THREADS} load={load:.1f}"
        f" einvoice_accuracy={f3(einvoices['field_accuracy'])}"
        f" engine={main_run['name']} baseline_accuracy={b_acc} baseline_median_s={b_med}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
