"""Reports of a preflight run: the JSON contract (schema), console, pull-request Markdown, SARIF and HTML.

Every renderer redacts secrets and validates the document first (`prepare.prepare_report`), so an invalid or
unredacted document raises `ReportValidationError` instead of producing a misleading report.
"""

from preflight.report.html import render_html
from preflight.report.markdown import render_markdown
from preflight.report.prepare import prepare_report, redact_document
from preflight.report.sarif import render_sarif
from preflight.report.schema import ReportValidationError, validate_report
from preflight.report.terminal import render_terminal

__all__ = [
    "ReportValidationError",
    "prepare_report",
    "redact_document",
    "render_html",
    "render_markdown",
    "render_sarif",
    "render_terminal",
    "validate_report",
]
