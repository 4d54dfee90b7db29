"""pytorch/examples, word_language_model: the training loop with clip_grad_norm_ and manual SGD.

Source: pytorch/examples, word_language_model/main.py (batchify, get_batch, train, evaluate and the
epoch loop that divides the learning rate by 4 when validation stops improving)
(https://github.com/pytorch/examples), BSD-3-Clause.
Shrunk: the Wikitext-2 corpus replaced by a few embedded sentences; the RNNModel (Embedding + LSTM)
replaced by a feed-forward next-word model on one-hot words (its decoder and log_softmax kept), so
`hidden`/`repackage_hidden` drop out; 3 epochs; `torch.nn.utils.clip_grad_norm_` written
`nn.utils.clip_grad_norm_` after `import torch.nn as nn`; the timing fields left out of the log
line; wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = (
    "the quick brown fox jumps over the lazy dog . the dog sleeps in the sun . "
    "a quick brown dog jumps over a lazy fox . the sun is warm and the fox is quick . "
) * 8
VALID = "the lazy fox sleeps in the warm sun . a brown dog is quick . "


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class FNNModel(nn.Module):
    """In place of RNNModel: next word from the current one, one-hot -> tanh -> decoder."""

    def __init__(self, ntoken, nhid):
        super().__init__()
        self.ntoken = ntoken
        self.encoder = nn.Linear(ntoken, nhid)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, input):
        emb = F.one_hot(input, self.ntoken).float()
        output = torch.tanh(self.encoder(emb))
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1)


def main(seed=1111):
    torch.manual_seed(seed)
    dictionary = Dictionary()

    def tokenize(text):
        return torch.tensor([dictionary.add_word(word) for word in text.split()], dtype=torch.int64)

    def batchify(data, bsz):
        # Work out how cleanly we can divide the dataset into bsz parts.
        nbatch = data.size(0) // bsz
        # Trim off any extra elements that wouldn't cleanly fit (remainders).
        data = data.narrow(0, 0, nbatch * bsz)
        # Evenly divide the data across the bsz batches.
        data = data.view(bsz, -1).t().contiguous()
        return data

    batch_size, eval_batch_size, bptt, clip, log_interval = 4, 2, 5, 0.25, 5
    train_data = batchify(tokenize(TEXT), batch_size)
    val_data = batchify(tokenize(VALID), eval_batch_size)
    ntokens = len(dictionary)
    model = FNNModel(ntokens, 32)
    criterion = nn.NLLLoss()

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].view(-1)
        return data, target

    def evaluate(data_source):
        # Turn on evaluation mode which disables dropout.
        model.eval()
        total_loss = 0.0
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, bptt):
                data, targets = get_batch(data_source, i)
                output = model(data)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    def train(epoch, lr):
        # Turn on training mode which enables dropout.
        model.train()
        total_loss = 0.0
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            # Starting each batch, we detach the hidden state from how it was previously produced.
            # If we didn't, the model would try backpropagating all the way to start of the dataset.
            model.zero_grad()
            output = model(data)
            loss = criterion(output, targets)
            loss.backward()

            # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)

            total_loss += loss.item()

            if batch % log_interval == 0 and batch > 0:
                cur_loss = total_loss / log_interval
                print(
                    "| epoch {:3d} | {:5d}/{:5d} batches | lr {:02.2f} | loss {:5.2f} | ppl {:8.2f}".format(
                        epoch, batch, len(train_data) // bptt, lr, cur_loss, math.exp(cur_loss)
                    )
                )
                total_loss = 0

    # Loop over epochs.
    lr = 20
    best_val_loss = None
    for epoch in range(1, 4):
        train(epoch, lr)
        val_loss = evaluate(val_data)
        print("-" * 89)
        print(
            "| end of epoch {:3d} | valid loss {:5.2f} | valid ppl {:8.2f}".format(
                epoch, val_loss, math.exp(val_loss)
            )
        )
        print("-" * 89)
        # Save the model if the validation loss is the best we've seen so far.
        if not best_val_loss or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            # Anneal the learning rate if no improvement has been seen in the validation dataset.
            lr /= 4.0
    return {"val_loss": val_loss, "lr": lr, "decoder_bias": model.decoder.bias.tolist()}


if __name__ == "__main__":
    main()
