/* libnnkit-tensorboard: byte equality with files written by TensorBoard's
 * own code, CRC-32C vectors, PNG encoding, reading back, and the crash
 * guarantees (signals, full disks). */
#include "helpers.h"
#include <nnkit/tensorboard.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define T0 1700000000.0
#define GOLDEN TEST_SOURCE_DIR "/tests/golden/"
#define FNAME "events.out.tfevents.1700000000.golden.0.0"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned char *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void assert_same_file(const char *ours, const char *golden)
{
    size_t a, b;
    unsigned char *x = slurp(ours, &a), *y = slurp(golden, &b);
    size_t first = 0;
    while (first < a && first < b && x[first] == y[first])
        first++;
    ck_assert_msg(a == b && first == a, "%s differs from %s: sizes %zu vs %zu, first difference at byte %zu",
                  ours, golden, a, b, first);
    free(x);
    free(y);
}

/* A fresh writer for golden case `name`, and its path. */
static nnk_tb_writer *golden_writer(const char *name, char *path, size_t n)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0755);
    snprintf(path, n, "%s/" FNAME, dir);
    unlink(path);
    nnk_err err = {0, ""};
    nnk_tb_writer *w = nnk_tb_writer_open_file(path, T0, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    return w;
}

static void finish(nnk_tb_writer *w, const char *path, const char *golden_case)
{
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_tb_close(w, &err), 0);
    char golden[512];
    snprintf(golden, sizeof golden, GOLDEN "%s/" FNAME, golden_case);
    assert_same_file(path, golden);
}

