# expect: did not finish within the .* per-exercise limit
def rnn_step(x, h, Wx, Wh, b):
    while True:
        pass
