"""The attacks on the Olivetti faces, at reduced size."""

import numpy as np
import pytest
from sklearn.datasets import fetch_olivetti_faces
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from skmid.attacks import (
    InversionModelAttack,
    KnownMembersMembershipAttack,
    ShadowModelMembershipAttack,
)

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def faces(shared_data_home):
    faces = fetch_olivetti_faces(data_home=shared_data_home, download_if_missing=False)
    person_image = np.arange(400) % 10
    train = person_image < 4  # 4 images per person for the target
    aux = (person_image >= 4) & (person_image < 7)  # 3 for the attacker
    test = person_image >= 7
    return faces.data, faces.target, train, aux, test


@pytest.mark.slow
def test_inversion_on_faces(faces):
    X, y, train, aux, _ = faces
    target = LogisticRegression(C=10.0, max_iter=2000).fit(X[train], y[train])
    attack = InversionModelAttack(max_epochs=60, random_state=0).fit(X[aux])
    error = attack.score(target, X[train])
    baseline = float(np.mean((X[train] - X[aux].mean(axis=0)) ** 2))
    assert error < 0.8 * baseline


@pytest.mark.slow
def test_membership_on_overfitted_and_regularised_faces_models(faces):
    X, y, train, aux, test = faces
    members, others = np.flatnonzero(train)[:120], np.flatnonzero(test)
    rows = np.r_[members, others]  # 120 members, 120 non-members
    member = np.r_[np.ones(120, bool), np.zeros(120, bool)]
    known = np.r_[0:60, 120:180]
    rest = np.r_[60:120, 180:240]
    results = {}
    for name, model in {
        "overfitted": MLPClassifier((128,), alpha=0.0, max_iter=400, random_state=0),
        "regularised": LogisticRegression(C=1e-4, max_iter=2000),
    }.items():
        model.fit(X[train], y[train])
        shadow = ShadowModelMembershipAttack(random_state=0).fit(X[aux], y[aux])
        nsh = KnownMembersMembershipAttack(max_epochs=60, random_state=0).fit(
            X[rows[known]], y[rows[known]], member[known]
        )
        results[name] = [
            attack.score(model, X[rows[rest]], y[rows[rest]], member[rest])
            for attack in (shadow, nsh)
        ]
    print(results)
    assert min(results["overfitted"]) > 0.6
    assert max(results["regularised"]) < min(results["overfitted"]) - 0.05
