"""Results: the verdict (does fusion beat the best single modality?), the leaderboard, the report page,
the export record and the dashboard. No model framework here (serving retrains and scores)."""

from fusion_search.results._artifacts import upload_model
from fusion_search.results._choice import ExportChoice, choice_record, export_choice
from fusion_search.results._dashboard import serve_dashboard
from fusion_search.results._leaderboard import (
    leaderboard_html, leaderboard_rows, leaderboard_table, print_status, state_line,
)
from fusion_search.results._publish import publish_to_dashboard, verdict_note
from fusion_search.results._record import ensemble_record, export_record, package_versions, record_text
from fusion_search.results._report import report_html, write_report
from fusion_search.results._confirmation import second_look_baseline
from fusion_search.results._statistics import (
    AucDifferenceTest, CorrectedTTest, corrected_ttest, delong_test, paired_bootstrap_test, sequential_levels,
)
from fusion_search.results._verdict import Comparison, PairedTest, compare, headline, paired_test, paired_test_in_words

__all__ = [
    "Comparison", "CorrectedTTest", "ExportChoice", "choice_record", "export_choice", "AucDifferenceTest", "PairedTest", "compare", "corrected_ttest", "delong_test", "paired_bootstrap_test", "sequential_levels",
    "ensemble_record", "export_record", "headline", "leaderboard_html", "leaderboard_rows", "leaderboard_table", "package_versions",
    "paired_test", "paired_test_in_words", "print_status", "state_line", "publish_to_dashboard", "verdict_note", "record_text", "report_html", "second_look_baseline", "serve_dashboard", "upload_model", "write_report",
]
