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
# # Detach a long training, close the browser, reattach
#
# `%%track_run --detach` freezes the cell (its code and the values it reads from the
# notebook) and runs it in a background process that survives closing the browser,
# restarting the kernel, even restarting Jupyter. `--retries 1` restarts it once if it
# crashes; with checkpoints, the retry resumes instead of starting over.

# %%
# %load_ext trackrun

# %%
lr = 0.1
epochs = 30
hidden = 64

# %%
import torch
from sklearn.datasets import load_digits

import trackrun

digits = load_digits()
x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)


class DigitNet(torch.nn.Module):
    """Defined in the notebook: the background process receives it by value."""

    def __init__(self, hidden):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
        )

    def forward(self, inputs):
        return self.layers(inputs)


# %% [markdown]
# The training cell returns at once and shows the run's live view. It checkpoints every
# epoch; `trackrun.resume()` hands a retried attempt the newest checkpoint.

# %%
# %%track_run --detach --retries 1 --name digits-long
import time

torch.manual_seed(0)
model = DigitNet(hidden)
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
start = 0
checkpoint = trackrun.resume()
if checkpoint is not None:
    model.load_state_dict(checkpoint.state["model"])
    optimizer.load_state_dict(checkpoint.state["optimizer"])
    start = checkpoint.step + 1
for epoch in range(start, epochs):
    loss = torch.nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    accuracy = (model(x).argmax(1) == y).float().mean().item()
    trackrun.log(loss=loss.item(), accuracy=accuracy, step=epoch)
    trackrun.checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, step=epoch)
    print(f"epoch {epoch:2d}  loss {loss.item():.3f}  accuracy {accuracy:.3f}")
    time.sleep(0.2)  # stands in for a long epoch

# %% [markdown]
# Close the browser tab now if you like. Later, in this notebook or any other (or after
# restarting the kernel), reattach: the log so far, then the live view until the run
# ends, then the cell's results (`model`, `accuracy`, ...) are loaded into the kernel.
# Without an id it attaches to this notebook's newest running run.

# %%
# %track_run --attach

# %%
predictions = model(x[:10]).argmax(1)
print("predicted:", predictions.tolist())
print("actual:   ", y[:10].tolist())

# %% [markdown]
# From a terminal: `trackrun ls`, `trackrun logs RUN -f`, `trackrun kill RUN`.
