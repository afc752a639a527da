"""What the class got wrong: the report an instructor reads before Monday's lesson.

Every grading run already knows, for each submission and exercise, whether it passed, failed,
was not attempted or could not be graded, and for a failure which **known mistake** it matches
(the hint an exercise gives when every failing case agrees with a wrong model: padding counted
once, ``/`` instead of ``//``, a flipped kernel...). Summed over a class, that is what to teach
again. This module turns the grader's ``report.json`` into

* ``class-report.html``, the page to share (with a class, a teaching assistant): no student is named on it.
  Per chapter, the score distribution drawn as a histogram, each exercise's passed / failed / not
  attempted / error counts, the named misconceptions with their count and share of the submissions that
  *attempted* the exercise (a blank answer is no evidence of a misconception), most common first, the
  failures no known mistake explains grouped by their message (numbers blanked, so "expected 28, got 27"
  and "expected 14, got 13" are one group), and the cells that timed out or crashed most, named as the
  notebook names them ("cell 58", or its answer's grade id) with the cause as it happened; at the top,
  the **concepts** to re-teach: each known mistake of the catalogue (:mod:`grader.catalogue`,
  ``Wrong.concept``) grouped across exercises and chapters ("padding counted once" in ``output_size`` and
  in ``quiz_stride_shape``), then the most common misconceptions. Offline (inline CSS and SVG, no script),
  every value escaped, no student code;
* ``class-report-students.html``, **for the instructor only** (marked so at its top): who made each
  known mistake, concept by concept, which files could not be graded and why, and who shares similar answers;
* ``class-report.csv``: the same counts, one row each, safe to open in a spreadsheet;
* ``similar-answers.html``: pairs of nearly identical answers (:mod:`grader.grading.similarity`) with
  the two answer cells side by side: something to look at, never a verdict;
* at the end of ``class-report-students.html``, the code that reaches for the grader's guard or the sandbox
  (:mod:`grader.grading.suspicious`), with who wrote it, cell and line: something to read, never a verdict.

It reads only ``report.json`` (and, for similarity, the submitted notebooks), so
``python -m grader report OUT`` rebuilds the report of any finished run.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from helpers.protocol import ExerciseStatus, answered_key

from ..errors import UsageError
from .records import atomic_write, spreadsheet_safe  # one rule for grades.csv and class-report.csv
from . import suspicious
from .results import SubmissionStatus
from .similarity import THRESHOLD, Pair, groups, similar_pairs

STATUSES = tuple(ExerciseStatus)


class ReportError(UsageError):
    """The grading output cannot be reported on (missing, unfinished or of another version)."""


# ---------------------------------------------------------------------------
# reading a run


def load_run(out: Path) -> list[dict]:
    """The submissions of a finished grading run in ``out``, checked; :class:`ReportError` if unusable."""
    path = out / "report.json"
    if not out.is_dir():
        raise ReportError(f"{out} is not a folder: give the --out folder of a grading run")
    if not path.is_file():
        partial = " (grades.csv is there: the run was interrupted before it finished)" \
            if (out / "grades.csv").exists() else ""
        raise ReportError(f"{out} has no report.json{partial}: run `python -m grader autograde` to the end first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ReportError(f"{path} cannot be read ({type(exc).__name__}); was the run interrupted? "
                          "Grade again to rewrite it") from None
    subs = data.get("submissions") if isinstance(data, dict) else None
    if not isinstance(subs, list):
        raise ReportError(f"{path} has no list of submissions: it is not a report of this grader")
    for sub in subs:
        if not (isinstance(sub, dict) and {"student", "status", "exercises"} <= set(sub)
                and all(isinstance(e, dict) and {"exercise", "status", "hint", "message"} <= set(e)
                        for e in sub.get("exercises") or [])):
            raise ReportError(f"{path} was written by another version of the grader (a submission lacks the "
                              "exercise statuses and hints this report needs): grade again with this version")
    return subs


# ---------------------------------------------------------------------------
# counting


@dataclass
class ExerciseSummary:
    key: str
    title: str
    max_score: float
    counts: Counter = field(default_factory=Counter)  # status -> submissions
    misconceptions: Counter = field(default_factory=Counter)  # hint -> submissions
    unnamed: Counter = field(default_factory=Counter)  # message pattern -> submissions
    examples: dict = field(default_factory=dict)  # message pattern -> one message
    who: dict = field(default_factory=lambda: defaultdict(list))  # hint -> the submissions ("student/file")

    @property
    def attempted(self) -> int:
        """Submissions that attempted the exercise: the share of a mistake is of these, not of blank answers."""
        return sum(self.counts.values()) - self.counts.get(ExerciseStatus.NOT_ATTEMPTED, 0)


@dataclass
class ChapterSummary:
    chapter: str
    max_score: float = 0.0
    scores: list[float] = field(default_factory=list)  # one per graded submission
    not_graded: Counter = field(default_factory=Counter)  # error kind -> submissions
    exercises: dict[str, ExerciseSummary] = field(default_factory=dict)
    cell_problems: Counter = field(default_factory=Counter)  # (cell, cause pattern) -> submissions
    #: (cell, cause pattern) -> the cells and causes as they happened (``cell 58``, ``ran past the 300 s limit``)
    cell_examples: dict = field(default_factory=lambda: defaultdict(Counter))
    not_graded_files: list = field(default_factory=list)  # (submission, kind, reason)

    @property
    def graded(self) -> int:
        return len(self.scores)


@dataclass
class ClassSummary:
    chapters: dict[str, ChapterSummary] = field(default_factory=dict)
    unidentified: Counter = field(default_factory=Counter)  # error kind -> files with no chapter
    unidentified_files: list = field(default_factory=list)  # (submission, kind, reason)

    def misconceptions(self) -> list[tuple[int, int, str, ExerciseSummary, str]]:
        """``(count, of, chapter, exercise, hint)``, the most common first; ``of``: the submissions that
        attempted the exercise."""
        rows = [(n, ex.attempted, ch.chapter, ex, hint) for ch in self.chapters.values()
                for ex in ch.exercises.values() for hint, n in ex.misconceptions.items()]
        return sorted(rows, key=lambda r: (-r[0], r[2], r[3].key, r[4]))

    def concepts(self) -> list["Concept"]:
        """Each known mistake grouped across exercises and chapters (:func:`concept_of`), the most common first."""
        found: dict[str, Concept] = {}
        for ch in self.chapters.values():
            for ex in ch.exercises.values():
                for hint, n in ex.misconceptions.items():
                    name = concept_of(ex.key, hint) or hint
                    concept = found.setdefault(name, Concept(name))
                    concept.places.append((ch.chapter, ex, hint, n))
                    concept.who.extend(ex.who.get(hint, []))
        return sorted(found.values(), key=lambda c: (-c.count, c.name))


@dataclass
class Concept:
    """One misconception across the exercises that show it: ``places`` are ``(chapter, exercise, hint, count)``."""

    name: str
    places: list = field(default_factory=list)
    who: list = field(default_factory=list)  # the submissions that made it, once per exercise

    @property
    def count(self) -> int:
        return sum(n for *_, n in self.places)

    @property
    def exercises(self) -> dict[tuple[str, str], "ExerciseSummary"]:
        """``(chapter, exercise key)`` -> the exercise, each once."""
        return {(chapter, ex.key): ex for chapter, ex, _, _ in self.places}

    @property
    def of(self) -> int:
        """The attempts it is a share of: the submissions that attempted each of its exercises, summed."""
        return sum(ex.attempted for ex in self.exercises.values())

    @property
    def students(self) -> list[str]:
        return sorted({who.split("/", 1)[0] for who in self.who})


@lru_cache(maxsize=1)
def _catalogue_hints() -> dict[str, list[tuple[str, str]]]:
    """Exercise key -> ``(hint text, concept)`` of each catalogued wrong answer that names its concept."""
    from ..catalogue import chapters

    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for chapter in chapters():
        for wrong in chapter.wrong:
            if wrong.hint and wrong.concept:
                found[wrong.key].append((wrong.hint, wrong.concept))
    return found


def concept_of(exercise: str, hint: str) -> str | None:
    """The concept of the catalogued mistake whose hint text ``hint`` carries (the longest such text), or None."""
    matches = [(len(text), concept) for text, concept in _catalogue_hints().get(exercise, []) if text in (hint or "")]
    return max(matches)[1] if matches else None


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_CELL_NUMBER = re.compile(r"^cell \d+ ")


def message_pattern(message: str) -> str:
    """A failure message with its numbers blanked, so failures of the same kind group together."""
    return _NUMBER.sub("#", message or "").strip()


def _cell_name(label: str) -> str:
    """``cell 17 (convolve_answer)`` -> ``convolve_answer``: the same cell whatever its number in a notebook."""
    match = re.search(r"\(([^)]*)\)\s*$", label)
    if match:
        return match.group(1)
    return _CELL_NUMBER.sub("cell # ", label + " ").strip()


def summarise(submissions: Iterable[dict]) -> ClassSummary:
    """Counts per chapter and exercise from the grader's report (``report.json``'s submissions)."""
    summary = ClassSummary()
    for sub in submissions:
        chapter = sub.get("assignment")
        who = f"{sub.get('student')}/{sub.get('file', '')}"
        if not chapter:
            summary.unidentified[sub.get("status", "error")] += 1
            summary.unidentified_files.append((who, sub.get("status", "error"), sub.get("reason", "")))
            continue
        ch = summary.chapters.setdefault(chapter, ChapterSummary(chapter))
        if sub["status"] == SubmissionStatus.DUPLICATE:
            continue
        if sub["status"] != SubmissionStatus.GRADED:
            ch.not_graded[sub["status"]] += 1
            ch.not_graded_files.append((who, sub["status"], sub.get("reason", "")))
            continue
        ch.scores.append(float(sub.get("score", 0.0)))
        ch.max_score = max(ch.max_score, float(sub.get("max_score", 0.0)))
        for row in sub["exercises"]:
            ex = ch.exercises.setdefault(row["exercise"], ExerciseSummary(
                row["exercise"], row.get("title") or row["exercise"], float(row.get("max_score", 0))))
            ex.counts[row["status"]] += 1
            if row["status"] != ExerciseStatus.FAILED:
                continue
            if row.get("hint"):
                ex.misconceptions[row["hint"]] += 1
                ex.who[row["hint"]].append(who)
            else:
                pattern = message_pattern(row.get("message", ""))
                ex.unnamed[pattern] += 1
                ex.examples.setdefault(pattern, row.get("message", ""))
        seen = set()
        for cell in sub.get("cells") or []:
            key = (_cell_name(cell.get("cell", "")), message_pattern(cell.get("cause", "")))
            if key not in seen:  # a submission counts once per cell and cause
                seen.add(key)
                ch.cell_problems[key] += 1
                ch.cell_examples[key][(cell.get("cell", ""), cell.get("cause", ""))] += 1
    return summary


# ---------------------------------------------------------------------------
# writing


CSV_COLUMNS = ("chapter", "exercise", "kind", "what", "count", "of")


def csv_rows(summary: ClassSummary, pairs: list[Pair] | None = None) -> list[dict]:
    rows = []
    for ch in summary.chapters.values():
        for kind, n in sorted(ch.not_graded.items()):
            rows.append({"chapter": ch.chapter, "exercise": "", "kind": "not graded", "what": kind, "count": n,
                         "of": ch.graded + sum(ch.not_graded.values())})
        for ex in ch.exercises.values():
            for status in STATUSES:
                rows.append({"chapter": ch.chapter, "exercise": ex.key, "kind": "status", "what": status,
                             "count": ex.counts.get(status, 0), "of": ch.graded})
            for hint, n in ex.misconceptions.most_common():
                rows.append({"chapter": ch.chapter, "exercise": ex.key, "kind": "misconception", "what": hint,
                             "count": n, "of": ex.attempted})
            for pattern, n in ex.unnamed.most_common():
                rows.append({"chapter": ch.chapter, "exercise": ex.key, "kind": "other failure", "what": pattern,
                             "count": n, "of": ex.attempted})
        for (cell, cause), n in ch.cell_problems.most_common():
            rows.append({"chapter": ch.chapter, "exercise": "", "kind": "cell problem", "what": f"{cell}: {cause}",
                         "count": n, "of": ch.graded})
    for concept in summary.concepts():
        rows.append({"chapter": ", ".join(sorted({chapter for chapter, *_ in concept.places})),
                     "exercise": ", ".join(key for _, key in concept.exercises), "kind": "concept",
                     "what": concept.name, "count": concept.count, "of": concept.of})
    for p in pairs or []:
        rows.append({"chapter": "", "exercise": p.exercise, "kind": "similar answers (%)",
                     "what": f"{p.first} and {p.second}", "count": round(100 * p.similarity), "of": 100})
    return rows


def write_csv(summary: ClassSummary, path: Path, pairs: list[Pair] | None = None) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in csv_rows(summary, pairs):
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    atomic_write(path, text.getvalue())


_CSS = """body{font-family:system-ui,sans-serif;max-width:64em;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:2px solid #ddd}h3{margin-bottom:.3em}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ddd;padding:.35em .5em;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;white-space:nowrap}
.bar{display:inline-block;height:.8em;background:#c0392b;vertical-align:middle;margin-right:.4em}
.passed{color:#176f2c}.failed,.error{color:#a4141b}.muted{color:#666}.lead{font-size:1.1em}
figure{margin:.5em 0}figcaption{color:#555;font-size:.9em}code{font-size:.95em}"""


def _share(n: int, of: int) -> str:
    return f"{n} of {of} ({100 * n / of:.0f}%)" if of else str(n)


def histogram_svg(scores: list[float], max_score: float, title: str) -> str:
    """The score distribution as an inline SVG bar chart (one bar per whole point), labelled."""
    top = int(max_score) if max_score else int(max(scores, default=0))
    bins = Counter(min(int(s), top) for s in scores)
    tallest = max(bins.values(), default=1)
    width, height, left, bottom = 40 + 28 * (top + 1), 190, 40, 40
    bar = 22
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 20}" height="{height}" role="img" '
             f'aria-label="{html.escape(title)}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#333"/>',
             f'<line x1="{left}" y1="10" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
             f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" font-size="11">0</text>',
             f'<text x="{left - 6}" y="18" text-anchor="end" font-size="11">{tallest}</text>',
             f'<text x="12" y="{(height - bottom) / 2}" font-size="11" transform="rotate(-90 12,'
             f'{(height - bottom) / 2})" text-anchor="middle">submissions</text>',
             f'<text x="{(left + width) / 2}" y="{height - 6}" font-size="11" text-anchor="middle">points</text>']
    for score in range(top + 1):
        n = bins.get(score, 0)
        x = left + 6 + 28 * score
        h = (height - bottom - 20) * n / tallest if tallest else 0
        parts.append(f'<rect x="{x}" y="{height - bottom - h:.1f}" width="{bar}" height="{h:.1f}" fill="#2c6fbb">'
                     f'<title>{n} with {score} points</title></rect>')
        if n:
            parts.append(f'<text x="{x + bar / 2}" y="{height - bottom - h - 3:.1f}" font-size="10" '
                         f'text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{height - bottom + 14}" font-size="11" '
                     f'text-anchor="middle">{score}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell_shown(examples: Counter) -> tuple[str, str]:
    """A cell problem as it happened: the cell as the notebooks name it (``cell 58``, ``convolve_answer``; a few
    numbers when they differ between notebooks) and the most common cause, its numbers kept."""
    cells = [cell for (cell, _), _ in examples.most_common()]
    distinct = list(dict.fromkeys(cells))
    named = {_cell_name(c) for c in distinct}
    if len(named) == 1 and not next(iter(named)).startswith("cell #"):
        cell = next(iter(named))
    else:
        cell = ", ".join(distinct[:4]) + (f" and {len(distinct) - 4} more" if len(distinct) > 4 else "")
    causes = Counter()
    for (_, cause), n in examples.items():
        causes[cause] += n
    cause, _ = causes.most_common(1)[0]
    return cell, cause + (f" (or alike, {len(causes)} variants)" if len(causes) > 1 else "")


def _places(concept: Concept) -> str:
    e = html.escape
    parts = []
    for (chapter, key), ex in concept.exercises.items():
        n = sum(c for ch, x, _, c in concept.places if ch == chapter and x.key == key)
        parts.append(f"<code>{e(key)}</code> ({e(chapter)}): {_share(n, ex.attempted)}")
    return "<br>".join(parts)


def render_html(summary: ClassSummary, pairs: list[Pair] | None, note: str = "") -> str:
    """The shareable page: counts and shares, no student named (they are on :func:`render_students`)."""
    e = html.escape
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Class report</title>",
           f"<style>{_CSS}</style></head><body>", "<h1>What the class got wrong</h1>"]
    total = sum(ch.graded for ch in summary.chapters.values())
    out.append(f"<p class=\"lead\">{total} graded submissions in {len(summary.chapters)} chapter(s). "
               "Counts are submissions; a misconception is a known mistake that every failing check of an "
               "exercise matched; a share is of the submissions that attempted the exercise (blank answers "
               "left out). No student is named on this page: who made each mistake is on "
               "<a href=\"class-report-students.html\">the instructor's page</a>.</p>")
    if note:
        out.append(f"<p class=\"muted\">{e(note)}</p>")
    concepts = summary.concepts()
    out.append("<h2>Re-teach first</h2>")
    if concepts:
        out.append("<table><tr><th>concept</th><th>where (share of attempts)</th><th>in all</th></tr>")
        for concept in concepts[:10]:
            out.append(f"<tr><td>{e(concept.name)}</td><td>{_places(concept)}</td>"
                       f"<td class=\"n\"><span class=\"bar\" style=\"width:"
                       f"{60 * concept.count / max(concept.of, 1):.0f}px\"></span>{_share(concept.count, concept.of)}"
                       "</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>No failure matched a known mistake.</p>")
    if summary.unidentified:
        items = ", ".join(f"{n} {e(kind)}" for kind, n in summary.unidentified.most_common())
        out.append(f"<p class=\"muted\">Files that belong to no chapter and were not graded: {items} "
                   "(named, with the reason, on the instructor's page).</p>")
    for ch in summary.chapters.values():
        out.append(f"<h2>{e(ch.chapter)}</h2>")
        not_graded = ", ".join(f"{n} {e(kind)}" for kind, n in ch.not_graded.most_common())
        mean = sum(ch.scores) / ch.graded if ch.graded else 0
        out.append(f"<p>{ch.graded} graded" + (f"; not graded: {not_graded} (named on the instructor's page)"
                                              if not_graded else "") +
                   (f". Mean {mean:.1f} of {ch.max_score:g} points." if ch.graded else ".") + "</p>")
        if ch.graded:
            title = f"Score distribution, {ch.chapter}"
            out.append(f"<figure>{histogram_svg(ch.scores, ch.max_score, title)}"
                       f"<figcaption>{e(title)}: submissions (vertical) per total points (horizontal).</figcaption>"
                       "</figure>")
        out.append("<table><tr><th>exercise</th>" + "".join(f"<th>{s}</th>" for s in STATUSES) + "</tr>")
        for ex in ch.exercises.values():
            cells = "".join(f"<td class=\"n {s.replace(' ', '')}\">{ex.counts.get(s, 0)}</td>" for s in STATUSES)
            out.append(f"<tr><td><code>{e(ex.key)}</code> {e(ex.title)}</td>{cells}</tr>")
        out.append("</table>")
        named = [(n, ex, hint) for ex in ch.exercises.values() for hint, n in ex.misconceptions.items()]
        if named:
            out.append("<h3>Misconceptions</h3><table><tr><th>misconception</th><th>concept</th><th>exercise</th>"
                       "<th>of the attempts</th></tr>")
            for n, ex, hint in sorted(named, key=lambda r: (-r[0], r[1].key)):
                out.append(f"<tr><td>{e(hint)}</td><td>{e(concept_of(ex.key, hint) or '')}</td>"
                           f"<td><code>{e(ex.key)}</code></td><td class=\"n\">{_share(n, ex.attempted)}</td></tr>")
            out.append("</table>")
        other = [(n, ex, pattern) for ex in ch.exercises.values() for pattern, n in ex.unnamed.items()]
        if other:
            out.append("<h3>Other failures, grouped by message</h3><table><tr><th>message (one example)</th>"
                       "<th>exercise</th><th>of the attempts</th></tr>")
            for n, ex, pattern in sorted(other, key=lambda r: (-r[0], r[1].key))[:15]:
                out.append(f"<tr><td>{e(ex.examples[pattern])}</td><td><code>{e(ex.key)}</code></td>"
                           f"<td class=\"n\">{_share(n, ex.attempted)}</td></tr>")
            out.append("</table>")
        if ch.cell_problems:
            out.append("<h3>Cells that timed out or crashed most</h3><table><tr><th>cell</th><th>what happened"
                       "</th><th>submissions</th></tr>")
            for key, n in ch.cell_problems.most_common(10):
                cell, cause = _cell_shown(ch.cell_examples[key])
                out.append(f"<tr><td><code>{e(cell)}</code></td><td>{e(cause)}</td>"
                           f"<td class=\"n\">{_share(n, ch.graded)}</td></tr>")
            out.append("</table>")
    out.append("<h2>Similar answers</h2>")
    if pairs is None:
        out.append("<p class=\"muted\">Not computed (turned off, or the submissions were not given).</p>")
    elif not pairs:
        out.append("<p>No two answers were nearly the same.</p>")
    else:
        linked = groups(pairs)
        out.append(f"<p>{len(pairs)} pair(s) of answers, in {len(linked)} group(s), share most of their code "
                   "after names, numbers, comments and spacing are ignored and the code the course gives is left "
                   "out. This is something to look at, not a verdict: who they are is on the instructor's page, "
                   "and <a href=\"similar-answers.html\">the answers side by side</a>.</p>"
                   "<table><tr><th>exercise</th><th>submissions</th><th>alike</th></tr>")
        for g in linked[:50]:
            out.append(f"<tr><td><code>{e(g.exercise)}</code></td><td class=\"n\">{len(g.members)}</td>"
                       f"<td class=\"n\">{_alike(g)}</td></tr>")
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _alike(g) -> str:
    return f"{100 * g.lowest:.0f}%" if g.lowest == g.highest else f"{100 * g.lowest:.0f}-{100 * g.highest:.0f}%"


def render_students(summary: ClassSummary, pairs: list[Pair] | None, sections: Iterable[str] = ()) -> str:
    """The instructor's page: who made each known mistake, which files could not be graded, who answered alike;
    ``sections``: more HTML sections at its end, written by their own modules (they name students too)."""
    e = html.escape
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">"
           "<title>Instructor only: who made which mistake</title>",
           f"<style>{_CSS}.private{{border:3px solid #a4141b;padding:.6em 1em;background:#fdf0f0}}</style>"
           "</head><body>",
           "<p class=\"private\" role=\"note\"><b>Instructor only.</b> This page names students: do not share it, "
           "post it or project it. The page to share is <a href=\"class-report.html\">the class report</a>.</p>",
           "<h1>Who made which mistake</h1>"]
    concepts = summary.concepts()
    if not concepts:
        out.append("<p>No failure matched a known mistake.</p>")
    for concept in concepts:
        out.append(f"<h2>{e(concept.name)}: {len(concept.students)} student(s)</h2>"
                   "<table><tr><th>exercise</th><th>what the hint said</th><th>submissions</th></tr>")
        for chapter, ex, hint, n in sorted(concept.places, key=lambda p: (p[0], p[1].key)):
            who = ", ".join(e(w) for w in sorted(ex.who.get(hint, [])))
            out.append(f"<tr><td><code>{e(ex.key)}</code> ({e(chapter)})</td><td>{e(hint)}</td>"
                       f"<td>{n}: {who}</td></tr>")
        out.append("</table>")
    files = [*summary.unidentified_files,
             *[f for ch in summary.chapters.values() for f in ch.not_graded_files]]
    out.append("<h2>Files that were not graded</h2>")
    if files:
        out.append("<table><tr><th>file</th><th>why</th></tr>")
        for who, kind, reason in sorted(files):
            out.append(f"<tr><td><code>{e(who)}</code></td><td>{e(kind)}: {e(reason)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>Every file was graded.</p>")
    if pairs:
        out.append("<h2>Similar answers</h2><p>Something to look at, not a verdict: "
                   "<a href=\"similar-answers.html\">the answers side by side</a>.</p>"
                   "<table><tr><th>exercise</th><th>submissions</th><th>alike</th></tr>")
        for g in groups(pairs)[:50]:
            out.append(f"<tr><td><code>{e(g.exercise)}</code></td><td>{len(g.members)}: "
                       f"{e(', '.join(g.members))}</td><td class=\"n\">{_alike(g)}</td></tr>")
        out.append("</table>")
    out.extend(sections)
    out.append("</body></html>\n")
    return "\n".join(out)


def render_similar(pairs: list[Pair], answers: dict[tuple[str, str], str]) -> str:
    """Each pair's two answer cells side by side (escaped: the code is shown, never run)."""
    e = html.escape
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Similar answers</title>",
           f"<style>{_CSS}pre{{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em;margin:0}}"
           "td{width:50%}</style></head><body><h1>Similar answers</h1>",
           "<p>Pairs of answers whose code is nearly the same once names, numbers, comments and spacing are "
           "ignored, and code the course gives is left out. Students may have worked together as allowed, "
           "or found the same short answer: read before you decide anything.</p>"]
    for p in pairs:
        out.append(f"<h3><code>{e(p.exercise)}</code>: {e(p.first)} and {e(p.second)}, "
                   f"{100 * p.similarity:.0f}% alike</h3><table><tr><th>{e(p.first)}</th><th>{e(p.second)}</th></tr>"
                   f"<tr><td><pre>{e(answers.get((p.exercise, p.first), ''))}</pre></td>"
                   f"<td><pre>{e(answers.get((p.exercise, p.second), ''))}</pre></td></tr></table>")
    out.append("</body></html>\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# answers, for similarity


def answer_cells(submissions_dir: Path, root: Path) -> tuple[dict[str, dict[tuple[str, str], str]],
                                                               dict[str, dict[str, str]]]:
    """The answer code of every identified submission, and the stubs the course gives.

    Returns ``({chapter: {(exercise, who): code}}, {chapter: {exercise: stub}})``; ``who`` is
    ``student/file`` as the report names a submission. Reads the notebooks, runs nothing.
    """
    from .. import cells
    from ..authoring import notebooks
    from ..authoring.config import RELEASE_DIR
    from .sanitize import load_assignment, plan, read_json
    from .submissions import discover

    answers: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    stubs: dict[str, dict[str, str]] = {}
    assignments = {}
    for sub in discover(submissions_dir, root):
        if sub.problem or not sub.chapter:
            continue
        try:
            if sub.chapter not in assignments:
                assignments[sub.chapter] = load_assignment(sub.chapter, root)
                # the course's own release, as plain JSON (nbformat's import alone costs about a second)
                release = notebooks.load(notebooks.notebook_path(sub.chapter, RELEASE_DIR, root))
                stubs[sub.chapter] = {answered_key(cells.grade_id(cell)) or cells.grade_id(cell): cell["source"]
                                      for cell in release["cells"] if cells.is_solution(cell)}
            data, _ = read_json(sub.path)
            steps = plan(data or {"cells": []}, assignments[sub.chapter]).steps
        except Exception:  # noqa: BLE001 - a notebook the grader could not read has no answers to compare
            continue
        seen = set()
        for step in steps:
            if step.kind == "code" and step.grade_id and step.grade_id not in seen:
                seen.add(step.grade_id)
                answers[sub.chapter][(answered_key(step.grade_id) or step.grade_id, sub.label)] = step.source
    return dict(answers), stubs


def find_similar(submissions_dir: Path, root: Path, threshold: float = THRESHOLD
                 ) -> tuple[list[Pair], dict[tuple[str, str], str]]:
    """Similar pairs over every exercise of every chapter found in ``submissions_dir``."""
    answers, stubs = answer_cells(submissions_dir, root)
    pairs: list[Pair] = []
    shown: dict[tuple[str, str], str] = {}
    for chapter, by_key in answers.items():
        exercises: dict[str, dict[str, str]] = defaultdict(dict)
        for (exercise, who), code in by_key.items():
            exercises[exercise][who] = code
        for exercise, codes in sorted(exercises.items()):
            found = similar_pairs(exercise, codes, [stubs.get(chapter, {}).get(exercise, "")], threshold)
            pairs.extend(found)
            for p in found:
                shown[(exercise, p.first)] = codes[p.first]
                shown[(exercise, p.second)] = codes[p.second]
    pairs.sort(key=lambda p: (-p.similarity, p.exercise, p.first, p.second))
    return pairs, shown


# ---------------------------------------------------------------------------
# the whole report


def write_report(out: Path, submissions: list[dict], *, submissions_dir: Path | None, root: Path,
                 similarity: bool = True, threshold: float = THRESHOLD) -> ClassSummary:
    """Write ``class-report.html`` (to share), ``class-report-students.html`` (the instructor's), ``class-report.csv``
    and (when asked) ``similar-answers.html`` in ``out``."""
    summary = summarise(submissions)
    pairs = None
    note = ""
    if similarity and submissions_dir is not None:
        pairs, shown = find_similar(submissions_dir, root, threshold)
        atomic_write(out / "similar-answers.html", render_similar(pairs, shown))
        note = f"Similar answers: listed from {100 * threshold:.0f}% alike."
    else:
        (out / "similar-answers.html").unlink(missing_ok=True)
    write_csv(summary, out / "class-report.csv", pairs)
    reaching = suspicious.scan(submissions_dir, root) if submissions_dir is not None else None
    atomic_write(out / "class-report.html", render_html(summary, pairs, note))
    atomic_write(out / "class-report-students.html", render_students(summary, pairs, [suspicious.render(reaching)]))
    return summary
