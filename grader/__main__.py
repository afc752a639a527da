"""``python -m grader``: the course's command line. See ``python -m grader --help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _release(args: argparse.Namespace) -> int:
    from .authoring.release import drift, release_all

    if args.check:
        problems = drift()
        for line in problems:
            print(line)
        if problems:
            print("notebooks/ is out of date: run `python -m grader release` and commit the result.")
            return 1
        print("notebooks/ matches solutions/.")
        return 0
    for path in release_all():
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


def _outputs(args: argparse.Namespace) -> int:
    from .authoring.execute import refresh_outputs
    from .authoring.notebooks import chapters

    for chapter in args.chapters or chapters():
        timing = refresh_outputs(chapter)
        print(f"{chapter}: ran in {timing.total:.1f} s; stored outputs refreshed")
    return 0


def _autograde(args: argparse.Namespace) -> int:
    from .grading.autograde import autograde

    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder of submissions", file=sys.stderr)
        return 2
    from .grading.autograde import BatchInterrupted, GraderError
    from .grading.secret import SecretError, create, default_path, fingerprint, load

    path = args.secret or default_path()
    try:
        if args.secret is None and not path.exists():
            path, _ = create(path)
            print(f"note: no course secret yet: created {path}, which the hidden cases are drawn from. Keep it (and "
                  "off learners' machines): grading again with it reproduces these grades.", file=sys.stderr)
        key, source = load(path), f"course secret {path}"
    except SecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        results = autograde(args.submissions, args.out, workers=args.workers, timeout=args.timeout,
                            cell_timeout=args.cell_timeout, isolation="none" if args.no_sandbox else args.isolation,
                            secret=key, secret_source=source, regrade=args.regrade)
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except BatchInterrupted as stop:
        graded = sum(r.status == "graded" for r in stop.results)
        print(f"\ninterrupted: every sandbox was ended; {graded} graded submission(s) written to "
              f"{args.out / 'grades.csv'} and {args.out / 'report.json'}. Run the same command again to grade "
              "the rest (what is graded is kept).", file=sys.stderr)
        return INTERRUPTED
    graded = sum(r.status == "graded" for r in results)
    print(f"{graded} of {len(results)} submissions graded; grades in {args.out / 'grades.csv'}, "
          f"details in {args.out / 'report.json'}; hidden cases from {source} ({fingerprint(key)})")
    for r in results:
        if r.status != "graded":
            print(f"  {r.student}/{r.file}: {r.status}: {r.reason}")
    return 0


def _secret(args: argparse.Namespace) -> int:
    from .grading.secret import SecretError, create, default_path, fingerprint, load

    path = args.path or default_path()
    try:
        if args.show:
            print(f"{path}: fingerprint {fingerprint(load(path))}")
            return 0
        path, key = create(path, force=args.force)
    except SecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote a new course secret to {path} (fingerprint {fingerprint(key)}).\n"
          "Keep it out of the repository and off learners' machines; `autograde` reads it from there "
          "(or from --secret) and records its fingerprint in report.json.")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import main as check_main

    return check_main(args.notebooks, workers=args.workers, timeout=args.timeout, save=not args.no_progress,
                      json_out=args.json, outputs=args.outputs)


def _progress(args: argparse.Namespace) -> int:
    from helpers import progress
    from helpers.checks import exercises

    from .authoring.notebooks import chapters

    records = progress.load()
    earned_all = possible_all = 0
    print(f"Progress recorded in {progress.progress_file()}\n")
    for chapter in chapters():
        items = exercises(chapter)
        passed = [ex for ex in items if records.get(ex.key, {}).get("status") == "passed"]
        earned = sum(ex.points for ex in passed)
        possible = sum(ex.points for ex in items)
        earned_all, possible_all = earned_all + earned, possible_all + possible
        print(f"{chapter:<34} {len(passed):>2} of {len(items):>2} exercises passed  {earned:>3} of {possible:>3} points")
        if args.verbose:
            for ex in items:
                status = records.get(ex.key, {}).get("status", "not attempted")
                print(f"    {ex.title:<44} {status}")
    print(f"{'whole course':<34} {'':>25}  {earned_all:>3} of {possible_all:>3} points")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate notebooks/ (student versions) from solutions/")
    release.add_argument("--check", action="store_true", help="only report whether notebooks/ is up to date")
    release.set_defaults(run=_release)

    outputs = commands.add_parser("outputs", help="run solution notebooks and store the outputs nbval compares")
    outputs.add_argument("chapters", nargs="*", help="chapter folders, e.g. 01-convolution-by-hand (default: all)")
    outputs.set_defaults(run=_outputs)

    grade = commands.add_parser("autograde", help="grade a folder of submitted notebooks")
    grade.add_argument("submissions", type=Path,
                       help="<student>/<notebook>.ipynb folders, or nbgrader's submitted/<student>/<chapter>/")
    grade.add_argument("--out", type=Path, required=True, help="where grades.csv, report.json and feedback/ go")
    grade.add_argument("--workers", type=int, default=None, help="submissions graded side by side (default: cores)")
    grade.add_argument("--timeout", type=float, default=900, help="seconds per submission (default: 900)")
    grade.add_argument("--cell-timeout", type=float, default=None,
                       help="seconds per cell before it is interrupted (default: the course's, 300)")
    grade.add_argument("--isolation", choices=("zygote", "bwrap"), default="zygote",
                       help="how the sandbox is built: forked from a pre-loaded process with its own namespaces "
                            "(zygote, default, faster) or a fresh bubblewrap process per submission (bwrap)")
    grade.add_argument("--secret", type=Path, default=None, metavar="FILE",
                       help="the course secret the hidden cases are drawn from (default: $CONV_COURSE_SECRET or "
                            "~/.config/conv-course/grading-secret, created on first use)")
    grade.add_argument("--regrade", action="store_true",
                       help="grade every submission again, even those already graded in OUT (by default a re-run "
                            "keeps them: same file, same hidden cases)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code without bubblewrap and limits (only for notebooks you trust)")
    grade.set_defaults(run=_autograde)

    secret = commands.add_parser("secret", help="create the course secret the instructor's hidden cases are drawn "
                                 "from (kept outside the repository)")
    secret.add_argument("--path", type=Path, default=None,
                        help="where to write it (default: $CONV_COURSE_SECRET or ~/.config/conv-course/grading-secret)")
    secret.add_argument("--force", action="store_true", help="replace an existing secret (changes every hidden case)")
    secret.add_argument("--show", action="store_true", help="only print the existing secret's fingerprint")
    secret.set_defaults(run=_secret)

    check = commands.add_parser("check", help="check your own notebook as the instructor's grader would: "
                                "run it from the top in a fresh kernel, with the hidden checks; points per exercise")
    check.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                       help="e.g. notebooks/01-convolution-by-hand/01-convolution-by-hand.ipynb (never modified)")
    check.add_argument("--workers", type=int, default=None, help="notebooks checked side by side (default: cores)")
    check.add_argument("--timeout", type=float, default=900, help="seconds per notebook (default: 900)")
    check.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON to FILE")
    check.add_argument("--outputs", action="store_true",
                       help="also compare the outputs your answers determine (sizes, shapes, counts) with the "
                            "solution's, by nbval (runs the notebook a second time)")
    check.add_argument("--no-progress", action="store_true", help="do not record the results in your progress")
    check.set_defaults(run=_check)

    progress = commands.add_parser("progress", help="show your progress through the whole course")
    progress.add_argument("-v", "--verbose", action="store_true", help="list every exercise")
    progress.set_defaults(run=_progress)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


#: The exit code of a batch stopped by Ctrl-C.
INTERRUPTED = 130

if __name__ == "__main__":
    code = main()
    if code == INTERRUPTED:
        # Everything is written and every sandbox ended; skip the interpreter's teardown, which
        # takes seconds once torch is loaded, so that Ctrl-C stops the command at once.
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
