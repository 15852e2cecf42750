"""Train with XGBoost and let it print as it does: xgb.train with evals,
xgb.cv, the scikit-learn wrapper, early stopping and its warnings.
Run: python3 gen_xgboost.py > xgboost.log 2>&1"""
import sys
import warnings

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_digits, load_diabetes, load_breast_cancer
from sklearn.model_selection import train_test_split

print("xgboost", xgb.__version__, flush=True)
print("numpy", np.__version__, flush=True)

X, y = load_diabetes(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
print("train:", Xtr.shape, "test:", Xte.shape, flush=True)
dtrain = xgb.DMatrix(Xtr, label=ytr)
dtest = xgb.DMatrix(Xte, label=yte)

# Regression, every round, two data sets and two metrics.
params = {"objective": "reg:squarederror", "max_depth": 3, "eta": 0.3,
          "eval_metric": ["rmse", "mae"], "seed": 0}
xgb.train(params, dtrain, num_boost_round=20,
          evals=[(dtrain, "train"), (dtest, "eval")], verbose_eval=True)
sys.stdout.flush()

# Every fifth round, with an unknown parameter (a warning of its own).
params2 = dict(params, n_estimators=100)
xgb.train(params2, dtrain, num_boost_round=40,
          evals=[(dtrain, "train"), (dtest, "eval")], verbose_eval=5)
sys.stdout.flush()

# Early stopping.
bst = xgb.train(dict(params, eta=0.5), dtrain, num_boost_round=200,
                evals=[(dtrain, "train"), (dtest, "eval")],
                early_stopping_rounds=5, verbose_eval=True)
print("Best iteration:", bst.best_iteration)
print("Best score:", bst.best_score, flush=True)

# Cross-validation: mean and standard deviation per round.
Xc, yc = load_breast_cancer(return_X_y=True)
dcancer = xgb.DMatrix(Xc, label=yc)
cvp = {"objective": "binary:logistic", "max_depth": 2, "eta": 0.3,
       "eval_metric": ["logloss", "auc", "error"], "seed": 0}
res = xgb.cv(cvp, dcancer, num_boost_round=15, nfold=4, seed=0,
             verbose_eval=True, show_stdv=True)
sys.stdout.flush()
res = xgb.cv(cvp, dcancer, num_boost_round=10, nfold=3, seed=1,
             verbose_eval=True, show_stdv=False)
sys.stdout.flush()
print(res.tail(3), flush=True)

# Multi-class through the scikit-learn wrapper.
Xd, yd = load_digits(return_X_y=True)
Xdtr, Xdte, ydtr, ydte = train_test_split(Xd, yd, test_size=0.3, random_state=0)
print(f"digits: {Xd.shape[0]} samples, {Xd.shape[1]} features, {len(set(yd))} classes", flush=True)
clf = xgb.XGBClassifier(n_estimators=12, max_depth=3, learning_rate=0.3,
                        eval_metric=["mlogloss", "merror"], random_state=0)
clf.fit(Xdtr, ydtr, eval_set=[(Xdtr, ydtr), (Xdte, ydte)], verbose=True)
sys.stdout.flush()
print("accuracy: %.4f" % (clf.predict(Xdte) == ydte).mean(), flush=True)

# Deprecated fit arguments warn through Python's warnings.
reg = xgb.XGBRegressor(n_estimators=8, max_depth=2, random_state=0)
reg.fit(Xtr, ytr, eval_set=[(Xte, yte)], eval_metric="rmse",
        early_stopping_rounds=3, verbose=2)
sys.stdout.flush()

# A custom metric, and the learner's own chatter at verbosity 2.
def rmsle(predt, dmat):
    y = dmat.get_label()
    predt[predt < -1] = -1 + 1e-6
    return "RMSLE", float(np.sqrt(np.mean((np.log1p(predt) - np.log1p(y)) ** 2)))

xgb.train({"max_depth": 2, "eta": 0.3, "disable_default_eval_metric": 1, "seed": 0,
           "verbosity": 2},
          dtrain, num_boost_round=6, evals=[(dtrain, "dtrain"), (dtest, "dtest")],
          custom_metric=rmsle, verbose_eval=True)
sys.stdout.flush()
