"""The NumPy benchmark's floor, tools.bench.numpy_bench.products_pass, runs the matrix
products that solutions.numpy_lstm runs: the same ones, in the same order.

The products are recorded by handing both an array type that logs the operand shapes of
every matrix product it takes part in (NumPy routes `@` through __array_ufunc__).
"""

import numpy as np
import pytest

from tools.bench.numpy_bench import make_problem, numpy_pass, products_pass


class Logged(np.ndarray):
    """An array whose matrix products append their operand shapes to Logged.products."""

    products = []

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = [np.asarray(a) if isinstance(a, Logged) else a for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(np.asarray(o) if isinstance(o, Logged) else o for o in out)
        if ufunc is np.matmul and method == "__call__":
            Logged.products.append((plain[0].shape, plain[1].shape))
        result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result.view(Logged) if isinstance(result, np.ndarray) else result


def products_of(make_run, p):
    """The (shape, shape) of every matrix product one call of make_run(p)() takes."""
    logged = {k: v.view(Logged) for k, v in p.items()}
    run = make_run(logged)
    Logged.products = []
    run()
    return Logged.products


@pytest.mark.parametrize("B, T, I, H", [(3, 4, 2, 5), (32, 6, 64, 128)])
def test_products_pass_runs_the_products_of_ours(B, T, I, H):
    p = make_problem("float64", B=B, T=T, I=I, H=H)
    ours = products_of(numpy_pass, p)
    # what the test expects from ours, written out: the input product, T recurrent
    # products each way, and the three gradient products over all T * B rows
    assert ours == ([((T * B, I), (I, 4 * H))] + [((B, H), (H, 4 * H))] * T
                    + [((B, 4 * H), (4 * H, H))] * T
                    + [((T * B, 4 * H), (4 * H, I)), ((I, T * B), (T * B, 4 * H)),
                       ((H, T * B), (T * B, 4 * H))])
    assert products_of(products_pass, p) == ours


def test_the_log_sees_a_product_that_ours_adds():
    """The recording works: one more product after ours shows up in the log."""
    p = make_problem("float64", B=2, T=3, I=2, H=3)

    def ours_plus_one(p):
        run = numpy_pass(p)

        def run_and_multiply():
            _, grads = run()
            return grads["Wh"] @ p["Wh"].T  # a product ours does not take

        return run_and_multiply

    assert len(products_of(ours_plus_one, p)) == len(products_of(numpy_pass, p)) + 1
