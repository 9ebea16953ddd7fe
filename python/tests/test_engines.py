"""Engines and threads: every engine agrees with the float64 reference, a row's result does
not depend on its batch or the thread count, and bad choices are errors."""

import numpy as np
import pytest

from conftest import close

ENGINES = ["auto", "interp", "batch", "batched"]


def test_every_engine_agrees_with_the_reference(wide, tiny):
    for model, forward, engines in ((wide[0], wide[1], ENGINES),
                                    (tiny[0], tiny[1], ENGINES + ["static"])):
        x = np.random.default_rng(4).normal(size=(1000, model.feature_count)).astype(np.float32)
        for engine in engines:
            close(model.predict(x, engine=engine), forward(x), rtol=1e-5, atol=1e-6)


def test_a_row_does_not_depend_on_its_batch_or_threads(wide, tiny):
    rng = np.random.default_rng(5)
    for model in (wide[0], tiny[0]):
        x = rng.normal(size=(3001, model.feature_count)).astype(np.float32)
        for engine in ENGINES:
            whole = model.predict(x, engine=engine, threads=1)
            for threads in (2, 3, None):
                np.testing.assert_array_equal(model.predict(x, engine=engine, threads=threads),
                                              whole)
            cuts = np.sort(rng.choice(np.arange(1, len(x)), size=12, replace=False))
            pieces = [model.predict(part, engine=engine) for part in np.split(x, cuts)]
            np.testing.assert_array_equal(np.concatenate(pieces), whole)
            singles = np.concatenate([model.predict(x[i:i + 1], engine=engine)
                                      for i in range(0, 3001, 250)])
            np.testing.assert_array_equal(singles, whole[::250])
        # Engines agree with each other within float32 rounding.
        for engine in ENGINES[1:]:
            close(model.predict(x, engine=engine), model.predict(x), rtol=1e-6, atol=1e-6)


def test_bad_choices_are_errors(wide):
    model, _ = wide
    x = np.zeros((2, 40), dtype=np.float32)
    with pytest.raises(ValueError, match="unknown engine \"fast\""):
        model.predict(x, engine="fast")
    with pytest.raises(ValueError, match="threads=0"):
        model.predict(x, threads=0)
    with pytest.raises(ValueError, match="threads=-2"):
        model.predict(x, threads=-2)
    with pytest.raises(ValueError, match="threads=100000: ask for 1 to 1024"):
        model.predict(x, threads=100_000)
    with pytest.raises(OverflowError):
        model.predict(x, threads=2**70)
    with pytest.raises(ValueError, match="static engine does not apply"):
        model.predict(x, engine="static")
    with pytest.raises(RuntimeError, match="gpu engine is unavailable"):
        model.predict(x, engine="gpu")
    assert model.describe().startswith("batch (asked auto)")


def test_describe_names_the_engine(tiny):
    model, _ = tiny
    assert model.describe().startswith("static (asked auto)")
    assert model.describe(engine="interp").startswith("interp")
