#!/usr/bin/env python3
"""The classic first experiment: a random forest on the iris data.

    PYTHONPATH=python python3 examples/iris/train.py
    git runs ls --where "params.n_estimators = 100"

Runs with Debian's python3-sklearn. Logging goes through gitruns, whose
calls are MLflow's: switching is a change of import.
"""
import gitruns
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split


def main():
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=42)
    params = {"n_estimators": 100, "max_depth": 3, "random_state": 42}
    with gitruns.start_run(name="iris-rf", experiment="iris"):
        gitruns.log_params({"n_estimators": params["n_estimators"], "max_depth": params["max_depth"]})
        model = RandomForestClassifier(**params).fit(X_train, y_train)
        accuracy = accuracy_score(y_test, model.predict(X_test))
        gitruns.log_metric("accuracy", accuracy)
        print(f"accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
