"""Held-out logs: other estimators, objectives and printing styles than
gen_xgboost.py, gen_sklearn.py and gen_torch.py, captured after the
parser's rules were fitted to those, to measure how the rules carry over.
Run: python3 gen_holdout.py xgboost|sklearn|torch > holdout-NAME.log 2>&1"""
import sys
import warnings


def out():
    sys.stdout.flush()
    sys.stderr.flush()


def xgboost_part():
    import numpy as np
    import xgboost as xgb
    from sklearn.datasets import load_iris, load_breast_cancer, make_regression
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=1)
    clf = xgb.XGBClassifier(n_estimators=30, max_depth=3, eval_metric=["auc", "aucpr"],
                            early_stopping_rounds=4, random_state=1)
    clf.fit(Xtr, ytr, eval_set=[(Xte, yte)], verbose=3)
    out()
    print("best_iteration:", clf.best_iteration, "best_score:", round(clf.best_score, 5))
    out()
    Xi, yi = load_iris(return_X_y=True)
    d = xgb.DMatrix(Xi[::2], label=yi[::2])
    v = xgb.DMatrix(Xi[1::2], label=yi[1::2])
    bst = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2,
                     "eval_metric": ["mlogloss", "merror"], "seed": 1},
                    d, num_boost_round=12, evals=[(d, "train"), (v, "valid")], verbose_eval=2)
    out()
    print(bst)
    print("importance:", {k: round(v, 3) for k, v in bst.get_score(importance_type="gain").items()})
    out()
    Xr, yr = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=1)
    dr = xgb.DMatrix(Xr, label=yr)
    res = xgb.cv({"max_depth": 3, "eta": 0.4, "eval_metric": ["rmse", "mae"], "seed": 1}, dr,
                 num_boost_round=40, nfold=3, early_stopping_rounds=3, seed=1, verbose_eval=4)
    out()
    print("cv rounds:", len(res))
    print("final test-rmse-mean: %.4f" % res["test-rmse-mean"].iloc[-1])
    out()
    reg = xgb.XGBRegressor(n_estimators=6, max_depth=2, random_state=1,
                           callbacks=[xgb.callback.EvaluationMonitor(period=2)])
    reg.fit(Xr, yr, eval_set=[(Xr, yr)])
    out()


def sklearn_part():
    import numpy as np
    from sklearn.datasets import load_digits, load_diabetes, make_blobs, fetch_20newsgroups
    from sklearn.decomposition import NMF, LatentDirichletAllocation
    from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
    from sklearn.linear_model import (PassiveAggressiveClassifier, SGDClassifier,
                                      BayesianRidge, LogisticRegression)
    from sklearn.mixture import GaussianMixture
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.svm import LinearSVR
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    Xr, yr = load_diabetes(return_X_y=True)
    print("n_samples=%d, n_features=%d" % X.shape)
    GradientBoostingRegressor(n_estimators=30, random_state=1, verbose=1).fit(Xr, yr)
    out()
    MLPClassifier(hidden_layer_sizes=(20,), solver="sgd", learning_rate_init=0.05, max_iter=60,
                  early_stopping=True, n_iter_no_change=3, random_state=1, verbose=True).fit(X, y)
    out()
    MLPRegressor(hidden_layer_sizes=(8,), max_iter=200, tol=1e-2, n_iter_no_change=2,
                 random_state=1, verbose=True).fit(Xr, yr / 100)
    out()
    PassiveAggressiveClassifier(max_iter=3, random_state=1, verbose=1).fit(X, y == 0)
    out()
    SGDClassifier(early_stopping=True, max_iter=30, random_state=1, verbose=1).fit(X, y == 5)
    out()
    BayesianRidge(verbose=True).fit(Xr, yr)
    out()
    LogisticRegression(solver="sag", max_iter=20, tol=1e-3, verbose=1).fit(X, y == 7)
    out()
    LinearSVR(max_iter=50, random_state=1, verbose=1).fit(Xr, yr)
    out()
    print()
    HistGradientBoostingRegressor(max_iter=50, early_stopping=True, n_iter_no_change=3,
                                  scoring="neg_mean_squared_error", random_state=1,
                                  verbose=1).fit(Xr, yr)
    out()
    Xb, _ = make_blobs(n_samples=2000, centers=4, random_state=1)
    MiniBatchKMeans(n_clusters=4, batch_size=256, n_init=1, max_iter=3, random_state=1,
                    verbose=1).fit(Xb)
    out()
    GaussianMixture(n_components=3, max_iter=30, random_state=1, verbose=2,
                    verbose_interval=5).fit(Xb)
    out()
    W = np.abs(np.random.RandomState(1).randn(60, 20))
    NMF(n_components=4, max_iter=30, random_state=1, verbose=1, init="random").fit(W)
    out()
    counts = np.random.RandomState(1).poisson(1.0, size=(80, 40))
    LatentDirichletAllocation(n_components=3, max_iter=6, evaluate_every=2, random_state=1,
                              verbose=1).fit(counts)
    out()
    rs = RandomizedSearchCV(LogisticRegression(max_iter=300), {"C": [0.01, 0.1, 1, 10]},
                            n_iter=3, cv=2, random_state=1, verbose=2)
    rs.fit(X, y)
    out()
    print("best score: %.4f with %s" % (rs.best_score_, rs.best_params_))
    out()


def torch_part():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(2)
    # PyTorch's quickstart tutorial, on synthetic data.
    X = torch.randn(1024, 20)
    Y = (X[:, :10].sum(1) > 0).long() + 2 * (X[:, 10:].sum(1) > 0).long()
    train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[:768], Y[:768]), batch_size=64)
    test = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[768:], Y[768:]), batch_size=64)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
    print(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5, verbose=True)
    for t in range(3):
        print(f"Epoch {t+1}\n-------------------------------")
        size = len(train.dataset)
        model.train()
        for batch, (xb, yb) in enumerate(train):
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            if batch % 4 == 0:
                loss, current = loss.item(), (batch + 1) * len(xb)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for xb, yb in test:
                pred = model(xb)
                test_loss += F.cross_entropy(pred, yb).item()
                correct += (pred.argmax(1) == yb).type(torch.float).sum().item()
        test_loss /= len(test)
        correct /= len(test.dataset)
        print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
        sched.step()
    print("Done!")
    out()
    # The CIFAR-10 tutorial's running loss.
    running = 0.0
    for epoch in range(2):
        for i, (xb, yb) in enumerate(train):
            loss = F.cross_entropy(model(xb), yb)
            running += loss.item()
            if i % 4 == 3:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running / 4:.3f}")
                running = 0.0
    print("Finished Training")
    out()
    # ReduceLROnPlateau's own message, printed tensors, the optimizer's groups.
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, verbose=True)
    for e in range(3):
        plateau.step(1.0)
    out()
    loss = F.cross_entropy(model(X[:8]), Y[:8])
    print(loss)
    print(f"loss={loss}")
    print("param_groups:", [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups])
    print(f"state_dict keys: {list(model.state_dict().keys())}")
    # A Keras-like line some scripts print by hand.
    for e in range(1, 4):
        tl = F.cross_entropy(model(X[:768]), Y[:768]).item()
        vl = F.cross_entropy(model(X[768:]), Y[768:]).item()
        acc = (model(X[768:]).argmax(1) == Y[768:]).float().mean().item()
        print(f"Epoch {e}/3 - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {acc:.4f}")
    out()


{"xgboost": xgboost_part, "sklearn": sklearn_part, "torch": torch_part}[sys.argv[1]]()
