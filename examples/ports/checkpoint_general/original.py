"""Saving and loading a general checkpoint: model and optimizer state dicts, resumed training.

Source: pytorch/tutorials, recipes_source/recipes/saving_and_loading_a_general_checkpoint.py
(https://github.com/pytorch/tutorials), BSD-3-Clause: its Net (two convolutions, max pooling, three
linear layers) and SGD(lr=0.001, momentum=0.9).
Shrunk: the recipe only saves and loads; here the net first trains 5 steps on random 32x32 images,
is saved, loaded into a fresh Net and optimizer (the recipe's `optim.SGD(net.parameters(), ...)`
after loading is a slip: `model.parameters()` here), and both train 5 more steps, which must agree;
the file goes to a temporary folder; wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else (torch.save / torch.load store the state dicts,
which hold plain tensors).
"""

import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def main(seed=0):
    torch.manual_seed(seed)
    images = torch.randn(10, 4, 3, 32, 32)
    labels = torch.randint(0, 10, (10, 4))
    criterion = nn.CrossEntropyLoss()

    def train_steps(model, optimizer, steps):
        for inputs, targets in zip(images[steps], labels[steps]):
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
        return loss.item()

    net = Net()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    LOSS = train_steps(net, optimizer, slice(0, 5))
    EPOCH = 5

    with tempfile.TemporaryDirectory() as folder:
        PATH = os.path.join(folder, "model.pt")
        torch.save(
            {
                "epoch": EPOCH,
                "model_state_dict": net.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "loss": LOSS,
            },
            PATH,
        )

        model = Net()
        resumed_optimizer = optim.SGD(model.parameters(), lr=0.001, momentum=0.9)

        checkpoint = torch.load(PATH)
        model.load_state_dict(checkpoint["model_state_dict"])
        resumed_optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        epoch = checkpoint["epoch"]
        loss = checkpoint["loss"]
        print(f"loaded epoch {epoch}, loss {loss:.6f}")

    model.train()
    resumed = train_steps(model, resumed_optimizer, slice(5, 10))
    uninterrupted = train_steps(net, optimizer, slice(5, 10))
    print(f"resumed {resumed:.6f}, uninterrupted {uninterrupted:.6f}")
    return {
        "resumed": resumed,
        "uninterrupted": uninterrupted,
        "fc3_bias": model.fc3.bias.tolist(),
        "same": all(
            torch.equal(a, b)
            for a, b in zip(model.state_dict().values(), net.state_dict().values())
        ),
    }


if __name__ == "__main__":
    main()
