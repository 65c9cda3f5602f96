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
# # trackrun quickstart
#
# Two training runs of a small network on scikit-learn's digits, recorded with one line
# each (`%%track_run`), then compared. Everything runs on the CPU in a few seconds.

# %%
# %load_ext trackrun

# %% [markdown]
# Parameters live in a cell of their own. `%%track_run` records the ones a tracked cell
# reads (here `lr`, `epochs`, `hidden`, `batch_size`, `seed`) without being told.

# %%
lr = 0.05
epochs = 15
hidden = 32
batch_size = 64
seed = 0

# %%
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import trackrun

digits = load_digits()
x_tr, x_va, y_tr, y_va = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.25, random_state=0
)
x_train, x_val = (torch.tensor(a, dtype=torch.float32) for a in (x_tr, x_va))
y_train, y_val = (torch.tensor(a) for a in (y_tr, y_va))


def make_model(hidden):
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )


def train_epoch(model, optimizer, x, y, batch_size):
    """One pass over (x, y) in shuffled mini-batches; returns the mean loss."""
    order = torch.randperm(len(x))
    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = order[start : start + batch_size]
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(x)


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


# %% [markdown]
# The tracked cell: code, parameters, git commit and diff, packages, hardware, metrics,
# output and outcome go to the run store (`.trackrun/` at the git root).

# %%
# %%track_run --tag quickstart
torch.manual_seed(seed)
model = make_model(hidden)
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
for epoch in range(epochs):
    train_loss = train_epoch(model, optimizer, x_train, y_train, batch_size)
    val_acc = accuracy(model, x_val, y_val)
    trackrun.log(train_loss=train_loss, val_acc=val_acc, step=epoch)
    print(f"epoch {epoch:2d}  loss {train_loss:.3f}  val acc {val_acc:.3f}")

# %% [markdown]
# A second run with a larger learning rate: change the parameter, run the same cell again.

# %%
lr = 0.3

# %%
# %%track_run --tag quickstart
torch.manual_seed(seed)
model = make_model(hidden)
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
for epoch in range(epochs):
    train_loss = train_epoch(model, optimizer, x_train, y_train, batch_size)
    val_acc = accuracy(model, x_val, y_val)
    trackrun.log(train_loss=train_loss, val_acc=val_acc, step=epoch)
    print(f"epoch {epoch:2d}  loss {train_loss:.3f}  val acc {val_acc:.3f}")

# %% [markdown]
# Compare the two newest quickstart runs: the parameter that differs, final metrics and
# the curves.

# %%
latest = trackrun.runs("tag:quickstart", limit=2)["run_id"]
comparison = trackrun.compare(latest, metrics=["val_acc", "train_loss"])
comparison

# %%
print(comparison.to_text())
