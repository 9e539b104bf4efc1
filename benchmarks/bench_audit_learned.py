"""What the learned attack and the MID logistic defense add to the tabular audits.

Run ``python benchmarks/bench_audit_learned.py [warfarin] [steak]``
(``--repeat N`` interleaved runs of each variant, default 2;
``--data-home`` for the steak survey, default ``../shared/data``). For each
audit it runs, serially in this process, the audit as shipped and the same
audit with the new rows removed:

- ``before``: without the ``learned_*`` attack rows and the "MID logistic"
  defense (the audit of the previous release);
- ``+learned``: with the learned attack's rows;
- ``+learned+logistic`` (steak): with the MID logistic defense as well.

It prints each run's wall and CPU time with the load average, then the median
CPU time of each variant and its ratio to ``before``. CPU time is the measure
(the machine may be shared); the runs are interleaved so that each variant sees
the same conditions.
"""

import argparse
import functools
import os
import statistics
import time

from skmid.audit import run_audit, steak_audit, warfarin_audit

NEW_ATTACKS = ("learned_",)
NEW_DEFENSE = "MID logistic"


def without(spec, *, attacks=True, logistic=True):
    """``spec`` with the new attack rows and/or the new defense removed."""
    if attacks:
        spec.attacks = {
            name: attack
            for name, attack in spec.attacks.items()
            if not name.startswith(NEW_ATTACKS)
        }
        spec.plot_attacks = tuple(a for a in spec.plot_attacks if a in spec.attacks)
    if logistic:
        spec.defenses = [d for d in spec.defenses if d.name != NEW_DEFENSE]
    for defense in spec.defenses:
        if defense.attacks is not None:
            defense.attacks = tuple(a for a in defense.attacks if a in spec.attacks)
    return spec.check()


def load():
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def bench(name, make, repeat):
    variants = {
        "before": lambda: without(make()),
        "+learned": lambda: without(make(), attacks=False),
    }
    if name == "steak":
        variants["+learned+logistic"] = lambda: without(
            make(), attacks=False, logistic=False
        )
    run_audit(without(make()), cv=2, repeats=1)  # numba compilation
    times = {variant: [] for variant in variants}
    for _ in range(repeat):
        for variant, build in variants.items():
            spec = build()
            cpu, wall = time.process_time(), time.perf_counter()
            run_audit(spec)
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            times[variant].append(cpu)
            print(
                f"  {name} {variant}: {wall:.1f} s wall, {cpu:.1f} s CPU ({load()})",
                flush=True,
            )
    base = statistics.median(times["before"])
    for variant, cpus in times.items():
        cpu = statistics.median(cpus)
        print(f"{name} {variant}: median CPU {cpu:.1f} s, ratio {cpu / base:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audits", nargs="*", default=["warfarin", "steak"])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data-home", default="../shared/data")
    args = parser.parse_args()
    makers = {
        "warfarin": warfarin_audit,
        "steak": functools.partial(steak_audit, data_home=args.data_home),
    }
    for name in args.audits:
        bench(name, makers[name], args.repeat)


if __name__ == "__main__":
    main()
