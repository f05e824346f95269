"""``yibao serve``: a small supervisor that keeps N web worker processes running.

Why our own and not Sanic's worker manager: Sanic's manager marks a worker that died as
FAILED and carries on with one fewer (``/readyz`` stays 200 at reduced capacity); nothing
replaces it. This supervisor has one job, so it stays simple enough to trust:

- it binds the listening socket once and forks the workers, which inherit it (each worker is
  Sanic in single-process mode on that socket, with the app built in the worker);
- a worker that exits without being asked is logged and replaced at once (checked every
  0.2 s), with the same slot number;
- SIGTERM or SIGINT: every worker gets SIGTERM and finishes or drops its requests within
  ``GRACE_S`` (Sanic's graceful shutdown); whatever is still alive after ``STOP_S`` is
  killed; the supervisor exits only when no worker is left;
- each worker asks the kernel for SIGTERM when the supervisor dies (``PR_SET_PDEATHSIG``),
  so a killed supervisor leaves no worker behind.

In production the supervisor itself runs under systemd (``deploy/systemd/``), which restarts
it if it dies and stops it with SIGTERM.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess

log = logging.getLogger("yibao.supervisor")

GRACE_S = 5.0  # Sanic's graceful shutdown: requests in flight get this long
STOP_S = 8.0  # then the supervisor kills what is left (SIGTERM to exit is under 10 s)
POLL_S = 0.2
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:  # not Linux: the supervisor's stop still reaps its workers
        pass


def _run_worker(sock: socket.socket, slot: int, access_log: bool) -> None:
    _die_with_parent()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from sanic import Sanic

    from backend.app import create_app

    app = create_app()
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACE_S
    app.prepare(sock=sock, single_process=True, access_log=access_log, motd=False)
    log.info("web worker %d ready (pid %d)", slot, os.getpid())
    Sanic.serve_single(app)


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    def __init__(self, sock: socket.socket, workers: int, *, access_log: bool = False) -> None:
        self._sock = sock
        self._count = workers
        self._access_log = access_log
        self._ctx = multiprocessing.get_context("fork")
        self._procs: dict[int, BaseProcess] = {}
        self._stop = threading.Event()

    def _spawn(self, slot: int) -> BaseProcess:
        proc = self._ctx.Process(
            target=_run_worker,
            args=(self._sock, slot, self._access_log),
            name=f"yibao-web-{slot}",
        )
        proc.start()
        return proc

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stop.set()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for slot in range(self._count):
            self._procs[slot] = self._spawn(slot)
        log.info("supervisor (pid %d): %d web workers", os.getpid(), self._count)
        while not self._stop.wait(POLL_S):
            for slot, proc in list(self._procs.items()):
                if proc.is_alive() or self._stop.is_set():
                    continue
                proc.join()
                replacement = self._spawn(slot)
                self._procs[slot] = replacement
                log.error(
                    "web worker %d (pid %s) exited with code %s; replaced by pid %s",
                    slot,
                    proc.pid,
                    proc.exitcode,
                    replacement.pid,
                )
        self._shutdown()
        return 0

    def _shutdown(self) -> None:
        log.info("supervisor: stopping %d web workers", len(self._procs))
        for proc in self._procs.values():
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_S
        for proc in self._procs.values():
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in self._procs.values():
            if proc.is_alive():
                log.warning("web worker %s did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.join(2)
        self._sock.close()
        log.info("supervisor: stopped")
