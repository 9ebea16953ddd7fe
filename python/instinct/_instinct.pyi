"""Type stubs of the native module `instinct._instinct` (re-exported by `instinct`)."""

from os import PathLike
from typing import Any, Dict, List, Optional, Union

import numpy as np
import numpy.typing as npt

__version__: str

Diagnostic = Dict[str, Any]
"""One problem of a model: `path` (where in the model), `kind`, `message`, and details."""

class ModelError(ValueError):
    """A model that cannot be loaded; `diagnostics` lists every problem."""

    diagnostics: List[Diagnostic]

class Model:
    """A validated model, ready to predict. Load one with `instinct.load(path)`."""

    @property
    def feature_names(self) -> Optional[List[str]]: ...
    @property
    def output_names(self) -> List[str]: ...
    @property
    def labels(self) -> Optional[List[Union[int, str]]]: ...
    @property
    def feature_count(self) -> int: ...
    @property
    def output_count(self) -> int: ...
    def predict(
        self,
        x: npt.ArrayLike,
        threads: Optional[int] = None,
        engine: str = "auto",
        *,
        out: Optional[npt.NDArray[np.float32]] = None,
        allow_nonfinite: bool = False,
    ) -> npt.NDArray[np.float32]:
        """Predicts the rows of `x` (2-D: rows × features); float32 rows of outputs.

        float32 in C order is read without a copy; other numbers (float64, Fortran order,
        strides, integers, booleans, a pandas DataFrame matched by column name) are converted
        first. `out` is a preallocated C-contiguous float32 array of shape (rows, outputs) to
        write into. `engine` is one of auto, interp, batch, static, batched, gpu, int8; `threads`
        None uses every core. NaN or infinities raise ValueError unless `allow_nonfinite`.
        """
    def predict_label(
        self,
        x: npt.ArrayLike,
        threads: Optional[int] = None,
        engine: str = "auto",
        *,
        allow_nonfinite: bool = False,
    ) -> npt.NDArray[Any]:
        """The class label of each row (its largest output's), as scikit-learn's predict()."""
    def predict_arrow(
        self,
        data: Any,
        threads: Optional[int] = None,
        engine: str = "auto",
        *,
        keep: Optional[List[str]] = None,
        allow_nonfinite: bool = False,
    ) -> Any:
        """Predicts an Arrow table, record batch or stream: columns matched by feature name
        (others ignored; for a model without feature names, the columns not kept, in order);
        a pyarrow.Table of the `keep` columns, then one float32 column per output."""
    def describe(self, threads: Optional[int] = None, engine: str = "auto") -> str:
        """The engine that `engine` and `threads` choose, and why."""
    def validate(self) -> List[Diagnostic]:
        """The model's diagnostics: none, as it loaded."""
    def to_json(self) -> str:
        """The model as instmodel JSON text."""
    def save(self, path: Union[str, "PathLike[str]"]) -> None:
        """Writes the model as instmodel JSON."""
    def __reduce__(self) -> Any: ...

def load(path: Union[str, "PathLike[str]"]) -> Model:
    """Loads instmodel JSON, or ONNX (converted as it loads)."""

def convert(path: Union[str, "PathLike[str]"]) -> Model:
    """Converts an ONNX model."""

def from_json(text: str) -> Model:
    """A model from instmodel JSON text."""

def validate(path: Union[str, "PathLike[str]"]) -> List[Diagnostic]:
    """Checks a model file: its diagnostics, empty when it is valid."""