START_TEST(crc32c_vectors)
{
    const char *s = "123456789";
    ck_assert_uint_eq(nnk_crc32c_table(s, 9), 0xE3069283u);
    ck_assert_uint_eq(nnk_crc32c(s, 9), 0xE3069283u);
    ck_assert_uint_eq(nnk_crc32c_mask(0xE3069283u), 0xC78AB0E5u);
    const unsigned char len24[8] = {0x18, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_uint_eq(nnk_crc32c_mask(nnk_crc32c_table(len24, 8)), 0x224B7FA3u);
    const unsigned char payload[24] = {0x09, 0, 0, 0, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x1a, 0x0d,
                                       'b', 'r', 'a', 'i', 'n', '.', 'E', 'v', 'e', 'n', 't', ':', '2'};
    ck_assert_uint_eq(nnk_crc32c_mask(nnk_crc32c_table(payload, 24)), 0x9D8FEDECu);
    /* RFC 3720's vectors: 32 zero bytes and 32 0xff bytes */
    unsigned char z[32] = {0}, f[32];
    memset(f, 0xff, sizeof f);
    ck_assert_uint_eq(nnk_crc32c_table(z, 32), 0x8A9136AAu);
    ck_assert_uint_eq(nnk_crc32c_table(f, 32), 0x62A8AB43u);
    if (nnk_crc32c_have_sse42()) {
        ck_assert_uint_eq(nnk_crc32c_sse42(s, 9), 0xE3069283u);
        ck_assert_uint_eq(nnk_crc32c_sse42(z, 32), 0x8A9136AAu);
        unsigned char buf[300];
        for (int i = 0; i < 300; i++)
            buf[i] = (unsigned char)(i * 37 + 11);
        for (size_t n = 0; n <= 300; n++)
            ck_assert_uint_eq(nnk_crc32c_sse42(buf, n), nnk_crc32c_table(buf, n));
    }
}
END_TEST

START_TEST(golden_scalars)
{
    char path[512];
    nnk_err err = {0, ""};
    const double v[3] = {1.0, 0.5, 0.25};
    nnk_tb_writer *w = golden_writer("a", path, sizeof path);
    for (int s = 0; s < 3; s++)
        ck_assert_int_eq(nnk_tb_scalar(w, "loss", v[s], s, T0 + s, &err), 0);
    finish(w, path, "a_scalars_modern");
    w = golden_writer("b", path, sizeof path);
    for (int s = 0; s < 3; s++)
        ck_assert_int_eq(nnk_tb_scalar_legacy(w, "loss", v[s], s, T0 + s, &err), 0);
    finish(w, path, "b_scalars_legacy");
}
END_TEST

START_TEST(golden_histograms)
{
    char path[512];
    nnk_err err = {0, ""};
    float data[10];
    for (int i = 0; i < 10; i++)
        data[i] = (float)i;
    nnk_tb_writer *w = golden_writer("c", path, sizeof path);
    ck_assert_int_eq(nnk_tb_histogram(w, "weights", data, 10, 3, 0, T0, &err), 0);
    finish(w, path, "c_histogram_modern");
    w = golden_writer("c2", path, sizeof path);
    nnk_tb_histo_stats st = {0, 9, 10, 45, 285};
    const double limits[3] = {3, 6, 9}, counts[3] = {3, 3, 4};
    ck_assert_int_eq(nnk_tb_histogram_legacy(w, "weights", &st, limits, counts, 3, 0, T0, &err), 0);
    finish(w, path, "c2_histogram_legacy");
}
END_TEST

/* PR curves as TensorBoard's pr_curve pb() wrote them: its README's ten
 * labels and predictions at 11 thresholds, then reversed at 201 with a
 * description. */
START_TEST(golden_pr_curve)
{
    char path[512];
    nnk_err err = {0, ""};
    const uint8_t labels[10] = {1, 0, 1, 1, 0, 0, 1, 0, 1, 0};
    const float preds[10] = {0.9f, 0.8f, 0.7f, 0.55f, 0.5f, 0.4f, 0.35f, 0.2f, 0.1f, 0.0f};
    float reversed[10];
    for (int i = 0; i < 10; i++)
        reversed[i] = preds[9 - i];
    nnk_tb_writer *w = golden_writer("i", path, sizeof path);
    ck_assert_int_eq(nnk_tb_pr_curve(w, "pr/class_0", labels, preds, 10, 11, NULL, 0, T0, &err), 0);
    ck_assert_int_eq(nnk_tb_pr_curve(w, "pr/class_0", labels, reversed, 10, 201, "default thresholds", 1, T0 + 1, &err), 0);
    finish(w, path, "i_pr_curve");
    ck_assert_int_eq(nnk_tb_pr_curve(w = golden_writer("i2", path, sizeof path), "x", labels, preds, 10, 1, NULL, 0, T0, &err),
                     NNK_EUSAGE);
    ck_assert_str_eq(err.msg, "pr curve 'x': num_thresholds must be 2 to 1000000, got 1");
    nnk_tb_close(w, &err);
}
END_TEST

START_TEST(golden_text_image_graph)
{
    char path[512];
    nnk_err err = {0, ""};
    nnk_tb_writer *w = golden_writer("f", path, sizeof path);
    ck_assert_int_eq(nnk_tb_text(w, "notes", "**hello** world", 0, T0, &err), 0);
    finish(w, path, "f_text");

    size_t png_n;
    unsigned char *png = slurp(GOLDEN "g_image_modern/pixel.png", &png_n);
    w = golden_writer("g", path, sizeof path);
    const uint8_t *imgs[1] = {png};
    ck_assert_int_eq(nnk_tb_image_encoded(w, "pixel", "pixel", "", 1, 1, imgs, &png_n, 1, 0, T0, &err), 0);
    finish(w, path, "g_image_modern");
    free(png);

    w = golden_writer("h", path, sizeof path);
    nnk_tb_graph *g = nnk_tb_graph_new();
    int x = nnk_tb_graph_node(g, "input/x", "Placeholder", NULL, 0, &err);
    ck_assert_int_eq(nnk_tb_graph_attr_type(g, x, "dtype", 1, &err), 0);
    nnk_tb_graph_node(g, "dense/W", "Const", NULL, 0, &err);
    nnk_tb_graph_node(g, "dense/MatMul", "MatMul", (const char *[]){"input/x", "dense/W"}, 2, &err);
    nnk_tb_graph_node(g, "loss", "Mean", (const char *[]){"dense/MatMul"}, 1, &err);
    ck_assert_int_eq(nnk_tb_write_graph(w, g, 0, T0, &err), 0);
    nnk_tb_graph_free(g);
    finish(w, path, "h_graph");
}
END_TEST

START_TEST(golden_hparams)
{
    char path[512];
    nnk_err err = {0, ""};
    nnk_tb_writer *w = golden_writer("e", path, sizeof path);
    /* given out of order: the writer sorts by name, as hparams_pb does */
    nnk_tb_hparam hp[2] = {{"optimizer", NNK_TB_HP_STRING, 0, "sgd", 0},
                           {"lr", NNK_TB_HP_NUMBER, 0.1, NULL, 0}};
    ck_assert_int_eq(nnk_tb_hparams_start(w, hp, 2, "trial0", T0, 0, T0, &err), 0);
    ck_assert_int_eq(nnk_tb_scalar(w, "accuracy", 0.75, 0, T0, &err), 0);
    finish(w, path, "e_hparams_session");

    w = golden_writer("e2", path, sizeof path);
    nnk_tb_hparam opts[2] = {{"", NNK_TB_HP_STRING, 0, "adam", 0}, {"", NNK_TB_HP_STRING, 0, "sgd", 0}};
    nnk_tb_hparam_domain dom[2] = {{"lr", NNK_TB_HP_NUMBER, 0, 0.001, 1.0, NULL, 0},
                                   {"optimizer", NNK_TB_HP_STRING, 1, 0, 0, opts, 2}};
    nnk_tb_metric m = {"accuracy", ""};
    ck_assert_int_eq(nnk_tb_hparams_experiment(w, dom, 2, &m, 1, T0, 0, T0, &err), 0);
    finish(w, path, "e2_hparams_experiment");
}
END_TEST

START_TEST(golden_projector)
{
    char dir[256], path[512], golden[512];
    nnk_err err = {0, ""};
    nnk_tb_writer *w = golden_writer("d", path, sizeof path);
    finish(w, path, "d_projector");
    snprintf(dir, sizeof dir, "%s/d", test_tmpdir());
    const float v[12] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.1f, 1.2f};
    const char *cols[2] = {"label", "class"};
    const char *cells[8] = {"p0", "a", "p1", "b", "p2", "a", "p3", "b"};
    nnk_tb_embedding e = {"embedding", v, 4, 3, cols, 2, cells, NULL, 0, 0};
    ck_assert_msg(nnk_tb_projector(dir, &e, &err) == 0, "%s", err.msg);
    const char *files[3] = {"projector_config.pbtxt", "tensors.tsv", "metadata.tsv"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        snprintf(golden, sizeof golden, GOLDEN "d_projector/%s", files[i]);
        assert_same_file(path, golden);
    }
    /* a sprite too large for the projector is refused, nothing written */
    static uint8_t imgs[4 * 5000 * 5000 / 5000];
    nnk_tb_embedding big = {"x", v, 4, 3, NULL, 0, NULL, imgs, 5000, 1};
    ck_assert_int_eq(nnk_tb_projector(dir, &big, &err), NNK_EUSAGE);
    ck_assert_str_eq(err.msg, "projector: a sprite of 4 images of 5000x1 would be 10000x2 pixels, more than the projector's 8192x8192");
}
END_TEST

