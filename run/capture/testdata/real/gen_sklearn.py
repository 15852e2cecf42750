"""Train scikit-learn estimators with verbose output, as they print it.
Run: python3 gen_sklearn.py > sklearn.log 2>&1"""
import sys

import numpy as np
import sklearn
from sklearn.datasets import load_digits, load_iris, load_diabetes, make_classification
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier)
from sklearn.linear_model import LogisticRegression, SGDClassifier, SGDRegressor, Perceptron
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import LinearSVC, SVC
from sklearn.cluster import KMeans
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler


def out():
    sys.stdout.flush()
    sys.stderr.flush()


print("scikit-learn", sklearn.__version__)
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
print("X_train shape:", Xtr.shape, "X_test shape:", Xte.shape)
out()

GradientBoostingClassifier(n_estimators=12, max_depth=2, random_state=0, verbose=1).fit(Xtr[:400], ytr[:400])
out()
print("Test accuracy: %.4f" % GradientBoostingClassifier(n_estimators=5, random_state=0).fit(Xtr, ytr).score(Xte, yte))
out()
GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0, verbose=2).fit(Xtr[:300], ytr[:300])
out()
GradientBoostingClassifier(n_estimators=25, max_depth=2, subsample=0.5, random_state=0, verbose=1).fit(Xtr[:300], ytr[:300])
out()
Xr, yr = load_diabetes(return_X_y=True)
GradientBoostingRegressor(n_estimators=40, subsample=0.8, random_state=0, verbose=2).fit(Xr, yr)
out()

MLPClassifier(hidden_layer_sizes=(32,), max_iter=15, random_state=0, verbose=True).fit(Xtr, ytr)
out()
mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=40, early_stopping=True,
                    n_iter_no_change=4, random_state=0, verbose=True).fit(Xtr, ytr)
out()
print("MLP test score:", round(mlp.score(Xte, yte), 4))
out()
MLPRegressor(hidden_layer_sizes=(16,), max_iter=8, random_state=0, verbose=True).fit(Xr / 10, yr / 100)
out()

SGDClassifier(max_iter=6, random_state=0, verbose=1).fit(Xtr[:, :], ytr == 3)
out()
SGDRegressor(max_iter=4, random_state=0, verbose=1).fit(Xr, yr)
out()
Perceptron(max_iter=3, random_state=0, verbose=1).fit(Xtr, ytr == 1)
out()

# The default lbfgs solver's verbose output is its Fortran code's trace,
# which goes out unbuffered after everything Python printed: left out.
LogisticRegression(solver="saga", max_iter=6, verbose=1).fit(Xtr, ytr)
out()
LogisticRegression(solver="liblinear", verbose=1).fit(Xtr, ytr == 2)
out()
print()
LogisticRegression(solver="newton-cg", max_iter=20, verbose=1).fit(Xtr, ytr)
out()
LinearSVC(max_iter=200, random_state=0, verbose=1).fit(Xtr, ytr == 4)
out()
print()
SVC(verbose=True, max_iter=300).fit(Xtr[:200], ytr[:200] == 4)
out()
print()

Xh, yh = make_classification(n_samples=3000, n_features=20, random_state=0)
HistGradientBoostingClassifier(max_iter=15, random_state=0, verbose=1).fit(Xh, yh)
out()
HistGradientBoostingClassifier(max_iter=100, early_stopping=True, n_iter_no_change=3,
                               scoring="loss", random_state=0, verbose=1).fit(Xh, yh)
out()
HistGradientBoostingRegressor(max_iter=10, random_state=0, verbose=1).fit(Xr, yr)
out()

RandomForestClassifier(n_estimators=4, random_state=0, verbose=2).fit(Xtr, ytr)
out()
KMeans(n_clusters=3, n_init=2, random_state=0, verbose=1).fit(load_iris().data)
out()
TSNE(n_components=2, random_state=0, verbose=2, n_iter=250, init="random",
     learning_rate="auto").fit_transform(X[:300])
out()

Xi, yi = load_iris(return_X_y=True)
gs = GridSearchCV(SVC(), {"C": [0.1, 1.0], "kernel": ["linear", "rbf"]}, cv=3, verbose=3)
gs.fit(Xi, yi)
out()
print("Best params:", gs.best_params_)
print("Best cross-validation score: %.3f" % gs.best_score_)
out()
