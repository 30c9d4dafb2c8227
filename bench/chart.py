"""The summary chart: every target as measured/target, and every ratio to its same-run baseline."""

from __future__ import annotations

from pathlib import Path

from bench.common import Result


def draw(results: list[Result], path: Path) -> None:
    """Write a PNG with two panels: targets (1.0 = the target, left of it meets it) and ratios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checks = [(r.name.split()[0], c) for r in results for c in r.checks]
    ratios = [(r.name.split()[0], label, value) for r in results for label, value in r.ratios]
    height = max(len(checks), len(ratios), 4) * 0.42 + 1.6
    figure, (left, right) = plt.subplots(1, 2, figsize=(15, height))

    labels = [
        f"{c.label}\n{c.value:,.2f} {c.unit} ({'>=' if c.higher_is_better else '<='} {c.target:g})" for _, c in checks
    ]
    scores = [max(c.score, 1e-3) for _, c in checks]
    colours = ["#2da44e" if c.met else "#cf222e" for _, c in checks]
    left.barh(range(len(checks)), scores, color=colours)
    left.axvline(1.0, color="black", linewidth=1)
    left.set_xscale("log")
    if checks:
        left.set_xlim(right=max(max(scores), 1.0) * 2)
    left.set_yticks(range(len(checks)), labels, fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("measured / target (throughput: target / measured); left of 1 meets it")
    left.set_title("Targets (green meets, red misses)")

    right.barh(range(len(ratios)), [max(v, 1e-3) for _, _, v in ratios], color="#0969da")
    right.axvline(1.0, color="black", linewidth=1)
    right.set_xscale("log")
    if ratios:
        right.set_xlim(right=max(max(v for _, _, v in ratios), 1.0) * 4)
    right.set_yticks(range(len(ratios)), [f"{b}: {label}" for b, label, _ in ratios], fontsize=7)
    right.invert_yaxis()
    for index, (_, _, value) in enumerate(ratios):
        right.annotate(
            f"{value:.2f} x",
            (max(value, 1e-3), index),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    right.set_xlabel("ratio to the baseline measured in the same run (1 = baseline)")
    right.set_title("Ratios to baselines")
    figure.suptitle("plughub benchmarks (provisional: 2 shared cores)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
