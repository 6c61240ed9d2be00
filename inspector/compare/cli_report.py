"""The `compare` sub-command's output: a table, one JSON object, or a CSV file."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

from inspector.compare.report import CompareError, CompareReport, compare_models
from inspector.ir import Model

CSV_COLUMNS = ("a", "b", "shape", "max_abs", "max_rel", "cosine", "snr_db")


def _num(x: float) -> float | str:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf" if x < 0 else "nan")


def write_csv(report: CompareReport, path: Path) -> None:
    """One row per matched value (A's topological order), then the weights (kind column)."""
    try:
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(("kind", *CSV_COLUMNS))
            for kind, rows in (("value", report.values), ("weight", report.weights)):
                for d in rows:
                    w.writerow((kind, d.a, d.b, "x".join(map(str, d.shape)), d.max_abs,
                                d.max_rel, d.cosine, d.snr_db))
    except OSError as e:
        raise CompareError(f"{path}: cannot be written ({e.strerror or e})") from None


def format_table(report: CompareReport) -> str:
    """The plain-text report: per value, unmatched nodes, first divergence."""
    wa = max((len(d.a) for d in report.values), default=1)
    wb = max((len(d.b) for d in report.values), default=1)
    lines = [f"{'A':<{wa}}  {'B':<{wb}}  {'shape':<14} {'max_abs':>10} {'max_rel':>10} "
             f"{'cosine':>9} {'snr_db':>8}"]
    for d in report.values:
        shape = "x".join(map(str, d.shape)) or "scalar"
        lines.append(f"{d.a:<{wa}}  {d.b:<{wb}}  {shape:<14} {d.max_abs:>10.3g} "
                     f"{d.max_rel:>10.3g} {d.cosine:>9.6f} {d.snr_db:>8.2f}")
    if report.weights:
        worst = min(report.weights, key=lambda d: d.snr_db)
        lines.append(f"weights: {len(report.weights)} matched, lowest SNR {worst.snr_db:.2f} dB "
                     f"({worst.a})")
    lines.append(f"unmatched_a: {', '.join(report.matching.unmatched_a) or '-'}")
    lines.append(f"unmatched_b: {', '.join(report.matching.unmatched_b) or '-'}")
    fd = report.first_divergence
    lines.append("first_divergence: " + ("none" if fd is None else
                 f"{fd.a} / {fd.b} (max_rel {fd.max_rel:.3g} > {report.threshold:g})"))
    return "\n".join(lines)


def run_compare(a: Model, b: Model, args: argparse.Namespace) -> int:
    """Compare, then print (table or --json) and write the -o CSV."""
    report = compare_models(a, b, args.input, seed=args.seed, threshold=args.threshold)
    if args.output:
        write_csv(report, Path(args.output))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2,
                         default=lambda x: _num(x) if isinstance(x, float) else str(x)))
    else:
        print(format_table(report))
        if args.output:
            print(f"wrote {args.output}", file=sys.stderr)
    return 0
