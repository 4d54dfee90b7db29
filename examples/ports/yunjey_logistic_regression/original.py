"""yunjey/pytorch-tutorial, 01-basics/logistic_regression: nn.Linear + CrossEntropyLoss + SGD.

Source: yunjey/pytorch-tutorial, tutorials/01-basics/logistic_regression/main.py
(https://github.com/yunjey/pytorch-tutorial), MIT licence.
Shrunk: MNIST (torchvision) replaced by 1,000 + 200 synthetic 28x28 images (10 random sparse
templates plus noise; no download) in torch DataLoaders; printing every 5 steps; the final
torch.save left out; `torch.optim.SGD` written `optim.SGD` after `import torch.optim as optim`;
wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


def synthetic_mnist(generator, n_train, n_test):
    """A stand-in for torchvision's MNIST: 10 sparse templates plus noise, pixels in [0, 1]."""
    n = n_train + n_test
    templates = (torch.rand(10, 1, 28, 28, generator=generator) < 0.15).float()
    y = torch.randint(0, 10, (n,), generator=generator)
    strokes = templates[y] * torch.rand(n, 1, 28, 28, generator=generator)
    noise = (torch.rand(n, 1, 28, 28, generator=generator) < 0.3).float()
    x = (strokes + noise).clamp(max=1.0)
    return TensorDataset(x[:n_train], y[:n_train]), TensorDataset(x[n_train:], y[n_train:])


def main(seed=0):
    torch.manual_seed(seed)

    # Hyper-parameters
    input_size = 28 * 28  # 784
    num_classes = 10
    num_epochs = 5
    batch_size = 100
    learning_rate = 0.001

    # MNIST dataset (images and labels)
    generator = torch.Generator().manual_seed(seed)
    train_dataset, test_dataset = synthetic_mnist(generator, 1000, 200)

    # Data loader (input pipeline)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

    # Logistic regression model
    model = nn.Linear(input_size, num_classes)

    # Loss and optimizer
    # nn.CrossEntropyLoss() computes softmax internally
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)

    # Train the model
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            # Reshape images to (batch_size, input_size)
            images = images.reshape(-1, input_size)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            if (i + 1) % 5 == 0:
                print(
                    "Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}".format(
                        epoch + 1, num_epochs, i + 1, total_step, loss.item()
                    )
                )

    # Test the model
    # In test phase, we don't need to compute gradients (for memory efficiency)
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, input_size)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum()

        print("Accuracy of the model on the 10000 test images: {} %".format(100 * correct / total))
    return {"loss": loss.item(), "accuracy": (100 * correct / total).item()}


if __name__ == "__main__":
    main()
