"""`python -m benchmarks [names...]`: run benchmark modules (all when no name is given).

A benchmark is any module `benchmarks/<name>.py` defining `run(args) -> dict | None`; its
result is written to benchmarks/results/<name>.json by `benchmarks.common.write_results`
(the module may also write it itself). DATABASE_URL must point to the bench database.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback

from . import common

NOT_BENCHMARKS = {"common"}


def discover() -> list[str]:
    import benchmarks

    names = []
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name.startswith("_") or info.name in NOT_BENCHMARKS:
            continue
        names.append(info.name)
    return sorted(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--count", type=int, default=1_000_000,
                        help="generated reports the bench database must hold")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions (a smoke run, figures are rough)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; "
                     f"available: {', '.join(available)}")
    common.setup_django()
    failed = []
    for name in args.names or available:
        module = importlib.import_module(f"benchmarks.{name}")
        run = getattr(module, "run", None)
        if run is None:
            continue
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            result = run(args)
        except Exception:  # noqa: BLE001 - report and go on with the other benchmarks
            traceback.print_exc()
            failed.append(name)
            continue
        if result is not None:
            path = common.write_results(name, result)
            print(f"-> {path}")
        print(f"=== {name}: {time.perf_counter() - started:.0f} s ===", flush=True)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
