"""yunjey/pytorch-tutorial, 01-basics/linear_regression: nn.Linear(1, 1) on 15 points with SGD.

Source: yunjey/pytorch-tutorial, tutorials/01-basics/linear_regression/main.py
(https://github.com/yunjey/pytorch-tutorial), MIT licence.
Shrunk: the matplotlib plot and the final torch.save left out (the predictions are returned);
`torch.optim.SGD` written `optim.SGD` after `import torch.optim as optim`; wrapped in main(seed)
with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import numpy as np
import torch

import autogradlib.nn as nn
import autogradlib.optim as optim


def main(seed=0):
    torch.manual_seed(seed)

    # Hyper-parameters
    input_size = 1
    output_size = 1
    num_epochs = 60
    learning_rate = 0.001

    # Toy dataset
    x_train = np.array(
        [[3.3], [4.4], [5.5], [6.71], [6.93], [4.168], [9.779], [6.182], [7.59], [2.167],
         [7.042], [10.791], [5.313], [7.997], [3.1]],
        dtype=np.float32,
    )  # fmt: skip

    y_train = np.array(
        [[1.7], [2.76], [2.09], [3.19], [1.694], [1.573], [3.366], [2.596], [2.53], [1.221],
         [2.827], [3.465], [1.65], [2.904], [1.3]],
        dtype=np.float32,
    )  # fmt: skip

    # Linear regression model
    model = nn.Linear(input_size, output_size)

    # Loss and optimizer
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)

    # Convert numpy arrays to torch tensors
    inputs = torch.from_numpy(x_train)
    targets = torch.from_numpy(y_train)

    # Train the model
    for epoch in range(num_epochs):
        # Forward pass
        outputs = model(inputs)
        loss = criterion(outputs, targets)

        # Backward and optimize
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if (epoch + 1) % 5 == 0:
            print("Epoch [{}/{}], Loss: {:.4f}".format(epoch + 1, num_epochs, loss.item()))

    # Plot the graph
    predicted = model(torch.from_numpy(x_train)).detach().numpy()
    return {"loss": loss.item(), "predicted": predicted.ravel().tolist()}


if __name__ == "__main__":
    main()
