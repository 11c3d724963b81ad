# expect: did not finish within .* \(the time limit\)
def rnn_step(x, h, Wx, Wh, b):
    while True:
        pass
