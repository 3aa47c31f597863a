"""`python -m bench` runs every benchmark (compare, load, store, answers, then nl);
`python -m bench --quick` smoke-runs those with a quick mode (compare, load), saving nothing;
`python -m bench NAME [OPTIONS]` runs one and `python -m bench NAME NAME ...` several (also `core`,
the in-process overhead check that `compare` supersedes), e.g. `python -m bench load --seconds 60`.
"""

import importlib
import inspect
import sys

BENCHMARKS = ("compare", "load", "store", "answers", "nl")
EXTRA = ("core",)
QUICK = ("compare", "load")
MODULES = {"nl": "nl_eval"}  # bench/nl/ holds the evaluation set


def run(name: str, options: list[str]) -> None:
    entry = importlib.import_module(f"bench.{MODULES.get(name, name)}").run
    if options and not inspect.signature(entry).parameters:
        sys.exit(f"benchmark {name} takes no options")
    entry(options) if options else entry()


args = sys.argv[1:]
if len(args) > 1 and set(args) <= set(BENCHMARKS + EXTRA):  # several names, as before
    for name in args:
        print(f"\n## {name}\n", flush=True)
        run(name, [])
elif args and not args[0].startswith("-"):
    if args[0] not in BENCHMARKS + EXTRA:
        sys.exit(f"unknown benchmark {args[0]}; choose from {', '.join(BENCHMARKS + EXTRA)}")
    run(args[0], args[1:])
elif args not in ([], ["--quick"]):
    sys.exit("usage: python -m bench [--quick] | python -m bench NAME [OPTIONS]")
else:
    names = QUICK if args else BENCHMARKS
    for name in names:
        print(f"\n## {name}\n", flush=True)
        run(name, args)
