/* A program with its own training loop that logs to TensorBoard through
 * libnnkit-tensorboard, as PyTorch users do with SummaryWriter: linear
 * regression y = 3x + 2 by gradient descent, with its loss, parameters,
 * a histogram of the residuals, a text note, an image and its hparams.
 *
 *   summary_writer [LOGDIR]      (default: runs/summary_writer)
 *   tensorboard --logdir runs
 */
#include <math.h>
#include <nnkit/tensorboard.h>
#include <stdio.h>
#include <stdlib.h>

#define N 64

static int check(int rc, const nnk_err *err)
{
    if (rc)
        fprintf(stderr, "summary_writer: %s\n", err->msg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "runs/summary_writer";
    nnk_err err = {0, ""};
    nnk_tb_writer *w = nnk_tb_writer_open(dir, &err);
    if (!w)
        return check(1, &err);
    float x[N], y[N], residual[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i / N * 4 - 2;
        y[i] = 3 * x[i] + 2 + 0.1f * sinf(7.0f * i); /* a little deterministic noise */
    }
    double lr = 0.1, a = 0, b = 0;
    nnk_tb_hparam hp[1] = {{"learning_rate", NNK_TB_HP_NUMBER, lr, NULL, 0}};
    int rc = check(nnk_tb_hparams_start(w, hp, 1, "", 0, 0, -1, &err), &err);
    rc = rc || check(nnk_tb_text(w, "notes", "Fitting **y = 3x + 2** by gradient descent.", 0, -1, &err), &err);
    for (int step = 0; !rc && step < 100; step++) {
        double ga = 0, gb = 0, loss = 0;
        for (int i = 0; i < N; i++) {
            residual[i] = (float)(a * x[i] + b - y[i]);
            loss += residual[i] * residual[i] / N;
            ga += 2 * residual[i] * x[i] / N;
            gb += 2 * residual[i] / N;
        }
        a -= lr * ga;
        b -= lr * gb;
        rc = check(nnk_tb_scalar(w, "loss", loss, step, -1, &err), &err) ||
             check(nnk_tb_scalar(w, "params/a", a, step, -1, &err), &err) ||
             check(nnk_tb_scalar(w, "params/b", b, step, -1, &err), &err);
        if (!rc && step % 10 == 0)
            rc = check(nnk_tb_histogram(w, "residuals", residual, N, 20, step, -1, &err), &err);
    }
    /* the residuals as a 64x8 strip: grey 128 is zero */
    uint8_t strip[8 * N];
    for (int r = 0; r < 8; r++)
        for (int i = 0; i < N; i++) {
            double v = 128 + 1000 * residual[i];
            strip[r * N + i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    rc = rc || check(nnk_tb_image(w, "residual_strip", strip, N, 8, 1, "Residuals, left to right.", 100, -1, &err), &err);
    rc = rc || check(nnk_tb_hparams_end(w, NNK_TB_STATUS_SUCCESS, 0, 0, -1, &err), &err);
    int crc = nnk_tb_close(w, &err);
    if (!rc && crc)
        return check(crc, &err);
    if (!rc)
        printf("fitted y = %.3fx + %.3f; logs in %s\n", a, b, dir);
    return rc ? 1 : 0;
}
