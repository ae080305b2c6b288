"""User interfaces: the ``foedus`` CLI, the web app and HTML reports. They
call :mod:`foedus.exploration`; nothing below imports them."""
