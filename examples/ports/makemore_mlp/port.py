"""makemore, part 2: Bengio et al.'s MLP character model (embedding, tanh layer, cross-entropy).

Source: karpathy/nn-zero-to-hero, lectures/makemore/makemore_part2_mlp.ipynb
(https://github.com/karpathy/nn-zero-to-hero), MIT licence.
Shrunk: names.txt replaced by its first 32 names written out (no train/dev split); 200,000 steps ->
200 at lr 0.1 (the lecture's decay to 0.01 comes after step 100,000); 5 samples; the notebook's
cells gathered in main(seed).
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

    # build the dataset
    block_size = 3  # context length: how many characters do we take to predict the next one?

    def build_dataset(words):
        X, Y = [], []
        for w in words:
            context = [0] * block_size
            for ch in w + ".":
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]  # crop and append

        X = torch.tensor(X)
        Y = torch.tensor(Y)
        print(X.shape, Y.shape)
        return X, Y

    Xtr, Ytr = build_dataset(words)

    g = torch.Generator().manual_seed(seed)  # for reproducibility
    C = Variable(torch.randn((27, 10), generator=g))
    W1 = Variable(torch.randn((30, 200), generator=g))
    b1 = Variable(torch.randn(200, generator=g))
    W2 = Variable(torch.randn((200, 27), generator=g))
    b2 = Variable(torch.randn(27, generator=g))
    parameters = [C, W1, b1, W2, b2]
    print(sum(p.nelement() for p in parameters))  # number of parameters in total
    for p in parameters:
        p.requires_grad = True

    torch.manual_seed(seed)
    for i in range(200):
        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (32,))

        # forward pass
        emb = C[Xtr[ix]]  # (32, 3, 10)
        h = torch.tanh(emb.view(-1, 30) @ W1 + b1)  # (32, 200)
        logits = h @ W2 + b2  # (32, 27)
        loss = F.cross_entropy(logits, Ytr[ix])

        # backward pass
        for p in parameters:
            p.grad = None
        loss.backward()

        # update
        lr = 0.1 if i < 100000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad

    emb = C[Xtr]  # (228, 3, 10)
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)  # (228, 200)
    logits = h @ W2 + b2  # (228, 27)
    loss = F.cross_entropy(logits, Ytr)
    print(loss.item())

    # sample from the model
    g = torch.Generator().manual_seed(seed + 10)
    samples = []
    for _ in range(5):
        out = []
        context = [0] * block_size  # initialize with all ...
        while True:
            emb = C[torch.tensor([context])]  # (1,block_size,d)
            h = torch.tanh(emb.view(1, -1) @ W1 + b1)
            logits = h @ W2 + b2
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
        print("".join(itos[i] for i in out))
        samples.append("".join(itos[i] for i in out))
    return {"loss": loss.item(), "samples": samples}


if __name__ == "__main__":
    main()
