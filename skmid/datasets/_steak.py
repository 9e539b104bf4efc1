"""FiveThirtyEight's steak survey (Fredrikson et al. 2015; the MID paper's trees)."""

import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ..utils._optional import import_optional_dependency
from ._base import get_data_home, load_descr

STEAK_SURVEY_FILENAME = "steak-risk-survey.csv"
STEAK_SURVEY_URL = (
    "https://raw.githubusercontent.com/fivethirtyeight/data/master/"
    "steak-survey/steak-risk-survey.csv"
)
MISSING_ANSWER = "No answer"

_EATS_STEAK = "Do you eat steak?"
_PREPARATION = "How do you like your steak prepared?"
# Survey question -> feature name, in the file's column order.
_QUESTIONS = {
    "Consider the following hypothetical situations: <br>In Lottery A, you have a "
    "50% chance of success, with a payout of $100. <br>In Lottery B, you have a 90% "
    "chance of success, with a payout of $20. <br><br>Assuming you have $10 to bet,"
    " would you play Lottery A or Lottery B?": "lottery",
    "Do you ever smoke cigarettes?": "smoke",
    "Do you ever drink alcohol?": "alcohol",
    "Do you ever gamble?": "gamble",
    "Have you ever been skydiving?": "skydiving",
    "Do you ever drive above the speed limit?": "speeding",
    "Have you ever cheated on your significant other?": "cheated",
    "Gender": "gender",
    "Age": "age",
    "Household Income": "household_income",
    "Education": "education",
    "Location (Census Region)": "census_region",
}
SENSITIVE_FEATURE = "cheated"
SENSITIVE_FEATURE_QUESTION = next(
    question for question, name in _QUESTIONS.items() if name == SENSITIVE_FEATURE
)


def _download(url, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    with (
        urllib.request.urlopen(url, timeout=30) as response,
        open(partial, "wb") as out,
    ):
        shutil.copyfileobj(response, out)
    partial.replace(path)


def _locate_file(data_home, download_if_missing):
    data_home = get_data_home(data_home)
    path = Path(data_home) / STEAK_SURVEY_FILENAME
    if path.is_file():
        return path
    if not download_if_missing:
        raise FileNotFoundError(
            f"{STEAK_SURVEY_FILENAME} was not found in {data_home} and "
            "download_if_missing=False. Put FiveThirtyEight's file there (folder "
            f"'steak-survey' of their data repository: {STEAK_SURVEY_URL})."
        )
    try:
        _download(STEAK_SURVEY_URL, path)
    except OSError as exc:
        raise FileNotFoundError(
            f"{STEAK_SURVEY_FILENAME} was not found in {data_home} and could not "
            f"be downloaded from {STEAK_SURVEY_URL} ({exc}). Download it by hand "
            f"and put it in {data_home}, or pass data_home= (or set SKMID_DATA) "
            "to the folder that holds it."
        ) from exc
    return path


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
        "return_X_y": ["boolean"],
        "as_frame": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fetch_steak_survey(
    *, data_home=None, download_if_missing=True, return_X_y=False, as_frame=False
):
    """Load FiveThirtyEight's steak survey with infidelity as sensitive feature.

    The 2014 "How Americans Like Their Steak" survey (FiveThirtyEight, CC BY 4.0)
    is the data of Fredrikson et al. (2015)'s attack on decision trees and of
    the MID paper's tree experiments: predict how a respondent likes their steak
    prepared from their other answers; the attacker infers the answer to "Have
    you ever cheated on your significant other?".

    Rows are the respondents who eat steak, state a preparation and answered the
    sensitive question (428 of 550; the 2 steak eaters who left the sensitive
    question blank cannot be attack targets). Every other answer is a
    categorical feature; a missing answer is kept as the category
    ``"No answer"``.

    ================= ==============================
    Samples           428
    Features          12 categorical (strings)
    Target            5 preparations (Rare ... Well)
    Sensitive feature ``cheated`` ("Yes"/"No")
    ================= ==============================

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds ``steak-risk-survey.csv``; see
        :func:`~skmid.datasets.get_data_home` for the default.
    download_if_missing : bool, default=True
        If the file is not in ``data_home``, download it from FiveThirtyEight's
        public data repository (folder ``steak-survey``) into ``data_home``.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame of strings and ``target`` a
        Series, and ``sensitive_features`` is a column name.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes

        data : ndarray of shape (428, 12), dtype object, or DataFrame
            The answers, as strings.
        target : ndarray of shape (428,), dtype object, or Series
            Preparation: "Rare", "Medium rare", "Medium", "Medium Well" or
            "Well".
        feature_names : list of str
            Short names of the questions (``questions`` maps them back).
        sensitive_features : int or str
            The ``cheated`` column: its index for arrays, its name for frames.
        questions : dict
            Feature name -> the survey's question.
        frame : DataFrame or None
            ``data`` and ``target`` together when ``as_frame=True``.
        DESCR : str
            Description of the survey and of the preprocessing.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If the file is neither in ``data_home`` nor downloadable; the message
        says where to put it.

    Examples
    --------
    >>> from skmid.datasets import fetch_steak_survey
    >>> steak = fetch_steak_survey(data_home="../shared/data")
    >>> steak.data.shape
    (428, 12)
    >>> steak.feature_names[steak.sensitive_features]
    'cheated'
    """
    pd = import_optional_dependency(
        "pandas", extra="datasets", feature="fetch_steak_survey"
    )
    path = _locate_file(data_home, download_if_missing)
    # The file's second line holds "Response" labels, not answers.
    raw = pd.read_csv(path, skiprows=[1], dtype=str)
    missing = [
        column
        for column in [*_QUESTIONS, _EATS_STEAK, _PREPARATION]
        if column not in raw.columns
    ]
    if missing:
        raise ValueError(f"{path} is not the steak survey: it lacks {missing}.")
    raw = raw[
        (raw[_EATS_STEAK] == "Yes")
        & raw[_PREPARATION].notna()
        & raw[SENSITIVE_FEATURE_QUESTION].notna()
    ]
    frame = (
        raw[list(_QUESTIONS)]
        .rename(columns=_QUESTIONS)
        .fillna(MISSING_ANSWER)
        .reset_index(drop=True)
    )
    target = raw[_PREPARATION].rename("preparation").reset_index(drop=True)
    feature_names = list(frame.columns)

    if as_frame:
        data, sensitive = frame, SENSITIVE_FEATURE
        full_frame = pd.concat([frame, target], axis=1)
    else:
        data = frame.to_numpy(dtype=object)
        target = target.to_numpy(dtype=object)
        sensitive = feature_names.index(SENSITIVE_FEATURE)
        full_frame = None
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=full_frame,
        feature_names=feature_names,
        target_names=sorted(np.unique(np.asarray(target, dtype=object)).tolist()),
        sensitive_features=sensitive,
        questions={name: question for question, name in _QUESTIONS.items()},
        DESCR=load_descr("steak_survey.rst"),
    )
