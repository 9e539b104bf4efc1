"""Reproduce the claims of the purification framework (Yang et al., 2020) here.

The small-scale Table II: a ``LogisticRegression(C=0.05)`` target on
``load_digits`` (``--dataset faces`` for the Olivetti faces) behind the single
purifier, Purifier I (adversarial inversion model), Purifier II
(discriminator) and Purifier I & II, against the one-hot (top-label) baseline
of the paper's comparison and the undefended model: accuracy on training and
held-out rows, confidence distortion, the attacker's inversion error on the
training images (``InversionModelAttack`` trained on the defended outputs of
its own auxiliary images) and the ML-Leaks, NSH and label-only membership
attacks. One per-class split per seed, by the audit engine
(``skmid.audit.image_audit``, the protocol of ``skmid audit digits``).

Run from the repository root:
``python benchmarks/reproduce/purification.py [--quick] [--dataset faces]``.
"""

from _common import Timer, image_comparison, parser, seeds_of

DEFENSES = (
    "none",
    "purifier",
    "purifier I",
    "purifier II",
    "purifier I&II",
    "top-label",
)
QUICK_DEFENSES = ("none", "purifier")


def main(argv=None):
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--dataset", choices=["digits", "faces"], default="digits")
    args = arguments.parse_args(argv)
    seeds = seeds_of(args)
    print(f"seeds: {list(seeds)}", "(quick: smoke test, not evidence)" * args.quick)
    with Timer("purification"):
        image_comparison(
            args, seeds, QUICK_DEFENSES if args.quick else DEFENSES, args.dataset
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
