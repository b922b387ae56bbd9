"""The original min-char-rnn loop, transcribed plainly, one timestep at a time.

This is the spec: the test suite uses it as the oracle that the engine must match
(bit for bit in exact mode) and `engine.bench` uses it as the speed baseline. It is
deliberately naive: per-step one-hot vectors, dicts of arrays, full outer products.
Do not optimise it.
"""

from __future__ import annotations

import sys

import numpy as np


class ReferenceRNN:
    """State of the original script: data, hyperparameters, parameters, memories."""

    def __init__(self, data: str, hidden_size: int = 100, seq_length: int = 25,
                 learning_rate: float = 1e-1, seed: int | None = None) -> None:
        self.data = data
        chars = sorted(set(data))  # sorted by code point: the original used set() order
        self.vocab_size = len(chars)
        self.char_to_ix = {ch: i for i, ch in enumerate(chars)}
        self.ix_to_char = {i: ch for i, ch in enumerate(chars)}
        self.hidden_size = hidden_size
        self.seq_length = seq_length
        self.learning_rate = learning_rate
        if seed is not None:
            np.random.seed(seed)
        vocab_size = self.vocab_size
        self.Wxh = np.random.randn(hidden_size, vocab_size) * 0.01
        self.Whh = np.random.randn(hidden_size, hidden_size) * 0.01
        self.Why = np.random.randn(vocab_size, hidden_size) * 0.01
        self.bh = np.zeros((hidden_size, 1))
        self.by = np.zeros((vocab_size, 1))

    def lossFun(self, inputs, targets, hprev):
        Wxh, Whh, Why, bh, by = self.Wxh, self.Whh, self.Why, self.bh, self.by
        xs, hs, ys, ps = {}, {}, {}, {}
        hs[-1] = np.copy(hprev)
        loss = 0
        for t in range(len(inputs)):
            xs[t] = np.zeros((self.vocab_size, 1))
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
            ys[t] = np.dot(Why, hs[t]) + by
            ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
        dbh, dby = np.zeros_like(bh), np.zeros_like(by)
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dh = np.dot(Why.T, dy) + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += np.dot(dhraw, xs[t].T)
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(Whh.T, dhraw)
        for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
            np.clip(dparam, -5, 5, out=dparam)
        return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]

    def sample(self, h, seed_ix, n):
        Wxh, Whh, Why, bh, by = self.Wxh, self.Whh, self.Why, self.bh, self.by
        x = np.zeros((self.vocab_size, 1))
        x[seed_ix] = 1
        ixes = []
        for t in range(n):  # noqa: B007 - as the original
            h = np.tanh(np.dot(Wxh, x) + np.dot(Whh, h) + bh)
            y = np.dot(Why, h) + by
            p = np.exp(y) / np.sum(np.exp(y))
            ix = np.random.choice(range(self.vocab_size), p=p.ravel())
            x = np.zeros((self.vocab_size, 1))
            x[ix] = 1
            ixes.append(ix)
        return ixes

    def run(self, iters, sample_every=100, sample_length=200, out=None):
        """The main loop; yields (n, smooth_loss) after every iteration."""
        data, seq_length = self.data, self.seq_length
        params = [self.Wxh, self.Whh, self.Why, self.bh, self.by]
        mems = [np.zeros_like(p) for p in params]
        n, p = 0, 0
        smooth_loss = -np.log(1.0 / self.vocab_size) * seq_length
        hprev = None
        while n < iters:
            if p + seq_length + 1 >= len(data) or n == 0:
                hprev = np.zeros((self.hidden_size, 1))
                p = 0
            inputs = [self.char_to_ix[ch] for ch in data[p:p + seq_length]]
            targets = [self.char_to_ix[ch] for ch in data[p + 1:p + seq_length + 1]]
            if out is not None and sample_every and n % sample_every == 0:
                sample_ix = self.sample(hprev, inputs[0], sample_length)
                txt = ''.join(self.ix_to_char[ix] for ix in sample_ix)
                out.write('----\n %s \n----\n' % (txt,))
            loss, dWxh, dWhh, dWhy, dbh, dby, hprev = self.lossFun(inputs, targets, hprev)
            smooth_loss = smooth_loss * 0.999 + loss * 0.001
            if out is not None and sample_every and n % sample_every == 0:
                out.write('iter %d, loss: %f\n' % (n, smooth_loss))
            for param, dparam, mem in zip(params, [dWxh, dWhh, dWhy, dbh, dby], mems):
                mem += dparam * dparam
                param += -self.learning_rate * dparam / np.sqrt(mem + 1e-8)
            p += seq_length
            n += 1
            yield n - 1, smooth_loss, loss


def main(argv: list[str] | None = None) -> int:
    """`python -m engine.nets.reference CORPUS ITERS [SEED [SAMPLE_EVERY]]`: the plain loop, as a
    whole process."""
    argv = sys.argv[1:] if argv is None else argv
    path, iters = argv[0], int(argv[1])
    seed = int(argv[2]) if len(argv) > 2 else 42
    sample_every = int(argv[3]) if len(argv) > 3 else 100
    with open(path, encoding='utf-8') as f:
        data = f.read()
    rnn = ReferenceRNN(data, seed=seed)
    for _ in rnn.run(iters, sample_every=sample_every, out=sys.stdout):
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
