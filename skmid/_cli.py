"""The ``skmid`` command line: parsing, dispatch and work kept apart.

``get_parser`` builds the argument parser; ``main`` parses ``argv``, dispatches to
the subcommand's function and returns the exit status, so tests can call
``main([...])`` in-process.
"""

import argparse
import sys

from ._version import __version__


def get_parser():
    """Return the argument parser of the ``skmid`` command."""
    parser = argparse.ArgumentParser(
        prog="skmid",
        description=(
            "skmid: defenses against model inversion attacks and the attacks "
            "that measure them, as scikit-learn estimators."
        ),
    )
    parser.add_argument("--version", action="version", version=f"skmid {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    versions = subparsers.add_parser(
        "show-versions",
        help="print the versions of skmid and its dependencies",
        description="Print the versions of skmid and its dependencies.",
    )
    versions.set_defaults(handler=_run_show_versions)
    return parser


def _run_show_versions(args):
    from ._show_versions import show_versions

    show_versions()
    return 0


def main(argv=None):
    """Run the ``skmid`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        The process exit status.
    """
    parser = get_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    return handler(args)
