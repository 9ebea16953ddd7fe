"""The package's API: loading JSON and ONNX, converting, validating as data, names and
labels, JSON round trips."""

import json
import pathlib

import numpy as np
import pytest

import instinct
from conftest import IRIS, ONNX, close, mlp


def test_a_model_file_predicts_what_its_exporter_did(iris, iris_expected):
    x = np.asarray(iris_expected["inputs"], dtype=np.float32)
    y = iris.predict(x)
    assert y.dtype == np.float32 and y.shape == (len(x), 3)
    close(y, iris_expected["keras"])
    assert iris.feature_names == [
        "sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
    assert iris.output_names == ["output_0", "output_1", "output_2"]
    assert iris.labels is None
    assert (iris.feature_count, iris.output_count) == (4, 3)
    assert "4 inputs, 3 outputs" in repr(iris)


def labelled_classifiers():
    for path in sorted(ONNX.glob("skl_*classifier*species*.onnx")) + sorted(
            ONNX.glob("skl_mlp_classifier_odd_ints.onnx")):
        yield path


@pytest.mark.parametrize("path", list(labelled_classifiers()), ids=lambda p: p.stem)
def test_onnx_classifiers_load_with_their_labels(path):
    expected = json.loads(path.with_suffix(".expected.json").read_text())
    x = np.asarray(expected["inputs"], dtype=np.float32)
    for model in (instinct.load(path), instinct.convert(path)):
        probabilities = [v for k, v in expected["outputs"].items() if "label" not in k][0]
        close(model.predict(x), probabilities)
        labels = model.predict_label(x)
        assert labels.tolist() == expected["predict"]
        assert model.labels is not None and len(model.labels) == model.output_count
        if all(isinstance(c, int) for c in expected["predict"]):
            assert labels.dtype == np.int64
        else:
            assert labels.dtype == object


def test_predict_label_needs_labels(iris):
    with pytest.raises(ValueError, match="no class labels"):
        iris.predict_label(np.zeros((1, 4), dtype=np.float32))


def test_labels_rank_as_numpy_nanargmax():
    text, _ = mlp([1, 3], [None], labels=["a", "b", "c"])
    model = instinct.from_json(text)
    x = np.array([[1.0], [-1.0], [0.0]], dtype=np.float32)
    y = model.predict(x)
    assert model.predict_label(x).tolist() == [["a", "b", "c"][i] for i in y.argmax(axis=1)]


def test_validate_returns_diagnostics_as_data(tmp_path):
    assert instinct.validate(IRIS) == []
    assert instinct.load(IRIS).validate() == []
    broken = json.loads(IRIS.read_text())
    broken["buffer_sizes"][1] += 1  # the first layer's weights no longer fit
    broken["instructions"][0]["weights"] = 7  # and a weight index out of range
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    diagnostics = instinct.validate(path)
    assert len(diagnostics) >= 2
    for d in diagnostics:
        assert set(d) >= {"path", "kind", "message"}
    assert any(d["path"] == "instructions[0].weights" for d in diagnostics), diagnostics

    with pytest.raises(instinct.ModelError) as raised:
        instinct.load(path)
    assert isinstance(raised.value, ValueError)
    assert raised.value.diagnostics == diagnostics
    assert "is not a valid model" in str(raised.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        instinct.load(tmp_path / "missing.json")
    with pytest.raises(FileNotFoundError):
        instinct.validate(tmp_path / "missing.json")
    with pytest.raises(IsADirectoryError):
        instinct.load(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"^\[Errno 2\] No such file or directory: "):
        instinct.convert(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{\"features\": [")
    with pytest.raises(instinct.ModelError) as raised:
        instinct.load(garbage)
    assert raised.value.diagnostics[0]["kind"] == "format"
    assert [d["kind"] for d in instinct.validate(garbage)] == ["format"]
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_bytes(b"\x08\x07garbage that is not protobuf")
    with pytest.raises(instinct.ModelError, match="not an ONNX model"):
        instinct.convert(not_onnx)
    with pytest.raises(instinct.ModelError):
        instinct.from_json("[]")


def test_unsupported_onnx_nodes_are_listed():
    unsupported = sorted((ONNX / "unsupported").glob("*.onnx"))
    assert unsupported
    with pytest.raises(instinct.ModelError) as raised:
        instinct.convert(unsupported[0])
    assert raised.value.diagnostics
    assert all(d["kind"] in ("unsupported_onnx", "onnx") for d in raised.value.diagnostics)


def test_json_round_trips(iris, tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    again = instinct.from_json(iris.to_json())
    np.testing.assert_array_equal(again.predict(x), iris.predict(x))
    path = tmp_path / "saved.json"
    iris.save(path)
    np.testing.assert_array_equal(instinct.load(path).predict(x), iris.predict(x))
    with pytest.raises(OSError):
        iris.save(tmp_path / "no" / "such" / "dir.json")


def test_version_and_stubs_ship():
    assert instinct.__version__
    package = pathlib.Path(instinct.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_instinct.pyi").exists()
