"""`python -m bench` runs every benchmark (core, store, answers, then nl); `python -m bench NAME` runs one."""

import importlib
import sys

BENCHMARKS = ("core", "store", "answers", "nl")
MODULES = {"nl": "nl_eval"}  # bench/nl/ holds the evaluation set

names = sys.argv[1:] or list(BENCHMARKS)
unknown = [name for name in names if name not in BENCHMARKS]
if unknown:
    sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
for name in names:
    if len(names) > 1:
        print(f"\n## {name}\n", flush=True)
    importlib.import_module(f"bench.{MODULES.get(name, name)}").run()
