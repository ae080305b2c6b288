"""The study layer: one assessment of a set of packages, which the CLI, the
web app and the report render (see :mod:`foedus.study.study`)."""
