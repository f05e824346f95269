"""RapidOCR set up for receipts on a few cores (imported lazily: it loads onnxruntime).

Measured on the generated receipts (CPU seconds per page, one onnxruntime thread): detection
0.65, recognition 0.73 in batches of six, 0.55 one crop at a time. Two choices follow:

- Recognition runs one crop per call: a batch is padded to its widest crop, and receipt cells
  ("1", "56.80", "西药费") differ so much in width that the padding cost more than batching saved.
- The cores are used by splitting the crops, not by onnxruntime's intra-op threads: recognition
  of a small crop gives two threads too little to share (two intra-op threads burnt 1.28 CPU
  seconds for 0.73 of work), while independent crops on one thread each scale almost fully.
  Detection, one large image, keeps the intra-op threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from rapidocr import RapidOCR
from rapidocr.ch_ppocr_rec import TextRecOutput


def _stop_spinning(holder: Any, threads: int) -> None:
    """Reload a model whose intra-op threads sleep instead of spinning while they wait.

    By default they spin, which on a machine shared with other processes burns the CPU the other
    thread is waiting for: detection on two threads under load 5.7 took 1.37 s (0.81 CPU-s)
    spinning, 1.26 s (0.73) not; under load 3, 0.54 and 0.52 s. RapidOCR does not pass session
    options through, hence the reload (once, at start-up)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.enable_cpu_mem_arena = False  # as RapidOCR sets it
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    model = holder.session._model_path
    holder.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


class ReceiptOCR(RapidOCR):
    """RapidOCR whose recognition splits the crops over ``threads`` single-threaded calls."""

    def __init__(self, threads: int, params: dict[str, Any]) -> None:
        engine = "EngineConfig.onnxruntime."
        super().__init__(
            params={
                **params,
                "Rec.rec_batch_num": 1,
                engine + "intra_op_num_threads": threads,
                engine + "inter_op_num_threads": 1,
            }
        )
        self.threads = threads
        # the calling thread reads one part of the crops, these the others
        self._helpers = ThreadPoolExecutor(max(threads - 1, 1), thread_name_prefix="ocr-rec")
        # load now: detection with the intra-op threads, recognition with one
        detector = self._load_det_model()
        if threads > 1:
            _stop_spinning(detector.session, threads)
        self.cfg.EngineConfig.onnxruntime.intra_op_num_threads = 1
        self._load_rec_model()

    def recognize_txt(self, img: list[np.ndarray]) -> Any:
        n = min(self.threads, len(img))
        if n < 2:
            return super().recognize_txt(img)
        # deal the crops out by width so that each part has about as much to read
        order = sorted(range(len(img)), key=lambda i: img[i].shape[1] / max(img[i].shape[0], 1))
        parts = [order[k::n] for k in range(n)]
        read = super().recognize_txt
        pending = [self._helpers.submit(read, [img[i] for i in p]) for p in parts[1:]]
        # the base class raises when a part reads nothing, so every result has its texts
        results = [read([img[i] for i in parts[0]]), *(f.result() for f in pending)]
        txts: list[Any] = [None] * len(img)
        scores: list[float] = [0.0] * len(img)
        words: list[Any] = [None] * len(img)
        for part, res in zip(parts, results, strict=True):
            for j, i in enumerate(part):
                txts[i], scores[i], words[i] = (
                    (res.txts or ())[j],
                    res.scores[j],
                    res.word_results[j],
                )
        return TextRecOutput(img, tuple(txts), scores, tuple(words))
