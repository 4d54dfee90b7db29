"""Transfer Learning for Computer Vision Tutorial: train_model with SGD momentum and StepLR.

Source: pytorch/tutorials, beginner_source/transfer_learning_tutorial.py, train_model and the
"Finetuning the ConvNet" set-up (https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: the pretrained ResNet-18 and the ants/bees images (downloads) replaced by a small MLP head
on 500 + 100 synthetic 64-feature "image embeddings" of 2 classes; 25 epochs -> 10 (the StepLR step
of 7 epochs still falls inside); the timing lines left out; `best_model_wts` kept in memory with
copy.deepcopy (as the tutorial's first versions) instead of a temporary file; wrapped in main(seed)
with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import copy

import torch
from torch.utils.data import DataLoader, TensorDataset

from autogradlib import nn, optim
from autogradlib.optim import lr_scheduler


def synthetic_embeddings(generator, n_train, n_val):
    """Two overlapping Gaussian classes standing in for ResNet features of ants and bees."""
    n = n_train + n_val
    labels = torch.randint(0, 2, (n,), generator=generator)
    centres = torch.randn(2, 64, generator=generator) * 0.3
    inputs = centres[labels] + torch.randn(n, 64, generator=generator)
    return {
        "train": TensorDataset(inputs[:n_train], labels[:n_train]),
        "val": TensorDataset(inputs[n_train:], labels[n_train:]),
    }


def main(seed=0):
    torch.manual_seed(seed)
    image_datasets = synthetic_embeddings(torch.Generator().manual_seed(seed), 500, 100)
    dataloaders = {
        x: DataLoader(image_datasets[x], batch_size=4 * 16, shuffle=True) for x in ["train", "val"]
    }
    dataset_sizes = {x: len(image_datasets[x]) for x in ["train", "val"]}

    def train_model(model, criterion, optimizer, scheduler, num_epochs=25):
        best_model_wts = copy.deepcopy(model.state_dict())
        best_acc = 0.0

        for epoch in range(num_epochs):
            print(f"Epoch {epoch}/{num_epochs - 1}")
            print("-" * 10)

            # Each epoch has a training and validation phase
            for phase in ["train", "val"]:
                if phase == "train":
                    model.train()  # Set model to training mode
                else:
                    model.eval()  # Set model to evaluate mode

                running_loss = 0.0
                running_corrects = 0

                # Iterate over data.
                for inputs, labels in dataloaders[phase]:
                    # zero the parameter gradients
                    optimizer.zero_grad()

                    # forward
                    # track history if only in train
                    with torch.set_grad_enabled(phase == "train"):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)

                        # backward + optimize only if in training phase
                        if phase == "train":
                            loss.backward()
                            optimizer.step()

                    # statistics
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == "train":
                    scheduler.step()

                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]

                print(f"{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}")

                # deep copy the model
                if phase == "val" and epoch_acc > best_acc:
                    best_acc = epoch_acc
                    best_model_wts = copy.deepcopy(model.state_dict())

            print()

        print(f"Best val Acc: {best_acc:4f}")

        # load best model weights
        model.load_state_dict(best_model_wts)
        return model, epoch_loss

    model_ft = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
    criterion = nn.CrossEntropyLoss()

    # Observe that all parameters are being optimized
    optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.001, momentum=0.9)

    # Decay LR by a factor of 0.1 every 7 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=7, gamma=0.1)

    model_ft, val_loss = train_model(
        model_ft, criterion, optimizer_ft, exp_lr_scheduler, num_epochs=10
    )
    return {
        "val_loss": val_loss,
        "lr": exp_lr_scheduler.get_last_lr(),
        "bias": model_ft[2].bias.tolist(),
    }


if __name__ == "__main__":
    main()
