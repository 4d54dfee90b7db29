"""makemore, part 1: a bigram character model as a single-layer network, trained by hand.

Source: karpathy/nn-zero-to-hero, lectures/makemore/makemore_part1_bigrams.ipynb, "the neural
network approach" (https://github.com/karpathy/nn-zero-to-hero), MIT licence.
Shrunk: names.txt (32,033 names) replaced by its first 32 names written out; 100 steps and 5 samples
as in the lecture; the notebook's cells gathered in main(seed).
The port (port.py) swaps the imports and wraps the learnable tensors in Variable(...), nothing else.
"""

import torch

import autogradlib.nn.functional as F
from autogradlib import Variable

WORDS = [
    "emma",
    "olivia",
    "ava",
    "isabella",
    "sophia",
    "charlotte",
    "mia",
    "amelia",
    "harper",
    "evelyn",
    "abigail",
    "emily",
    "elizabeth",
    "mila",
    "ella",
    "avery",
    "sofia",
    "camila",
    "aria",
    "scarlett",
    "victoria",
    "madison",
    "luna",
    "grace",
    "chloe",
    "penelope",
    "layla",
    "riley",
    "zoey",
    "nora",
    "lily",
    "eleanor",
]


def main(seed=2147483647):
    words = WORDS
    chars = sorted(list(set("".join(words)) | set("abcdefghijklmnopqrstuvwxyz")))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}

    # create the dataset
    xs, ys = [], []
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            ix1 = stoi[ch1]
            ix2 = stoi[ch2]
            xs.append(ix1)
            ys.append(ix2)
    xs = torch.tensor(xs)
    ys = torch.tensor(ys)
    num = xs.nelement()
    print("number of examples: ", num)

    # initialize the 'network'
    g = torch.Generator().manual_seed(seed)
    W = Variable(torch.randn((27, 27), generator=g, requires_grad=True))

    # gradient descent
    for k in range(100):
        # forward pass
        xenc = F.one_hot(xs, num_classes=27).float()  # input to the network: one-hot encoding
        logits = xenc @ W  # predict log-counts
        counts = logits.exp()  # counts, equivalent to N
        probs = counts / counts.sum(1, keepdims=True)  # probabilities for next character
        loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W**2).mean()
        if k % 10 == 0:
            print(loss.item())

        # backward pass
        W.grad = None  # set to zero the gradient
        loss.backward()

        # update
        W.data += -50 * W.grad

    # finally, sample from the 'neural net' model
    g = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(5):
        out = []
        ix = 0
        while True:
            xenc = F.one_hot(torch.tensor([ix]), num_classes=27).float()
            logits = xenc @ W  # predict log-counts
            counts = logits.exp()  # counts, equivalent to N
            p = counts / counts.sum(1, keepdims=True)  # probabilities for next character
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0:
                break
        print("".join(out))
        samples.append("".join(out))
    return {"loss": loss.item(), "samples": samples}


if __name__ == "__main__":
    main()
