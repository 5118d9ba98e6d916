"""Prometheus's CPU profiles sorted by what it is doing (bench/prometheus_profile.py):
each sample's stack, from `go tool pprof -traces`, counted under the first of CATEGORIES
that one of its frames matches. Allocation and GC assists count where they were made;
their share of all is shown apart. Needs Go's toolchain (a developer tool, e.g. Debian's
golang-go), not part of the project's install.

    .venv/bin/python bench/pprof_categories.py meshlens.pprof kiali.pprof
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

CATEGORIES = (
    ("garbage collection (background mark, sweep)",
     r"runtime\.gcBgMarkWorker|runtime\.bgsweep|runtime\.bgscavenge"),
    ("postings and matchers", r"PostingsForMatchers|postingsForMatcher"),
    ("index: each series' labels and chunk refs", r"index\.\(\*Decoder\)\.Series"),
    ("chunks read and XOR-decoded", r"chunkenc\.|chunks\.\(\*Reader\)|populateWithDel"),
    ("labels to protobuf (labelsToLabelsProto, MergeLabels)",
     r"labelsToLabelsProto|remote\.MergeLabels"),
    ("protobuf marshal", r"proto\.Marshal|prompb\..*Marshal"),
    ("snappy", r"snappy\."),
    ("network writes (a flush per frame), gzip", r"syscall\.|compress/"),
    ("remote read's own slices (samples, series)", r"remote\.ToQueryResult|remote\.StreamChunked"),
    ("PromQL: labels built (label_join, sum by)", r"funcLabelJoin|labels\.\(\*Builder\)"),
    ("PromQL: aggregation, sort", r"evaluator\)\.aggregation|sort\."),
    ("PromQL: other evaluation", r"promql\."),
    ("JSON of the answers", r"json-iterator|encoding/json|jsonutil"),
    ("HTTP, other", r"net/http"),
)
ALLOCATING = (r"runtime\.mallocgc|runtime\.gcAssistAlloc|runtime\.growslice|runtime\.makeslice"
              r"|runtime\.newobject|gcWriteBarrier|wbBuf")
SAMPLE = re.compile(r"\s*([\d.]+)(ms|s)\s+(.*)")


def sorted_samples(profile: Path) -> tuple[float, Counter[str], float]:
    """(seconds of samples, seconds per category, seconds spent allocating) of a profile."""
    text = subprocess.run(["go", "tool", "pprof", "-traces", str(profile)], check=True,
                          capture_output=True, text=True).stdout
    total = allocating = 0.0
    by: Counter[str] = Counter()
    for block in text.split("-----------+")[1:]:
        lines = block.strip().splitlines()[1:]
        first = SAMPLE.match(lines[0]) if lines else None
        if first is None:
            continue
        seconds = float(first.group(1)) / (1000 if first.group(2) == "ms" else 1)
        stack = "\n".join([first.group(3), *(line.strip() for line in lines[1:])])
        total += seconds
        allocating += seconds if re.search(ALLOCATING, stack) else 0.0
        by[next((name for name, pattern in CATEGORIES if re.search(pattern, stack)),
                "other")] += seconds
    return total, by, allocating


def table(profiles: list[Path]) -> str:
    """A Markdown table: a column per profile, a row per category (% of its samples)."""
    got = [sorted_samples(p) for p in profiles]
    lines = ["| what Prometheus does | " + " | ".join(p.stem for p in profiles) + " |",
             "| - |" + " -: |" * len(profiles)]
    for name in [n for n, _ in CATEGORIES] + ["other"]:
        lines.append(f"| {name} | " + " | ".join(
            f"{100 * by[name] / total:.1f} %" for total, by, _ in got) + " |")
    lines.append("| (of all: allocating, GC assists, write barriers) | " + " | ".join(
        f"({100 * alloc / total:.1f} %)" for total, _, alloc in got) + " |")
    lines.append("| samples | " + " | ".join(f"{total:.1f} s" for total, _, _ in got) + " |")
    return "\n".join(lines)


def available() -> bool:
    return shutil.which("go") is not None


if __name__ == "__main__":
    print(table([Path(p) for p in sys.argv[1:]]))
