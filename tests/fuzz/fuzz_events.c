/* The event-file reader and --repair: any bytes scan without trouble;
 * repair keeps exactly the whole records the scan saw, in order, drops only
 * the damaged bytes, and leaves a file that scans whole. */
#include "fuzz_common.h"
#include <nnkit/tensorboard.h>
#include <sys/stat.h>

static void count(void *user, const nnk_tb_record_info *r)
{
    (void)r;
    ++*(uint64_t *)user;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_path("events.out.tfevents.fuzz");
    fuzz_write(path, data, n);
    nnk_err err = {NNK_OK, ""};
    nnk_tb_scan before, repaired, after;
    uint64_t values = 0;
    int r = nnk_tb_scan_file(path, count, &values, &before, &err);
    if (r < 0 || (r == NNK_TB_READ_OK) != (before.damaged_spans == 0 && before.undecodable == 0))
        abort();
    if (nnk_tb_repair(path, &repaired, &err))
        abort();
    if (repaired.records != before.records || repaired.damaged_bytes != before.damaged_bytes ||
        repaired.damaged_spans != before.damaged_spans)
        abort();
    r = nnk_tb_scan_file(path, NULL, NULL, &after, &err);
    struct stat st;
    if (r < 0 || stat(path, &st) || after.damaged_spans || after.records != before.records ||
        (uint64_t)st.st_size + before.damaged_bytes != (uint64_t)n)
        abort();
    return 0;
}
