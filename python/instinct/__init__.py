"""instinct: small neural networks from Python.

Load a model (instmodel JSON, or ONNX converted as it loads) and predict numpy arrays,
DataFrames or Arrow tables; the GIL is released while it computes, and models pickle as their
JSON, so Dask, Ray, Spark and multiprocessing ship them to their workers. See docs/PYTHON.md.

>>> import instinct, numpy as np
>>> model = instinct.load("iris.json")                      # doctest: +SKIP
>>> model.predict(np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32))  # doctest: +SKIP
"""

from ._instinct import Model, ModelError, __version__, convert, from_json, load, validate

__all__ = ["Model", "ModelError", "__version__", "convert", "from_json", "load", "validate"]
