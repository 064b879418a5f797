"""The yardstick against known corruptions of real digits: the README's table ("Measuring quality").

    python benchmarks/yardstick.py [--ci]

1,000 real mnist5k digits the evaluator trained on (never in the references), and corrupted copies
(ganzoo.evaluation.corruptions), each scored as ``ganzoo eval FILE.npz data=mnist5k`` scores a set.
Prints a Markdown table; with ``--ci`` each figure has its 95% bootstrap interval (slower).
The same sets, and the order they must come in, are checked in CI by tests/test_yardstick.py.
"""

import argparse
import time

import torch

from ganzoo.evaluation import scoring
from ganzoo.evaluation.corruptions import known_sets
from ganzoo.evaluation.evaluator import get_evaluator, split
from ganzoo_plugins.datasets.mnist5k import Mnist5k

COLUMNS = (("kid", "KID", "{:.3f}"), ("fd_ratio", "FD / floor", "{:.2f}"), ("class_acc", "class consistency", "{:.3f}"),
           ("diversity", "diversity", "{:.2f}"), ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}"),
           ("coverage", "coverage", "{:.3f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ci", action="store_true")
    args = parser.parse_args()
    data = Mnist5k(Mnist5k.Config()).load()
    started = time.perf_counter()
    evaluator = get_evaluator(data)
    print(f"evaluator: held-out accuracy {evaluator.accuracy:.3f} ({time.perf_counter() - started:.0f} s, cached after the first time)")
    train, _ = split(data.labels)
    pick = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:1000]]
    rows = []
    for name, (images, labels) in known_sets(data.floats(pick), data.labels[pick]).items():
        r = scoring.score_images(((images + 1) * 127.5).round().to(torch.uint8), labels, data, evaluator, ci=args.ci)
        cells = []
        for key, _, fmt in COLUMNS:
            ci = (r.get("ci") or {}).get(key)
            cells.append(fmt.format(r[key]) + (f" [{fmt.format(ci[0])}, {fmt.format(ci[1])}]" if ci else ""))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
        if name == "real":
            floor = [fmt.format(r[f"{key}_floor"]) if f"{key}_floor" in r else ("1" if key == "fd_ratio" else "-") for key, _, fmt in COLUMNS]
            floor[2] = f"{r['evaluator_acc']:.3f}"
            rows.insert(0, "| held-out real (the floor) | " + " | ".join(floor) + " |")
    print("| set | " + " | ".join(label for _, label, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
