"""The command line: `model-inspector [FILE]`, `info`, `render`, `run`, `grad`.

A stable contract (see DESIGN.md): bad input exits with status 2 and one clear line on
stderr, never a traceback. Heavy modules (onnxruntime, Qt, TensorFlow) are imported only by
the sub-command that needs them, so `info` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inspector import __version__
from inspector.ir import Model, format_shape

EXIT_BAD_INPUT = 2
SUBCOMMANDS = ("info", "render", "run", "grad", "compare")


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _load(path: str) -> Model:
    from inspector.loaders import ModelLoadError, load_model

    try:
        return load_model(path)
    except ModelLoadError as e:
        raise CliError(str(e)) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --- info -------------------------------------------------------------------------------


def _io_rows(items: list[dict[str, Any]]) -> list[str]:
    rows = []
    for it in items:
        shape = None if it["shape"] is None else tuple(it["shape"])
        rows.append(f"    {it['name']:<32} {it['dtype'] or '?':<10} {format_shape(shape)}")
    return rows


def cmd_info(args: argparse.Namespace) -> int:
    """Print a model's facts, as a table or one JSON object."""
    model = _load(args.file)
    facts = model.summary()
    if args.json:
        print(json.dumps(facts, indent=2, default=str))
        return 0
    opset = ", ".join(f"{d} {v}" for d, v in facts["opset"].items()) or "-"
    lines = [
        f"file        {facts['path']}",
        f"format      {facts['format']} ({facts['format_version']})",
        f"producer    {facts['producer'] or '-'}",
        f"opset       {opset}",
        f"nodes       {facts['nodes']}",
        f"parameters  {facts['parameters']:,}",
        "inputs",
        *_io_rows(facts["inputs"]),
        "outputs",
        *_io_rows(facts["outputs"]),
        "op types",
    ]
    width = max((len(k) for k in facts["op_types"]), default=0)
    for op, n in sorted(facts["op_types"].items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"    {op:<{width}}  {n}")
    for w in facts["warnings"]:
        lines.append(f"warning     {w}")
    print("\n".join(lines))
    return 0


# --- render -----------------------------------------------------------------------------


def _ensure_qt_platform() -> None:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def cmd_render(args: argparse.Namespace) -> int:
    """Draw the architecture diagram to a PNG or SVG file."""
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".svg"):
        raise CliError(f"{out.name}: the output must end in .png or .svg")
    model = _load(args.file)
    _ensure_qt_platform()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from inspector.ui.render import render_model

    try:
        note = render_model(model, out, horizontal=args.horizontal)
    except OSError as e:
        raise CliError(f"{out}: cannot be written ({e.strerror or e})") from None
    print(f"wrote {out}" + (f" ({note})" if note else ""))
    return 0


# --- run / grad -------------------------------------------------------------------------


def _feeds(model: Model, spec: str, seed: int) -> dict[str, np.ndarray]:
    from inspector.runtime.inputs import load_inputs, make_inputs

    if spec in ("random", "zeros", "ones"):
        return make_inputs(model, kind=spec, seed=seed)
    from inspector.loaders.registry import ModelLoadError, check_regular_file

    try:
        check_regular_file(spec)  # a FIFO given as --input would block the open
    except ModelLoadError as e:
        raise CliError(str(e)) from None
    return load_inputs(Path(spec), model)


