"""foedus: design, cost and stress-test security guarantees.

The package is layered; dependencies point one way:

    interfaces (cli, web, report) -> exploration -> models -> domain, data

``foedus.domain`` holds the types (packages, commitments, countries,
parameters), ``foedus.data`` the shipped data files and their loaders,
``foedus.models`` the vectorised sub-models, ``foedus.exploration`` the
assessment over many futures, robustness, PRIM and sensitivity,
``foedus.storage`` the DuckDB run store and ``foedus.interfaces`` the CLI,
web app and reports. Importing ``foedus`` does no work (keeps the CLI fast).
"""

import os as _os

__version__ = "0.1.0"

# The sub-models do many small matrix products per chunk of futures; a
# multi-threaded BLAS spends more time synchronising than computing on them
# and fights with Dask's own workers. One BLAS thread per process (set only
# if the user has not chosen, and only effective before NumPy is imported).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__all__ = ["__version__"]
