"""Self-contained HTML reports (``foedus report``): see
:func:`foedus.interfaces.report.build.build_report`."""
