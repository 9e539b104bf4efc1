"""Privacy-utility audits of defenses on real data, with reports."""

from ._comparison import (
    DefenseComparison,
    compare_output_defenses,
    comparison_defenses,
    plot_reconstructions,
)
from ._report import (
    format_summary,
    plot_tradeoff,
    write_comparison_report,
    write_report,
)
from ._run import AuditResult, run_audit
from ._specs import (
    AuditInputError,
    AuditSpec,
    DefenseSpec,
    csv_audit,
    steak_audit,
    warfarin_audit,
)

__all__ = [
    "AuditInputError",
    "AuditResult",
    "AuditSpec",
    "DefenseComparison",
    "DefenseSpec",
    "compare_output_defenses",
    "comparison_defenses",
    "csv_audit",
    "format_summary",
    "plot_reconstructions",
    "plot_tradeoff",
    "run_audit",
    "steak_audit",
    "warfarin_audit",
    "write_comparison_report",
    "write_report",
]