def _array_summary(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, a in arrays.items():
        entry: dict[str, Any] = {"shape": list(a.shape), "dtype": str(a.dtype)}
        if a.size and np.issubdtype(a.dtype, np.number):
            f = a.astype(np.float64, copy=False)
            entry.update(
                min=float(f.min()), max=float(f.max()), mean=float(f.mean()), std=float(f.std())
            )
        out[key] = entry
    return out


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        with path.open("wb") as f:
            np.savez(f, **arrays)
    except OSError as e:
        raise CliError(f"{path}: cannot be written ({e.strerror or e})") from None


def _write_and_report(args: argparse.Namespace, arrays: dict[str, np.ndarray],
                      summary: dict[str, Any], lines: list[str]) -> int:
    """Save `arrays` to the -o file, then print `summary` as JSON (--json) or `lines`."""
    out = Path(args.output)
    _save_npz(out, arrays)
    if args.json:
        print(json.dumps({"output_file": str(out), **summary, "values": _array_summary(arrays)},
                         indent=2, default=float))
    else:
        print("\n".join(line.replace("{out}", str(out)) for line in lines))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Write every layer's activation for one input to an .npz."""
    from inspector.runtime.activations import run_activations

    model = _load(args.file)
    feeds = _feeds(model, args.input, args.seed)
    from inspector.runtime.structured_values import flatten_all

    result = run_activations(model, feeds)
    values = dict(result.values)
    # Sequences, maps and optionals as `name/...` arrays (documented in structured_values).
    values.update(flatten_all(result.structured))
    summary = {
        "file": model.path,
        "inputs": _array_summary(feeds),
        "outputs": _array_summary(result.outputs),
        "structured": {k: v.summary() for k, v in result.structured.items()},
        "skipped": result.skipped,
        "seconds": result.seconds,
        "engine": result.engine,
    }
    if result.note:
        summary["note"] = result.note
    lines = [f"wrote {len(values)} arrays ({len(result.values)} activations) to {{out}}"]
    lines += [f"note: {result.note}"] if result.note else []
    lines += [f"skipped {key}: {why}" for key, why in result.skipped.items()]
    return _write_and_report(args, values, summary, lines)


def cmd_grad(args: argparse.Namespace) -> int:
    """Write the gradient of the loss at every layer output and weight to an .npz."""
    from inspector.autodiff import compute_gradients

    model = _load(args.file)
    feeds = _feeds(model, args.input, args.seed)
    result = compute_gradients(model, feeds, target=args.target, loss=args.loss)
    summary = {
        "file": model.path,
        "loss": result.loss,
        "loss_kind": result.loss_kind,
        "target": result.target,
        "output": result.output_name,
        "reduction": result.reduction,
        "engine": result.engine,
        "shared": result.shared,
        "norms": result.norms,
        "uncovered": result.uncovered,
    }
    if result.note:
        summary["note"] = result.note
    red = result.reduction
    lines = [
        f"loss {result.loss:.6g} ({result.loss_kind}, target {result.target})",
        *([f"reduction: {red['formula']} ({red['keras']})"] if red else []),
        f"wrote {len(result.values)} gradients to {{out}}",
    ]
    lines += [f"note: {result.note}"] if result.note else []
    lines += [f"no gradient through {op}: {why}" for op, why in result.uncovered.items()]
    return _write_and_report(args, result.values, summary, lines)


def cmd_compare(args: argparse.Namespace) -> int:
    """Layer-by-layer differences between two models on one input."""
    from inspector.compare.cli_report import run_compare

    a, b = _load(args.a), _load(args.b)
    return run_compare(a, b, args)


# --- GUI --------------------------------------------------------------------------------


def cmd_gui(files: list[str], extra: Sequence[str] = ()) -> int:
    """Open the desktop app on FILE(s), or on the sample gallery."""
    headless_ok = {"--self-test", "--install-desktop", "--uninstall-desktop"}
    if (
        sys.platform.startswith("linux")
        and not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
        and not headless_ok.intersection(extra)
    ):
        # Qt would abort with a multi-line plugin error; say it in one line instead.
        raise CliError("no display to open a window on (set DISPLAY, or use the info, render, "
                       "run and grad sub-commands)")
    from inspector.ui.app import run_app

    return run_app(files, list(extra))


# --- parser -----------------------------------------------------------------------------


def _int_or_float(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text}") from None


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so errors stay one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The sub-command parser (the GUI form `model-inspector [FILE]` is handled before it)."""
    p = _Parser(prog="model-inspector", description="Open a neural-network model and explain it.")
    p.add_argument("--version", action="version", version=f"model-inspector {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    info = sub.add_parser("info", help="format, producer, opset, nodes, parameters, inputs, outputs")
    info.add_argument("file")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=cmd_info)

    render = sub.add_parser("render", help="draw the architecture to PNG or SVG")
    render.add_argument("file")
    render.add_argument("-o", "--output", required=True)
    render.add_argument("--horizontal", action="store_true", help="lay out left to right")
    render.set_defaults(func=cmd_render)

    run = sub.add_parser("run", help="every layer's activation for one input, to .npz")
    run.add_argument("file")
    run.add_argument("--input", default="random", help="PATH (.npy/.npz/image/.csv), random or zeros")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("-o", "--output", required=True)
    run.add_argument("--json", action="store_true", help="print a JSON summary")
    run.set_defaults(func=cmd_run)

    grad = sub.add_parser("grad", help="gradient of the loss at every layer and weight, to .npz")
    grad.add_argument("file")
    grad.add_argument("--input", default="random", help="PATH (.npy/.npz/image/.csv) or random")
    grad.add_argument("--seed", type=int, default=0)
    grad.add_argument("--target", type=_int_or_float, default=None, help="class index or value")
    grad.add_argument("--loss", choices=("ce", "mse"), default="ce")
    grad.add_argument("-o", "--output", required=True)
    grad.add_argument("--json", action="store_true", help="print a JSON summary")
    grad.set_defaults(func=cmd_grad)

    cmp = sub.add_parser("compare", help="layer-by-layer differences between two models")
    cmp.add_argument("a")
    cmp.add_argument("b")
    cmp.add_argument("--input", default="random", help="PATH (.npy/.npz/image/.csv), random or zeros")
    cmp.add_argument("--seed", type=int, default=0)
    cmp.add_argument("--threshold", type=float, default=1e-3,
                     help="first divergence: the first value whose max_rel passes this")
    cmp.add_argument("--json", action="store_true", help="print one JSON object")
    cmp.add_argument("-o", "--output", default=None, help="write the per-value table as CSV")
    cmp.set_defaults(func=cmd_compare)
    return p


def _guard(fn: Callable[[], int]) -> int:
    """Run a command; user errors become one line on stderr and exit status 2."""
    from inspector.progress import Cancelled
    from inspector.runtime.errors import RunError

    try:
        return fn()
    except (CliError, RunError) as e:
        print(f"model-inspector: {_one_line(str(e))}", file=sys.stderr)
    except Cancelled:
        print("model-inspector: cancelled", file=sys.stderr)
    except BrokenPipeError:
        # `model-inspector info x --json | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("model-inspector: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("model-inspector: not enough memory for this model or input", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - the contract: never a traceback
        print(
            f"model-inspector: internal error: {type(e).__name__}: {_one_line(str(e))}",
            file=sys.stderr,
        )
    return EXIT_BAD_INPUT


# GUI options that take a separate value: `--screenshot PATH` must not make PATH a file to open.
GUI_VALUE_OPTIONS = ("--screenshot", "--theme")
# `--compare A B` takes two values.
GUI_TWO_VALUE_OPTIONS = ("--compare",)


def split_gui_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split the GUI form's arguments into (files to open, options with their values)."""
    files: list[str] = []
    extra: list[str] = []
    it = iter(args)
    for a in it:
        if a.startswith("-"):
            extra.append(a)
            for _ in range(2 if a in GUI_TWO_VALUE_OPTIONS else a in GUI_VALUE_OPTIONS):
                value = next(it, None)
                if value is not None:
                    extra.append(value)
        else:
            files.append(a)
    return files, extra


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `model-inspector` script and `python -m inspector`."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    if first not in SUBCOMMANDS and not any(a in ("-h", "--help", "--version") for a in args_list):
        files, extra = split_gui_args(args_list)
        compare = extra[extra.index("--compare") + 1:][:2] if "--compare" in extra else []
        missing = [f for f in files + compare if not Path(f).exists()]
        if missing:
            # A typo (or an unknown sub-command) must not open a window that waits for a user.
            hint = f" (sub-commands: {', '.join(SUBCOMMANDS)})" if len(files) == 1 else ""
            print(f"model-inspector: {missing[0]}: no such file{hint}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return _guard(lambda: cmd_gui(files, extra))

    def go() -> int:
        try:
            ns = build_parser().parse_args(args_list)
        except SystemExit as e:  # --help / --version
            return int(e.code or 0)
        return int(ns.func(ns))

    return _guard(go)


if __name__ == "__main__":
    raise SystemExit(main())
