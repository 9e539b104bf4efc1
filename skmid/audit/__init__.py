"""Privacy-utility audits of defenses on real data, with reports.

Every audit is an :class:`AuditSpec` (data, utility, attacks, defenses, all
declared as data) run by one engine, :func:`run_audit`, and rendered by one
report writer, :func:`write_report`.
"""

from ._images import SeedSplits, comparison_defenses, image_audit
from ._report import (
    check_report_folder,
    format_summary,
    plot_tradeoff,
    write_report,
)
from ._run import AuditResult, run_audit
from ._specs import (
    AttackSpec,
    AuditInputError,
    AuditSpec,
    DefenseSpec,
    csv_audit,
    steak_audit,
    trivial_defense,
    warfarin_audit,
)

__all__ = [
    "AttackSpec",
    "AuditInputError",
    "AuditResult",
    "AuditSpec",
    "DefenseSpec",
    "SeedSplits",
    "check_report_folder",
    "comparison_defenses",
    "csv_audit",
    "format_summary",
    "image_audit",
    "plot_tradeoff",
    "run_audit",
    "steak_audit",
    "trivial_defense",
    "warfarin_audit",
    "write_report",
]
