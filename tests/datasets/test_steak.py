import io
import urllib.request

import numpy as np
import pytest

from skmid.datasets import fetch_steak_survey, get_data_home


@pytest.fixture(scope="module")
def steak(shared_data_home):
    return fetch_steak_survey(data_home=shared_data_home)


def test_steak_eaters_with_a_preparation(steak):
    assert steak.data.shape == (428, 12)
    assert steak.data.dtype == object
    assert steak.target_names == [
        "Medium",
        "Medium Well",
        "Medium rare",
        "Rare",
        "Well",
    ]
    assert set(steak.target) == set(steak.target_names)
    assert "Response" not in set(steak.data.ravel())
    assert "FiveThirtyEight" in steak.DESCR


def test_sensitive_feature_is_the_infidelity_question(steak):
    column = steak.data[:, steak.sensitive_features]
    assert steak.feature_names[steak.sensitive_features] == "cheated"
    assert set(column) == {"Yes", "No"}
    assert 0.1 < np.mean(column == "Yes") < 0.25
    assert steak.questions["cheated"].startswith("Have you ever cheated")


def test_missing_answers_are_their_own_category(steak):
    income = steak.data[:, steak.feature_names.index("household_income")]
    assert (income == "No answer").sum() > 50
    assert not any(value is None or value != value for value in steak.data.ravel())


def test_as_frame(shared_data_home, steak):
    bunch = fetch_steak_survey(data_home=shared_data_home, as_frame=True)
    assert bunch.sensitive_features == "cheated"
    assert list(bunch.data.columns) == steak.feature_names
    assert bunch.frame.shape == (428, 13)
    X, y = fetch_steak_survey(data_home=shared_data_home, return_X_y=True)
    np.testing.assert_array_equal(X, steak.data)


def test_missing_file_without_download_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        fetch_steak_survey(data_home=tmp_path, download_if_missing=False)


def test_download_into_data_home(tmp_path, shared_data_home, monkeypatch):
    content = (shared_data_home / "steak-risk-survey.csv").read_bytes()
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        return io.BytesIO(content)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    bunch = fetch_steak_survey(data_home=tmp_path / "new")
    assert requested[0].endswith("steak-survey/steak-risk-survey.csv")
    assert (tmp_path / "new" / "steak-risk-survey.csv").read_bytes() == content
    assert bunch.data.shape == (428, 12)


def test_failed_download_raises_with_instructions(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="Download it by hand"):
        fetch_steak_survey(data_home=tmp_path)
    assert not list(tmp_path.iterdir())


def test_data_home_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("SKMID_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    monkeypatch.delenv("SKMID_DATA")
    assert get_data_home().name == "skmid_data"


def test_env_var_is_used_by_the_loader(monkeypatch, shared_data_home):
    monkeypatch.setenv("SKMID_DATA", str(shared_data_home))
    assert fetch_steak_survey(download_if_missing=False).data.shape == (428, 12)


def test_wrong_file_is_rejected(tmp_path):
    (tmp_path / "steak-risk-survey.csv").write_text("a,b\nResponse,Response\n1,2\n")
    with pytest.raises(ValueError, match="is not the steak survey"):
        fetch_steak_survey(data_home=tmp_path)