/* Inflates a PNG's single IDAT and checks the chunk CRCs and pixels. */
START_TEST(png_round_trip)
{
    uint8_t px[3 * 4 * 3];
    for (int i = 0; i < 36; i++)
        px[i] = (uint8_t)(i * 7);
    uint8_t *png;
    size_t n;
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_png_encode(px, 4, 3, 3, &png, &n, &err), 0);
    ck_assert(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    size_t off = 8;
    int saw_idat = 0;
    while (off + 12 <= n) {
        uint32_t len = (uint32_t)png[off] << 24 | png[off + 1] << 16 | png[off + 2] << 8 | png[off + 3];
        uint32_t crc = (uint32_t)png[off + 8 + len] << 24 | png[off + 9 + len] << 16 |
                       png[off + 10 + len] << 8 | png[off + 11 + len];
        ck_assert_uint_eq(crc, (uint32_t)crc32(0, png + off + 4, len + 4));
        if (!memcmp(png + off + 4, "IHDR", 4)) {
            ck_assert_int_eq(png[off + 8 + 3], 4);  /* width */
            ck_assert_int_eq(png[off + 8 + 7], 3);  /* height */
            ck_assert_int_eq(png[off + 8 + 9], 2);  /* colour type RGB */
        }
        if (!memcmp(png + off + 4, "IDAT", 4)) {
            uint8_t raw[64];
            uLongf raw_n = sizeof raw;
            ck_assert_int_eq(uncompress(raw, &raw_n, png + off + 8, len), Z_OK);
            ck_assert_int_eq(raw_n, 3 * 13);
            for (int y = 0; y < 3; y++) {
                ck_assert_int_eq(raw[y * 13], 0);
                ck_assert(memcmp(raw + y * 13 + 1, px + y * 12, 12) == 0);
            }
            saw_idat = 1;
        }
        off += 12 + len;
    }
    ck_assert(saw_idat && off == n);
    free(png);
    ck_assert_int_eq(nnk_png_encode(px, 4, 3, 2, &png, &n, &err), NNK_EUSAGE);
}
END_TEST

