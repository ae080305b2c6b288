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

__version__ = "0.1.0"

__all__ = ["__version__"]
