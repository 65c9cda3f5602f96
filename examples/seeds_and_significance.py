# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Is 79% really better than 75%? Seeds and a significance test
#
# Two configurations, five seeds each. `trackrun.compare(..., group_by=["hidden"])`
# reports mean ± standard deviation per configuration and Welch's t-test with a 95%
# confidence interval of the difference.

# %%
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import trackrun

digits = load_digits()
x_tr, x_va, y_tr, y_va = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.3, random_state=1
)
x_train, x_val = (torch.tensor(a, dtype=torch.float32) for a in (x_tr, x_va))
y_train, y_val = (torch.tensor(a) for a in (y_tr, y_va))
sweep = time.strftime("seeds-%Y%m%d-%H%M%S")  # a tag for this sweep's runs
epochs = 8
lr = 0.1

# %% [markdown]
# In a loop, `trackrun.start_run` does what `%%track_run` does for a cell.

# %%
for hidden in (8, 64):
    for seed in range(5):
        params = {"hidden": hidden, "seed": seed, "lr": lr, "epochs": epochs}
        with trackrun.start_run(name=f"h{hidden}-s{seed}", params=params, tags=[sweep]):
            torch.manual_seed(seed)
            model = torch.nn.Sequential(
                torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
            )
            optimizer = torch.optim.SGD(model.parameters(), lr=lr)
            for epoch in range(epochs):
                for start in range(0, len(x_train), 32):
                    xb, yb = x_train[start : start + 32], y_train[start : start + 32]
                    loss = torch.nn.functional.cross_entropy(model(xb), yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                with torch.no_grad():
                    val_acc = (model(x_val).argmax(1) == y_val).float().mean().item()
                trackrun.log(val_acc=val_acc, step=epoch)
        print(f"hidden={hidden} seed={seed}: val_acc {val_acc:.3f}")

# %%
result = trackrun.compare(f"tag:{sweep}", metrics=["val_acc"], group_by=["hidden"])
print(result.to_text())

# %%
result.groups
