from bench.core import run

run()