typedef struct seen {
    int n;
    char kinds[16][32];
    char tags[16][256];
    char values[16][256];
} seen;

static void collect(void *user, const nnk_tb_record_info *r)
{
    seen *s = user;
    if (s->n < 16) {
        snprintf(s->kinds[s->n], 32, "%s", r->kind);
        snprintf(s->tags[s->n], 256, "%s", r->tag);
        snprintf(s->values[s->n], 256, "%s", r->value);
    }
    s->n++;
}

START_TEST(read_back)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/readback/run", test_tmpdir());
    nnk_err err = {0, ""};
    nnk_tb_writer *w = nnk_tb_writer_open(dir, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    const char *base = strrchr(nnk_tb_writer_path(w), '/') + 1;
    ck_assert_msg(strncmp(base, "events.out.tfevents.", 20) == 0 && base[30] == '.', "%s", base);
    /* a second writer on the same directory is refused */
    ck_assert_ptr_null(nnk_tb_writer_open(dir, &err));
    ck_assert(strstr(err.msg, "already has an open writer") != NULL);
    float vals[100];
    for (int i = 0; i < 100; i++)
        vals[i] = (float)i / 10;
    uint8_t px[4] = {0, 85, 170, 255};
    nnk_tb_scalar(w, "epoch_loss", 0.5, 1, -1, &err);
    nnk_tb_histogram(w, "dense/kernel", vals, 100, 30, 1, -1, &err);
    nnk_tb_text(w, "config", "# hi", 1, -1, &err);
    nnk_tb_image(w, "grid", px, 2, 2, 1, "a caption", 1, -1, &err);
    nnk_tb_hparam hp = {"units", NNK_TB_HP_NUMBER, 300, NULL, 0};
    nnk_tb_hparams_start(w, &hp, 1, "", 0, 0, -1, &err);
    nnk_tb_hparams_end(w, NNK_TB_STATUS_SUCCESS, 1, 0, -1, &err);
    char path[1024];
    snprintf(path, sizeof path, "%s", nnk_tb_writer_path(w));
    ck_assert_int_eq(nnk_tb_close(w, &err), 0);
    seen s = {0};
    nnk_tb_scan scan;
    ck_assert_int_eq(nnk_tb_scan_file(path, collect, &s, &scan, &err), NNK_TB_READ_OK);
    ck_assert_int_eq(s.n, 7);
    const char *kinds[7] = {"file_version", "scalar", "histogram", "text", "image", "hparams", "hparams"};
    for (int i = 0; i < 7; i++)
        ck_assert_str_eq(s.kinds[i], kinds[i]);
    ck_assert_str_eq(s.values[1], "0.5");
    ck_assert_str_eq(s.values[2], "30 buckets, 100 values");
    ck_assert_str_eq(s.values[4], "1 image(s) 2x2");
    ck_assert_str_eq(s.values[5], "session start, 1 hparams: units");
    ck_assert_str_eq(s.values[6], "session end, status 1");
    /* a torn tail is found and cut off; the records before it stay */
    size_t n;
    unsigned char *buf = slurp(path, &n);
    ck_assert_uint_eq(scan.first_bad, n);
    ck_assert_uint_eq(scan.records, 7);
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, n - 5, f);
    fclose(f);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(nnk_tb_scan_file(path, collect, &s, &scan, &err), NNK_TB_READ_TRUNCATED);
    ck_assert_int_eq(s.n, 6);
    ck_assert_int_eq(nnk_tb_repair(path, &scan, &err), 0);
    ck_assert_uint_eq(scan.records, 6);
    ck_assert_uint_eq(scan.damaged_spans, 1);
    ck_assert_int_eq(nnk_tb_scan_file(path, NULL, NULL, &scan, &err), NNK_TB_READ_OK);
    /* a flipped bit in the second record: only that record goes, every
     * record after it is read and kept */
    buf[60] ^= 0x10;
    f = fopen(path, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(nnk_tb_scan_file(path, collect, &s, &scan, &err), NNK_TB_READ_BAD_CRC);
    ck_assert_uint_eq(scan.first_bad, 40); /* the second record */
    ck_assert_int_eq(s.n, 6);
    ck_assert_str_eq(s.kinds[1], "histogram");
    ck_assert_int_eq(nnk_tb_repair(path, &scan, &err), 0);
    ck_assert_uint_eq(scan.records, 6);
    ck_assert_uint_eq(scan.damaged_spans, 1);
    size_t m;
    unsigned char *fixed = slurp(path, &m);
    /* exactly the damaged record's bytes are gone */
    uint64_t second = 0;
    for (int i = 0; i < 8; i++)
        second |= (uint64_t)buf[40 + i] << (8 * i);
    buf[60] ^= 0x10;
    ck_assert_uint_eq(scan.damaged_bytes, second + 16);
    ck_assert_uint_eq(m, n - scan.damaged_bytes);
    ck_assert_int_eq(memcmp(fixed, buf, 40), 0);
    ck_assert_int_eq(memcmp(fixed + 40, buf + 40 + scan.damaged_bytes, m - 40), 0);
    free(fixed);
    free(buf);
}
END_TEST

