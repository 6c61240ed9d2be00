"""The fuzz worker: reads one JSON request per line on stdin, runs the CLI's `info` and
`run --input random` on the file in this process, and answers one JSON line per command.

Protocol (stdout, one JSON object a line): {"begin": id, "cmd": c} before each command,
then {"end": id, "cmd": c, "rc": n, "err": first stderr line, "tb": bool, "s": seconds}.
The campaign's parent kills and restarts the worker when a command passes the hang limit
or the process dies (a signal is a crash). Memory is capped by the parent (RLIMIT_AS).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time

# Native libraries print to fd 1; the protocol needs it clean, so keep a private copy.
_PROTO = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


def _send(obj: dict) -> None:
    _PROTO.write(json.dumps(obj) + "\n")
    _PROTO.flush()


def _cli(args: list[str]) -> tuple[int, str, bool]:
    from inspector.cli import main

    out, err = io.StringIO(), io.StringIO()
    tb = False
    # Native libraries (onnxruntime, HDF5, TensorFlow) write to fd 2 directly: catch that too.
    native = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(native.fileno(), 2)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(args)
    except BaseException as e:  # noqa: BLE001 - anything escaping main is a traceback
        rc, tb = 99, True
        err.write(f"escaped main: {type(e).__name__}: {e}")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    native.seek(0)
    noise = [ln for ln in native.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    native.close()
    text = err.getvalue()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if "Traceback" in text or "internal error" in text:
        tb = True
    if rc != 0 and len(lines) != 1:
        tb = True  # the contract: one line on stderr
    if rc != 0 and noise and not tb:
        return rc, ("NOISE: " + noise[0])[:300], False
    return rc, (lines[0] if lines else "")[:300], tb


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out_npz = os.path.join(os.environ.get("MI_FUZZ_TMP", "/tmp"), f"acts-{os.getpid()}.npz")
    if os.environ.get("MI_FUZZ_WARM_TF") == "1":
        with contextlib.suppress(Exception):
            import tensorflow  # noqa: F401 - paid once per worker, not inside a timed case
    import inspector.cli  # noqa: F401
    import inspector.runtime.activations  # noqa: F401

    _send({"ready": os.getpid()})
    for line in sys.stdin:
        req = json.loads(line)
        cid, path = req["id"], req["path"]
        cmds = [["info", path, "--json"]]
        if req.get("run", True):
            cmds.append(["run", path, "--input", "random", "-o", out_npz])
        for args in cmds:
            _send({"begin": cid, "cmd": args[0]})
            t = time.perf_counter()
            rc, err, tb = _cli(args)
            _send({"end": cid, "cmd": args[0], "rc": rc, "err": err, "tb": tb,
                   "s": round(time.perf_counter() - t, 3)})
            if args[0] == "info" and rc != 0:
                # `run` opens the file the same way; a refused file is still run, so the
                # run path's own checks are exercised too.
                pass
        with contextlib.suppress(OSError):
            os.unlink(out_npz)
        from inspector.runtime.activations import clear_sessions

        clear_sessions()
        _send({"done": cid})


if __name__ == "__main__":
    main()
