"""Training checks over many seeds: where the accuracy bar sits between right and wrong models.

A check that trains the learner's model judges one training run per seed (one for the visible check, one
for grading). It is only fair if no seed can flip it: the reference must pass on every seed, with room to
spare, and every known-bad model must fail on every seed. For each exercise that declares a ``trial``
(``Exercise.trial(answer, seed) -> accuracy``, NaN when the check refuses the model for its form before any
training), this runs

* the reference: the solution's own answer cell, read from ``solutions/`` by the answer's name and run
  after the notebook's imports (never a copy of it), and
* every wrong answer of that exercise in the catalogue (``grader/catalogue/chNN.py``), and with ``--right``
  its correct alternatives,

over ``--seeds`` seeds (default 100, from ``--first``), and prints for each the runs refused before
training, the minimum, mean and maximum accuracy of the others, and how many runs passed the bar (the
chapter module's ``ACCURACY_BAR``). Training is the check's own, on one torch thread.

    .venv/bin/python -m benchmarks.seeds [--seeds 100] [--first 0] [--right] [KEY ...]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import math
import textwrap
import time

from benchmarks.common import one_thread, save, table


def reference_answer(ex):
    """The solution's answer to ``ex``: its answer cell (the one defining ``ex.answer``), run after the
    chapter's imports and its earlier answer cells (an answer may build on an earlier one, as ``res_cnn`` on
    ``res_block``) in a fresh namespace like a notebook's."""
    from grader import catalogue, cells
    from grader.authoring import notebooks

    nb = notebooks.read(notebooks.notebook_path(ex.chapter, "solutions"))
    ns = catalogue.namespace()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        if cells.is_solution(cell) and any(_defines(node, ex.answer) for node in tree.body):
            exec(compile(cell.source, f"<solution {ex.key}>", "exec"), ns)
            return ns[ex.answer]
        if cells.is_solution(cell):
            exec(compile(cell.source, f"<an earlier answer of {ex.chapter}>", "exec"), ns)
            continue
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        if imports:
            exec(compile(ast.Module(body=imports, type_ignores=[]), f"<imports of {ex.chapter}>", "exec"), ns)
    raise LookupError(f"no answer cell defines {ex.answer} in solutions/{ex.chapter}")


def _defines(node: ast.AST, name: str) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    return False


def bar_of(ex) -> float:
    """The accuracy bar of a training check: its chapter module's ``ACCURACY_BAR``."""
    return float(importlib.import_module(f"helpers.checks.ch{ex.chapter[:2]}").ACCURACY_BAR)


def candidates(ex, right: bool) -> list[tuple[str, str, object]]:
    """``(kind, name, answer)``: the reference, the catalogue's wrong answers (and right ones) of ``ex``."""
    from grader import catalogue

    found = [("reference", "the solution", reference_answer(ex))]
    ch = catalogue.chapter(f"ch{ex.chapter[:2]}")
    found += [("wrong", e.mistake, catalogue.define(e)) for e in ch.wrong if e.key == ex.key]
    if right:
        found += [("right", e.how, catalogue.define(e)) for e in ch.right if e.key == ex.key]
    return found


def measure(ex, answer, seeds: range) -> dict:
    """The trial on every seed: accuracies of the runs trained, and how many were refused before training."""
    accuracies, refused, errors = [], 0, []
    for seed in seeds:
        try:
            accuracy = ex.trial(answer, seed)
        except Exception as exc:  # noqa: BLE001 - a model the check cannot even build is refused
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if math.isnan(accuracy):
            refused += 1
        else:
            accuracies.append(accuracy)
    return {"accuracies": accuracies, "refused": refused + len(errors), "error": errors[0] if errors else None}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seeds", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds (default 100)")
    parser.add_argument("--first", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--right", action="store_true", help="also run the catalogue's correct alternatives")
    parser.add_argument("keys", nargs="*", help="exercises (default: every exercise with a trial)")
    args = parser.parse_args(argv)
    one_thread()
    from helpers.checks import exercises

    seeds = range(args.first, args.first + args.seeds)
    figures: dict = {"seeds": [seeds.start, seeds.stop - 1], "exercises": {}}
    for ex in exercises():
        if ex.trial is None or (args.keys and ex.key not in args.keys):
            continue
        bar = bar_of(ex)
        rows, entries = [], []
        for kind, name, answer in candidates(ex, args.right):
            start = time.perf_counter()
            m = measure(ex, answer, seeds)
            acc = m["accuracies"]
            passed = sum(a >= bar for a in acc)
            entry = {"kind": kind, "name": name, "refused": m["refused"], "trained": len(acc), "passed": passed,
                     "min": min(acc, default=None), "mean": sum(acc) / len(acc) if acc else None,
                     "max": max(acc, default=None), "seconds": round(time.perf_counter() - start, 1),
                     "error": m["error"]}
            entries.append(entry)
            pct = lambda v: "-" if v is None else f"{v:.1%}"
            rows.append([kind, textwrap.shorten(name, 48), m["refused"], len(acc), pct(entry["min"]),
                         pct(entry["mean"]), pct(entry["max"]), f"{passed}/{len(seeds)}"])
            print(f"  {kind}: {name}: {rows[-1][2:]} ({entry['seconds']} s)", flush=True)
        print(f"\n{ex.key}: bar {bar:.1%}, seeds {seeds.start}-{seeds.stop - 1}")
        print(table(["kind", "answer", "refused", "trained", "min", "mean", "max", "passed"], rows))
        reference = entries[0]
        wrong = [e for e in entries if e["kind"] == "wrong"]
        margin_low = reference["min"] - bar if reference["min"] is not None else None
        trained_wrong = [e["max"] for e in wrong if e["max"] is not None]
        margin_high = bar - max(trained_wrong) if trained_wrong else None
        verdict = {"reference_passes_every_seed": reference["passed"] == len(seeds),
                   "every_wrong_fails_every_seed": all(e["passed"] == 0 for e in wrong),
                   "margin_below_reference_min": margin_low, "margin_above_wrong_max": margin_high}
        print(f"reference passes on {reference['passed']} of {len(seeds)} seeds"
              + (f" (its lowest {100 * margin_low:.1f} points above the bar)" if margin_low is not None else "")
              + f"; wrong answers passing on any seed: {sum(e['passed'] > 0 for e in wrong)} of {len(wrong)}"
              + (f" (the best trained one {100 * margin_high:.1f} points under the bar)" if margin_high is not None
                 else ""))
        figures["exercises"][ex.key] = {"bar": bar, "answers": entries, **verdict}
    print(f"written to {save('seeds', figures)}")
    return figures


if __name__ == "__main__":
    main()