/* SIGTERM while records wait in the buffer: the handler writes them out,
 * whole, before the process dies. */
START_TEST(signal_flushes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sig.tfevents", test_tmpdir());
    unlink(path);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL); /* Check's own handler would kill the suite */
        nnk_tb_writer *w = nnk_tb_writer_open_file(path, T0, NULL);
        for (int i = 0; i < 1000; i++)
            nnk_tb_scalar(w, "batch_loss", 1.0 / (i + 1), i, T0 + i, NULL);
        raise(SIGTERM);
        _exit(3); /* not reached */
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    seen s = {0};
    nnk_tb_scan scan;
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_tb_scan_file(path, collect, &s, &scan, &err), NNK_TB_READ_OK);
    ck_assert_int_eq(s.n, 1001);
}
END_TEST

/* A write that fails midway (here: the file-size limit, as a full disk
 * would) leaves only whole records, and every later call reports it. */
START_TEST(full_disk_keeps_whole_records)
{
    char path[512];
    snprintf(path, sizeof path, "%s/full.tfevents", test_tmpdir());
    unlink(path);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1000, 1000};
        setrlimit(RLIMIT_FSIZE, &rl);
        nnk_err e = {0, ""};
        nnk_tb_writer *w = nnk_tb_writer_open_file(path, T0, &e);
        for (int i = 0; i < 40; i++)
            nnk_tb_scalar(w, "loss", i, i, T0 + i, &e);
        int rc1 = nnk_tb_flush(w, &e);
        int rc2 = nnk_tb_scalar(w, "loss", 1, 99, T0, &e);
        int ok = rc1 == NNK_EIO && rc2 == NNK_EIO && strstr(e.msg, "write failed") != NULL;
        nnk_tb_close(w, NULL);
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    nnk_tb_scan scan;
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_tb_scan_file(path, NULL, NULL, &scan, &err), NNK_TB_READ_OK);
    ck_assert_uint_eq(scan.first_bad, 40); /* just the header: the batch did not fit */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tensorboard");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, crc32c_vectors);
    tcase_add_test(tc, golden_scalars);
    tcase_add_test(tc, golden_histograms);
    tcase_add_test(tc, golden_text_image_graph);
    tcase_add_test(tc, golden_pr_curve);
    tcase_add_test(tc, golden_hparams);
    tcase_add_test(tc, golden_projector);
    tcase_add_test(tc, png_round_trip);
    tcase_add_test(tc, read_back);
    tcase_add_test(tc, signal_flushes);
    tcase_add_test(tc, full_disk_keeps_whole_records);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
