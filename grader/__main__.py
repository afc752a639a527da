"""``python -m grader``: the course's command line. See ``python -m grader --help``.

Every failure a user can cause is a :class:`grader.errors.CourseError`, caught once, in :func:`main`:
one line on stderr saying what to do, and the exit code of its kind (2: what was given, 3: the set-up).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import CourseError, UsageError


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
    from .grading.config import GradingConfig, chosen
    from .grading.results import SubmissionStatus

    if not args.submissions.is_dir():
        raise UsageError(f"{args.submissions} is not a folder of submissions")
    from .grading.batch import BatchInterrupted
    from .grading.gradebook import recorder_for
    from .grading.secret import create, default_path, fingerprint, load

    path = args.secret or default_path()
    if args.secret is None and not path.exists():
        path, _ = create(path)
        print(f"note: no course secret yet: created {path}, which the hidden cases are drawn from. Keep it (and "
              "off learners' machines): grading again with it reproduces these grades.", file=sys.stderr)
    key, source = load(path), f"course secret {path}"
    settings = chosen(args, "autograde")
    if args.no_sandbox:
        settings["isolation"] = "none"
    config = GradingConfig(**settings, secret=key, secret_source=source)
    recorder = None
    try:
        if not args.no_gradebook:
            recorder = recorder_for(args.submissions, course=args.course, db=args.db)
        results = autograde(args.submissions, args.out, config, gradebook=recorder)
    except BatchInterrupted as stop:
        graded = sum(r.status == SubmissionStatus.GRADED for r in stop.results)
        ended = "the cluster's unfinished tasks were cancelled" if config.scheduler else "every sandbox was ended"
        print(f"\ninterrupted: {ended}; {graded} graded submission(s) written to "
              f"{args.out / 'grades.csv'} and {args.out / 'report.json'}. Run the same command again to grade "
              "the rest (what is graded is kept).", file=sys.stderr)
        return INTERRUPTED
    finally:
        if recorder is not None:
            recorder.close()
    graded = sum(r.status == SubmissionStatus.GRADED for r in results)
    print(f"{graded} of {len(results)} submissions graded; grades in {args.out / 'grades.csv'}, "
          f"details in {args.out / 'report.json'}, what the class got wrong in {args.out / 'class-report.html'} "
          f"(who, for you only: {args.out / 'class-report-students.html'}); "
          f"hidden cases from {source} ({fingerprint(key)})")
    for r in results:
        if r.status != SubmissionStatus.GRADED:
            print(f"  {r.student}/{r.file}: {r.status}: {r.reason}")
    lms_files = sorted(args.out.glob("canvas-grades.csv")) + sorted(args.out.glob("moodle-*.csv"))
    if lms_files:
        print(f"grades for the LMS: {', '.join(str(p) for p in lms_files)} (Canvas's gradebook import, Moodle's "
              "grading worksheet)")
    if recorder is not None:
        from .grading.gradebook import shown

        summary = recorder.summary
        print(f"{len(summary.recorded)} recorded in the gradebook {shown(summary.url)}, graded notebooks in "
              f"{Path(summary.course) / 'autograded'}")
        for problem in summary.problems:
            print(f"  {problem['student']}/{problem['assignment']}: not recorded: {problem['reason']}")
        print(stale_manual_text(summary.stale_manual))
    return 0


def stale_manual_text(stale: list[dict]) -> str:
    """What a run says about manual scores that hide an auto score it changed (one line, then one per cell)."""
    if not stale:
        return "no manual score hides an auto score this run changed"
    cleared = all(s["cleared"] for s in stale)
    lines = [f"{len(stale)} cell(s) where a manual score " + (
        "hid an auto score this run changed: the manual scores were removed (--clear-stale-manual)" if cleared else
        "now hides an auto score this run changed (the gradebook counts the manual one; review them in the "
        "formgrader, or grade again with --clear-stale-manual to remove them):")]
    for s in stale:
        before = "none" if s["auto_before"] is None else f"{s['auto_before']:g}"
        now = "none" if s["auto_now"] is None else f"{s['auto_now']:g}"
        lines.append(f"  {s['student']}/{s['assignment']} {s['cell']}: manual {s['manual_score']:g}, auto "
                     f"{before} -> {now}" + (" (manual removed)" if s["cleared"] else ""))
    return "\n".join(lines)


def _secret(args: argparse.Namespace) -> int:
    from .grading.secret import create, default_path, fingerprint, load

    path = args.path or default_path()
    if args.show:
        print(f"{path}: fingerprint {fingerprint(load(path))}")
        return 0
    path, key = create(path, force=args.force)
    print(f"wrote a new course secret to {path} (fingerprint {fingerprint(key)}).\n"
          "Keep it out of the repository and off learners' machines; `autograde` reads it from there "
          "(or from --secret) and records its fingerprint in report.json.")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .authoring.config import ROOT
    from .grading.classreport import load_run, write_report

    if args.submissions is not None and not args.submissions.is_dir():
        raise UsageError(f"{args.submissions} is not a folder of submissions")
    summary = write_report(args.out, load_run(args.out), submissions_dir=args.submissions, root=ROOT,
                           similarity=args.similarity, threshold=args.similarity_threshold)
    graded = sum(ch.graded for ch in summary.chapters.values())
    print(f"class report of {graded} graded submissions in {args.out / 'class-report.html'} "
          f"and {args.out / 'class-report.csv'}; who made each mistake, for you only, in "
          f"{args.out / 'class-report-students.html'}")
    for concept in summary.concepts()[:3]:
        print(f"  {concept.count} of {concept.of} attempts  {concept.name} "
              f"({', '.join(key for _, key in concept.exercises)})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import CHECK
    from .check import main as check_main
    from .grading.config import chosen, resolve

    config = resolve(CHECK, **chosen(args, "check"))
    return check_main(args.notebooks, config, save=not args.no_progress, json_out=args.json, outputs=args.outputs)


def _progress(args: argparse.Namespace) -> int:
    """Reads the progress file and the exercises' names without importing PyTorch (a fraction of a second)."""
    from helpers.learner import progress
    from helpers.checks.catalog import entries
    from helpers.protocol import ExerciseStatus

    records = progress.load()
    earned_all = possible_all = 0
    if records:
        print(f"Progress recorded in {progress.progress_file()}\n")
    else:
        print(f"No progress recorded yet: each test cell you run, and each `python -m grader check`, is kept in "
              f"{progress.progress_file()}\n")
    for chapter in dict.fromkeys(e.chapter for e in entries()):
        items = entries(chapter)
        passed = [ex for ex in items if progress.status(records.get(ex.key)) == ExerciseStatus.PASSED]
        earned = sum(ex.points for ex in passed)
        possible = sum(ex.points for ex in items)
        earned_all, possible_all = earned_all + earned, possible_all + possible
        print(f"{chapter:<34} {len(passed):>2} of {len(items):>2} exercises passed  {earned:>3} of {possible:>3} points")
        if args.verbose:
            for ex in items:
                print(f"    {ex.title:<44} {progress.status(records.get(ex.key))}")
    print(f"{'whole course':<34} {'':>25}  {earned_all:>3} of {possible_all:>3} points")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .grading.config import add_options

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
                       help="<student>/<notebook>.ipynb folders, nbgrader's submitted/<student>/<chapter>/, or an "
                            "LMS's flat download of notebooks (Canvas, Moodle, --lms-pattern)")
    grade.add_argument("--out", type=Path, required=True, help="where grades.csv, report.json and feedback/ go")
    add_options(grade, "autograde")
    grade.add_argument("--secret", type=Path, default=None, metavar="FILE",
                       help="the file of the course secret (`python -m grader secret`) the hidden cases are drawn "
                            "from (default: $CONV_COURSE_SECRET or ~/.config/conv-course/grading-secret, created on "
                            "first use); report.json records its fingerprint, never the secret")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code with no sandbox at all: no namespaces, no limits, no user of its "
                            "own (only for notebooks you trust)")
    grade.add_argument("--db", default=None, metavar="URL",
                       help="nbgrader gradebook to record the grades in, e.g. sqlite:///gradebook.db or "
                            "postgresql://user:password@host/db (default: the course's CourseDirectory.db_url, "
                            "gradebook.db at the course root)")
    grade.add_argument("--course", type=Path, default=None, metavar="DIR",
                       help="nbgrader course directory receiving autograded/<student>/<assignment>/ and, by default, "
                            "gradebook.db (default: the folder holding submitted/; an LMS export is recorded only "
                            "with --course or --db)")
    grade.add_argument("--no-gradebook", action="store_true",
                       help="write grades.csv, report.json and feedback only; leave nbgrader's gradebook alone")
    grade.set_defaults(run=_autograde)

    report = commands.add_parser("report", help="write the class report (class-report.html and .csv) of a "
                                 "finished grading run again, e.g. with another similarity threshold")
    report.add_argument("out", type=Path, help="the --out folder of `python -m grader autograde`")
    report.add_argument("--submissions", type=Path, default=None,
                        help="the graded submissions folder, to list similar answers (left out without it)")
    add_options(report, "report")
    report.set_defaults(run=_report)

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
    add_options(check, "check")
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
    """Run one command; a :class:`CourseError` becomes its one line on stderr and its kind's exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


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
