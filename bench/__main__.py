"""``python -m bench [--quick] [--n N ...] [--reps R] [--only SUBJECT ...] [--profile]``.

Runs the benchmark (full mode by default) and writes bench/results/<mode>.md (and the raw
figures as <mode>.json); ``--profile`` profiles django-redbeat instead and writes
bench/results/profile.md; ``--report NAME`` renders NAME.json again.
"""

from __future__ import annotations

import argparse
import sys

from bench.subjects import SUBJECTS


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N, one repetition")
    parser.add_argument("--n", type=int, nargs="+", help="entry counts to run (default: mode's)")
    parser.add_argument("--reps", type=int, help="repetitions (default: mode's)")
    parser.add_argument("--budget", type=float, help="seconds per all-due run (default: mode's)")
    parser.add_argument("--only", nargs="+", choices=SUBJECTS, default=list(SUBJECTS))
    parser.add_argument("--profile", action="store_true", help="profile django-redbeat instead")
    parser.add_argument("--name", help="results file name (default: the mode's name)")
    parser.add_argument("--report", metavar="NAME", help="render results/NAME.json again")
    options = parser.parse_args()
    if options.report:
        from bench import run

        path = run.rerender(options.report)
    elif options.profile:
        from bench import profile

        path = profile.run(options.n[0] if options.n else 10_000)
    else:
        from bench import run

        mode_name = "quick" if options.quick else "full"
        mode = dict(run.MODES[mode_name])
        for key in ("n", "reps", "budget"):
            value = getattr(options, key)
            if value is not None:
                mode["ns" if key == "n" else key] = value
        command = " ".join(["python -m bench", *sys.argv[1:]])
        path = run.run(options.name or mode_name, mode, options.only, command)
    print(path.read_text())
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
