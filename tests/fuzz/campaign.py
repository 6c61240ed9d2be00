"""The bad-file fuzz campaign: mutate the samples (tests/fuzz/mutators.py), run `info` and
`run --input random` on each in worker processes, and count what happened.

    python -m tests.fuzz.campaign [--seed 0] [--scale 1.0] [--workers 2] [--limit N]
                                  [--keras-run all|sample|none] [--report out.json]
    python -m tests.fuzz.campaign --write CASE_ID --to DIR     (reproduce one case)

Counts: cases, ok-loaded (info exit 0), clean-refusal (exit 2, one line), tracebacks
(an internal error, a second stderr line or anything escaping main), stderr noise (a
clean refusal, but a native library wrote more lines to fd 2), hangs (a command over
--hang seconds: the worker is killed), crashes (the worker died, e.g. by a signal), code
executions (a Lambda payload's canary file appeared) and memory blow-ups (MemoryError or a
death under the RLIMIT_AS cap, 4 GiB by default). Workers restart after a death or a hang.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.mutators import CANARY_ENV, Case, all_cases, write_case

ROOT = Path(__file__).resolve().parents[2]
BAD = ("traceback", "hang", "crash", "code_execution", "memory", "noisy")


@dataclass
class Outcome:
    """What happened to one case."""

    case: Case
    info: str = "not-run"  # ok | refused | traceback | hang | crash | memory
    run: str = "not-run"
    detail: dict[str, str] = field(default_factory=dict)
    code_execution: bool = False

    def worst(self) -> str:
        if self.code_execution:
            return "code_execution"
        for bad in ("crash", "hang", "memory", "traceback", "noisy"):
            if bad in (self.info, self.run):
                return bad
        return "ok" if self.info == "ok" else "refused"


def _limit_memory(cap: int) -> Any:
    def pre() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.nice(5)

    return pre


class Worker:
    """One worker process and a thread reading its answers into a queue."""

    def __init__(self, env: dict[str, str], mem_cap: int, log: Path) -> None:
        self._env, self._cap, self._log = env, mem_cap, log
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.restarts = -1

    def start(self, timeout: float = 120.0) -> None:
        self.stop()
        self.restarts += 1
        self.lines = queue.Queue()
        with self._log.open("a") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.fuzz.worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env=self._env,
                preexec_fn=_limit_memory(self._cap), bufsize=1,
            )
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()
        first = self.lines.get(timeout=timeout)
        if not first or "ready" not in first:
            raise RuntimeError(f"worker did not start (see {self._log})")

    @staticmethod
    def _read(proc: subprocess.Popen[str], q: queue.Queue) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                q.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        q.put(None)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        self.proc = None

    def send(self, req: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()


def _classify(end: dict[str, Any]) -> str:
    if end["rc"] == 0:
        return "ok"
    if "not enough memory" in end["err"]:
        return "memory"
    if end["tb"]:
        return "traceback"
    if end["err"].startswith("NOISE: "):
        return "noisy"  # a clean line, but a native library printed more lines on stderr
    return "refused"


def run_one(worker: Worker, case: Case, path: Path, canary: Path, hang: float,
            do_run: bool) -> Outcome:
    """Send one case to the worker and wait for its commands (restarting it on a death)."""
    out = Outcome(case)
    try:
        worker.send({"id": case.id, "path": str(path), "run": do_run})
    except (BrokenPipeError, OSError):
        worker.start()
        worker.send({"id": case.id, "path": str(path), "run": do_run})
    current = "info"
    while True:
        try:
            msg = worker.lines.get(timeout=hang)
        except queue.Empty:
            setattr(out, current, "hang")
            out.detail[current] = f"no answer after {hang:.0f} s"
            worker.start()
            break
        if msg is None:  # the worker died mid-case
            worker.proc.wait()  # type: ignore[union-attr]
            rc = worker.proc.returncode  # type: ignore[union-attr]
            setattr(out, current, "crash")
            out.detail[current] = f"worker died (exit {rc}" + (
                f", signal {signal.Signals(-rc).name})" if rc < 0 else ")")
            worker.start()
            break
        if "begin" in msg:
            current = msg["cmd"]
        elif "end" in msg:
            kind = _classify(msg)
            setattr(out, msg["cmd"], kind)
            if kind != "ok":
                out.detail[msg["cmd"]] = msg["err"]
        elif "done" in msg:
            break
    if canary.exists():
        out.code_execution = True
        canary.unlink()
    return out


def _do_run(case: Case, policy: str) -> bool:
    if policy == "all" or not case.sample.endswith((".keras", ".h5")):
        return True
    if policy == "none":
        return False
    # "sample": every structural Keras case, and one in eight of the random ones (each
    # mutated Keras file that loads costs a TensorFlow conversion, 1-5 s).
    if case.family in ("keras_config", "h5_config", "zip_lie", "truncate"):
        return True
    return int(case.id.rsplit(":", 1)[1]) % 8 == 0


def campaign(cases: list[Case], *, workers: int = 2, hang: float = 10.0,
             mem_cap: int = 4 << 30, keras_run: str = "sample", batch: int = 40,
             progress: bool = True) -> list[Outcome]:
    """Run every case; return the outcomes in case order."""
    tmp = Path(tempfile.mkdtemp(prefix="mi-fuzz-"))
    canary = tmp / "CANARY-code-was-executed"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               MODEL_INSPECTOR_CACHE=str(tmp / "cache"), MI_FUZZ_TMP=str(tmp),
               TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", OMP_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", **{CANARY_ENV: str(canary)})
    if keras_run != "none":
        env["MI_FUZZ_WARM_TF"] = "1"
    results: list[Outcome | None] = [None] * len(cases)
    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(cases)):
        todo.put(i)
    done = [0]
    lock = threading.Lock()
    start = time.monotonic()

    def drive(k: int) -> None:
        w = Worker(env, mem_cap, tmp / f"worker{k}.log")
        w.start()
        try:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                case = cases[i]
                folder = tmp / f"w{k}" / f"{i}" / "model"
                try:
                    path = write_case(case, folder, canary)
                except Exception as e:  # noqa: BLE001 - a mutator bug is reported, not fatal
                    o = Outcome(case, "refused", "refused", {"write": repr(e)})
                else:
                    o = run_one(w, case, path, canary, hang, _do_run(case, keras_run))
                shutil.rmtree(folder.parent, ignore_errors=True)
                results[i] = o
                with lock:
                    done[0] += 1
                    if progress and done[0] % 250 == 0:
                        rate = done[0] / (time.monotonic() - start)
                        print(f"  {done[0]}/{len(cases)} cases, {rate:.1f}/s", flush=True)
        finally:
            w.stop()

    threads = [threading.Thread(target=drive, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shutil.rmtree(tmp, ignore_errors=True)
    return [r for r in results if r is not None]


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    """The campaign's figures."""
    c: collections.Counter[str] = collections.Counter()
    c["cases"] = len(outcomes)
    for o in outcomes:
        c["ok-loaded" if o.info == "ok" else "clean-refusal" if o.info == "refused" else
          "info-" + o.info] += 1
        if o.run != "not-run":
            c["run-executed"] += 1
            c[f"run-{o.run}"] += 1
        c["tracebacks"] += "traceback" in (o.info, o.run)
        c["hangs"] += "hang" in (o.info, o.run)
        c["crashes"] += "crash" in (o.info, o.run)
        c["memory-blowups"] += "memory" in (o.info, o.run)
        c["stderr-noise"] += "noisy" in (o.info, o.run)
        c["code-executions"] += o.code_execution
    for key in ("tracebacks", "hangs", "crashes", "memory-blowups", "code-executions",
                "stderr-noise"):
        c.setdefault(key, 0)
    return dict(c)


