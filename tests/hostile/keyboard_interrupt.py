# expect: raised KeyboardInterrupt
def rnn_step(x, h, Wx, Wh, b):
    raise KeyboardInterrupt
