"""The MID paper's IPWC experiment at small scale: MID against the MAP attack."""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, ShuffleSplit, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmid.attacks import MAPAttributeInference, make_attack_scorer
from skmid.datasets import load_warfarin
from skmid.linear_model import MIDLinearRegression

pytestmark = pytest.mark.slow

LAMS = [0.0, 30.0, 60.0, 100.0, 1000.0]


@pytest.fixture(scope="module")
def warfarin():
    return load_warfarin()


def test_mid_trades_mse_for_attack_success(warfarin):
    X, y, sensitive = warfarin.data, warfarin.target, warfarin.sensitive_features
    rows = {lam: [] for lam in LAMS}
    splits = ShuffleSplit(n_splits=3, test_size=0.25, random_state=0).split(X)
    for train, test in splits:
        attack = MAPAttributeInference(sensitive).fit(X[train], y[train])
        for lam in LAMS:
            model = MIDLinearRegression(lam=lam).fit(X[train], y[train])
            rows[lam].append(
                [
                    np.mean((model.predict(X[test]) - y[test]) ** 2),
                    attack.score(model, X[test], y[test], metric="accuracy"),
                    attack.score(model, X[test], y[test], metric="roc_auc"),
                    attack.score(model, X[test], y[test], metric="advantage"),
                ]
            )
    table = {lam: np.mean(values, axis=0) for lam, values in rows.items()}
    prior_accuracy = attack.prior_.max()
    print(f"\nwarfarin, VKORC1 sensitive; prior-only accuracy {prior_accuracy:.3f}")
    print(f"{'lam':>8} {'test MSE':>9} {'MAP acc':>8} {'AUROC':>6} {'adv':>6}")
    for lam, (mse, acc, auc, adv) in table.items():
        print(f"{lam:8.0f} {mse:9.1f} {acc:8.3f} {auc:6.3f} {adv:6.3f}")

    mse, accuracy, auroc, advantage = np.array(list(table.values())).T
    assert mse[-1] > mse[0] * 1.3
    assert accuracy[0] > prior_accuracy + 0.1
    assert accuracy[-1] < accuracy[0] - 0.1
    assert accuracy[-1] < prior_accuracy + 0.02
    assert auroc[-1] < auroc[0]
    assert advantage[0] > 0.1 and abs(advantage[-1]) < 0.02
    assert np.all(np.diff(accuracy) <= 0.02)


def test_grid_search_with_attack_scorer_and_column_transformer(warfarin):
    pd = pytest.importorskip("pandas")
    frame = load_warfarin(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        frame.data, frame.target, random_state=0
    )
    numeric = ["age_decade", "height_cm", "weight_kg"]
    pipeline = make_pipeline(
        ColumnTransformer(
            [("scale", StandardScaler(), numeric)], remainder="passthrough"
        ),
        MIDLinearRegression(),
    )
    attack = MAPAttributeInference(frame.sensitive_features).fit(X_train, y_train)
    search = GridSearchCV(
        pipeline,
        {"midlinearregression__lam": [0.0, 1000.0]},
        scoring={
            "mse": "neg_mean_squared_error",
            "attack": make_attack_scorer(attack, metric="accuracy"),
        },
        refit="mse",
        cv=3,
    ).fit(X_train, y_train)
    results = pd.DataFrame(search.cv_results_)
    assert (
        results["mean_test_attack"].iloc[0] > results["mean_test_attack"].iloc[1] + 0.1
    )
    assert search.best_params_ == {"midlinearregression__lam": 0.0}
    assert attack.score(search.best_estimator_, X_test, y_test) > 0.45
