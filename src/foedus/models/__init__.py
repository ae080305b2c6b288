"""The eight sub-models. Each is a pure function over arrays of futures:
``f(levers, inputs) -> dict of arrays``, with no Python loop per future.
``levers`` (:mod:`foedus.models.levers`) are the packages compiled to arrays
of commitment rows; ``inputs`` (:mod:`foedus.models.inputs`) map every
parameter name to an array over futures (or a broadcastable scalar)."""
