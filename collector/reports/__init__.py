"""Reports (issue 8): 平安校园 safety, 节能校园 energy, bandwidth targets, graded-protection
(等保 2.0) compliance and drill reports, in Chinese (default) or English, as HTML with charts
or PDF from the same HTML.

Layers: :mod:`period` (local days) → :mod:`data` (Storage interface, alert store) → one module
per kind computing a plain model (:mod:`safety`, :mod:`energy`, :mod:`bandwidth`,
:mod:`compliance`, :mod:`drill`) → ``layout_*`` (sections of blocks in the report's language,
:mod:`i18n`, :mod:`charts`) → :mod:`render` (Jinja2) and :mod:`pdf` (WeasyPrint). Entry points:
:mod:`build` (``build_report``, ``write_report``), :mod:`cli` (``campusguard report``),
:mod:`api` (``/api/v1/reports``), :mod:`schedule` (daily/weekly/monthly to a folder, mailed).
"""