def failures(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """The cases that broke the contract, with what each command said."""
    return [
        {"id": o.case.id, "family": o.case.family, "params": o.case.params, "worst": o.worst(),
         "info": o.info, "run": o.run, "detail": o.detail}
        for o in outcomes if o.worst() in BAD
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="only the first N cases")
    ap.add_argument("--family", default="", help="only cases of this family")
    ap.add_argument("--hang", type=float, default=10.0)
    ap.add_argument("--mem-gib", type=float, default=4.0)
    ap.add_argument("--keras-run", choices=("all", "sample", "none"), default="sample")
    ap.add_argument("--report", default="")
    ap.add_argument("--write", default="", help="write this case id's file and stop")
    ap.add_argument("--to", default=".")
    a = ap.parse_args(argv)
    cases = all_cases(a.seed, a.scale)
    if a.write:
        case = next(c for c in cases if c.id == a.write)
        print(write_case(case, Path(a.to), Path(a.to) / "CANARY"))
        return 0
    if a.family:
        cases = [c for c in cases if c.family == a.family]
    if a.limit:
        cases = cases[: a.limit]
    fams = collections.Counter(c.family for c in cases)
    print(f"{len(cases)} cases (seed {a.seed}): " + ", ".join(f"{k} {v}" for k, v in sorted(fams.items())))
    t = time.monotonic()
    outcomes = campaign(cases, workers=a.workers, hang=a.hang, mem_cap=int(a.mem_gib * 2**30),
                        keras_run=a.keras_run)
    figures = counts(outcomes)
    print(f"done in {time.monotonic() - t:.0f} s")
    for k, v in figures.items():
        print(f"{k:18} {v}")
    bad = failures(outcomes)
    for b in bad[:40]:
        print(f"  {b['worst']:14} {b['id']}  info={b['info']} run={b['run']}  {b['detail']}")
    if a.report:
        Path(a.report).write_text(json.dumps({"counts": figures, "failures": bad}, indent=1,
                                             default=str))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
