"""`./dev bench`: the benchmark's command (its options: `./dev bench --help`).

The benchmark itself is the `benchmark` package beside this file; its `__init__` says which
module does what."""

from benchmark.command import main

if __name__ == "__main__":
    main()
