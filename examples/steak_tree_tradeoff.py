"""Privacy-utility trade-off of decision trees on the steak survey (MID Figures 2b, 4c).

FiveThirtyEight's steak survey: predict how a respondent likes their steak from
their answers; the attacker infers whether they cheated on a partner (the
sensitive question) from the tree, the respondent's other answers and their
steak preference. Defenses: the MID tree over a grid of lam, Priority (the
sensitive question forced at each depth), DP-ID3 over a grid of epsilon (a
differential-privacy budget) and the CMI output defense (its epsilon is an L1
distortion bound, not a DP budget). Attacks: naive MAP (black box) and MAP with
counts (white box, not applicable to CMI, which releases confidences only), on
the training rows of each fold. Model utility is the weighted F1 on the
held-out rows.

This is :func:`skmid.audit.steak_audit` run by the audit engine
(:func:`skmid.audit.run_audit`), the same as ``skmid audit steak``.

Run: ``python examples/steak_tree_tradeoff.py [--repeats R] [--data-home DIR]
[--n-jobs N] [--out FIGURE.png]``.
"""

import argparse

from matplotlib.figure import Figure

from skmid.audit import format_summary, plot_tradeoff, run_audit, steak_audit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--out", default="steak_tree_tradeoff.png")
    args = parser.parse_args(argv)
    spec = steak_audit(data_home=args.data_home)
    result = run_audit(spec, repeats=args.repeats, n_jobs=args.n_jobs, progress=True)
    print(format_summary(result, max_leakage=0.02))
    figure = Figure(figsize=(12, 4.6))
    for ax, attack in zip(
        figure.subplots(1, 2), ["naive_f1", "counts_f1"], strict=True
    ):
        plot_tradeoff(result, attack, ax=ax)
    figure.savefig(args.out, dpi=110)
    print(f"figure written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
