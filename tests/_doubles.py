"""Test doubles shared by the test modules."""


class CountingModel:
    """Forwards to a model and counts the rows it is queried on."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_
        self.rows = 0

    def predict_proba(self, X):
        self.rows += len(X)
        return self.model.predict_proba(X)

    def predict(self, X):
        self.rows += len(X)
        return self.model.predict(X)
